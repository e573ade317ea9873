// `persist: networkmanager`: one NetworkManager keyfile profile per device a task changes,
// rendered from the running state the task leaves (the facts after its changes), so that what
// NetworkManager activates at boot is what kvmnet made at runtime. Pure.
//
// nm-settings-keyfile(5), NetworkManager 1.42 (Debian 12):
//   /etc/NetworkManager/system-connections/kvmnet-DEV.nmconnection (root, 0600: NM ignores others)
//   [connection] id, uuid (stable: derived from the name), type bond|vlan|bridge|ethernet,
//                interface-name, master= + slave-type= for a bond member or a bridge port
//   [bond] mode, miimon, lacp_rate, xmit_hash_policy, primary     (kernel bonding option names)
//   [vlan] parent, id
//   [bridge] stp, forward-delay, vlan-filtering, vlan-default-pvid
//   [bridge-port] vlans=30,99 pvid untagged,200-202               (a VLAN-aware bridge's port)
//   [ipv4] method=manual + address1… | disabled; [ipv6] method=manual + addresses | ignore
import { createHash } from 'node:crypto';
import type { Facts, LinkFact } from '../model/facts.js';
import type { FileWant } from './persistence.js';

export const NM_DIR = '/etc/NetworkManager/system-connections';
export const nmProfilePath = (dev: string) => `${NM_DIR}/kvmnet-${dev}.nmconnection`;
export const isNmProfilePath = (path: string) => path.startsWith(`${NM_DIR}/kvmnet-`) && path.endsWith('.nmconnection');

/** A UUID that is the same for the same device on every run (the profile's identity). */
function stableUuid(dev: string): string {
  const h = createHash('sha256').update(`kvmnet-nm-profile:${dev}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const NM_TYPE: Record<string, string> = { bond: 'bond', vlan: 'vlan', bridge: 'bridge' };

/** The port's VLAN set in bridge-port.vlans syntax, ranges folded: `30,99 pvid untagged,200-202`. */
export function nmPortVlans(link: LinkFact): string {
  const vlans = [...(link.vlans ?? [])].sort((a, b) => a.id - b.id);
  const out: string[] = [];
  for (let i = 0; i < vlans.length; ) {
    const v = vlans[i]!;
    let j = i;
    while (!v.pvid && j + 1 < vlans.length && vlans[j + 1]!.id === vlans[j]!.id + 1 && !vlans[j + 1]!.pvid && vlans[j + 1]!.untagged === v.untagged) j++;
    out.push(`${j > i ? `${v.id}-${vlans[j]!.id}` : v.id}${v.pvid ? ' pvid' : ''}${v.untagged ? ' untagged' : ''}`);
    i = j + 1;
  }
  return out.join(',');
}

/** The keyfile of DEV as it runs in FACTS. */
export function nmProfile(facts: Facts, dev: string): string {
  const link = facts.links[dev]!;
  const type = (link.kind && NM_TYPE[link.kind]) ?? 'ethernet';
  const master = link.master ? facts.links[link.master] : undefined;
  const lines = ['# Written by kvmnet; changes made here are overwritten on its next run.', '[connection]', `id=kvmnet-${dev}`, `uuid=${stableUuid(dev)}`, `type=${type}`, `interface-name=${dev}`];
  if (master?.kind === 'bond' || master?.kind === 'bridge') lines.push(`master=${master.name}`, `slave-type=${master.kind}`);
  if (type === 'bond' && link.bond) {
    const b = link.bond;
    lines.push('', '[bond]', `mode=${b.mode}`, `miimon=${b.miimon}`);
    if (b.mode === '802.3ad' && b.lacpRate) lines.push(`lacp_rate=${b.lacpRate}`);
    if (b.xmitHashPolicy && ['802.3ad', 'balance-xor', 'balance-tlb', 'balance-alb'].includes(b.mode)) lines.push(`xmit_hash_policy=${b.xmitHashPolicy}`);
    if (b.primary) lines.push(`primary=${b.primary}`);
  }
  if (type === 'vlan' && link.vlan && link.lower) lines.push('', '[vlan]', `parent=${link.lower}`, `id=${link.vlan.id}`);
  if (type === 'bridge' && link.bridge) {
    const br = link.bridge;
    // NetworkManager accepts a forward delay of 2-30 s only: below that its default (15) is what a reboot gives.
    lines.push('', '[bridge]', `stp=${br.stp}`, ...(br.forwardDelay >= 2 ? [`forward-delay=${br.forwardDelay}`] : []));
    // Off is NetworkManager's default (and what facts without the detail mean).
    if (br.vlanFiltering) lines.push('vlan-filtering=true', `vlan-default-pvid=${br.defaultPvid ?? 1}`);
  }
  if (master?.kind === 'bridge' && master.bridge?.vlanFiltering && link.vlans) lines.push('', '[bridge-port]', `vlans=${nmPortVlans(link)}`);
  if (link.mtu !== 1500) lines.push('', '[ethernet]', `mtu=${link.mtu}`);
  // A bond member or bridge port has no IP configuration of its own in NetworkManager.
  if (!master || (master.kind !== 'bond' && master.kind !== 'bridge')) {
    for (const family of [4, 6] as const) {
      const addrs = facts.addrs.filter((a) => a.dev === dev && a.family === family && a.scope === 'global').map((a) => `${a.address}/${a.prefix}`).sort();
      lines.push('', `[ipv${family}]`);
      if (addrs.length) lines.push('method=manual', ...addrs.map((a, k) => `address${k + 1}=${a}`));
      else lines.push(family === 4 ? 'method=disabled' : 'method=ignore');
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The profiles for DEVICES as they run in AFTER (the facts once the task's changes are applied):
 * a device that no longer exists loses its profile.
 */
export function nmProfileWants(after: Facts, devices: readonly string[]): FileWant[] {
  const seen = new Set<string>();
  const wants: FileWant[] = [];
  for (const dev of devices) {
    if (dev === 'lo' || seen.has(dev)) continue;
    seen.add(dev);
    wants.push({ path: nmProfilePath(dev), content: after.links[dev] ? nmProfile(after, dev) : null });
  }
  return wants;
}

/** The devices a task is about: what its changes touch, and what its arguments name. */
export function taskDevices(touched: readonly string[], args: Record<string, unknown>): string[] {
  const named: unknown[] = [args.name, args.interface, args.dev, ...(Array.isArray(args.members) ? (args.members as unknown[]) : [])];
  if (args.name === undefined && typeof args.parent === 'string' && typeof args.id === 'number') named.push(`${args.parent}.${args.id}`);
  return [...new Set([...touched, ...named.filter((n): n is string => typeof n === 'string')])];
}
