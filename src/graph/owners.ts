// Which manager owns a device, in a word for the picture: NetworkManager, networkd, ifupdown(2)
// — from the `network_managers` of `kvmnet facts --output json` (persist/managers.ts gathers it).
// Pure.
import type { ManagerFacts } from '../model/facts.js';
import { nmManages } from '../persist/managers.js';

/**
 * The owner of DEV (`NetworkManager`, `networkd`, `ifupdown`, several joined with ` + `), `none`
 * when nothing manages it (with NetworkManager's word for it where it runs: `none (NetworkManager:
 * unmanaged)`), or undefined when the facts do not say or the host runs no manager at all (a
 * line on every device would then tell nothing).
 */
export function deviceManager(m: ManagerFacts | null | undefined, dev: string): string | undefined {
  if (!m || dev === 'lo') return undefined;
  const runs = m.active.networkmanager || m.active.networkd || m.ifupdownStanzas.length > 0;
  if (!runs) return undefined;
  const owners: string[] = [];
  if (nmManages(m, dev)) owners.push('NetworkManager');
  const nd = m.networkdLinks[dev];
  if (m.active.networkd && nd && nd.setup !== 'unmanaged') owners.push('networkd');
  if (m.ifupdownStanzas.includes(dev)) owners.push(m.ifupdown ?? 'ifupdown');
  if (owners.length) return owners.join(' + ');
  const nm = m.active.networkmanager ? m.nmDevices[dev] : undefined;
  if (nm) return `none (NetworkManager: ${nm.state.includes('externally') ? 'external' : nm.state})`;
  return 'none';
}

/** A CSS/DOT class for the owner: `mgr-networkmanager`, `mgr-networkd`, `mgr-none`. */
export const managerClass = (owner: string): string => `mgr-${owner.split(/[ (+]/)[0]!.toLowerCase()}`;
