// What is wrong in a host's network, found on its facts and shown where it is. Pure.
import type { FactsSummary } from './facts-json.js';

// Macvtap-style modes attach guests to a NIC directly; `bridge` uses a bridge someone else made.
// Every other mode (nat, route, open, isolated = none) means libvirt creates and owns the bridge.
const NOT_LIBVIRT_BRIDGE = new Set(['bridge', 'private', 'vepa', 'passthrough', 'hostdev']);
export const libvirtOwnsBridge = (forward: string | null): boolean => !NOT_LIBVIRT_BRIDGE.has(forward ?? 'none');

export type ProblemCode =
  | 'port-in-libvirt-bridge'
  | 'bridge-not-persisted'
  | 'bridge-missing'
  | 'bridge-mtu-below-port'
  | 'network-inactive'
  | 'network-not-autostarted'
  | 'vxlan-mtu-over-underlay';

export interface Problem {
  code: ProblemCode;
  /** The topology node it is shown on (`link:eth2`, `net:default`). */
  node: string;
  /** An edge marked with it too (the port's link to the bridge). */
  edge?: { from: string; to: string };
  message: string;
}

/** The device a VXLAN's packets leave by: its `dev`, else the device holding its `local` address. */
export function vxlanUnderlay(v: NonNullable<FactsSummary['vxlans']>[number], f: FactsSummary): string | undefined {
  if (v.dev) return v.dev;
  if (!v.local) return undefined;
  return f.addresses.find((a) => a.address.split('/')[0] === v.local)?.dev;
}

export function findProblems(f: FactsSummary): Problem[] {
  const out: Problem[] = [];
  const links = new Map(f.links.map((l) => [l.name, l]));
  const guestTaps = new Set(f.guest_interfaces.map((g) => g.interface));
  for (const n of f.networks ?? []) {
    const at = `net:${n.name}`;
    if (n.state !== 'active') out.push({ code: 'network-inactive', node: at, message: 'defined but not active' });
    if (n.persistent && !n.autostart) out.push({ code: 'network-not-autostarted', node: at, message: 'not autostarted: gone after a reboot' });
    if (!n.bridge) continue;
    if (libvirtOwnsBridge(n.forward)) {
      // libvirt's own bridge (NAT, routed, isolated): only its guests' taps belong on it.
      for (const l of f.links) {
        if (l.master !== n.bridge || guestTaps.has(l.name) || l.kind === 'tun') continue;
        out.push({
          code: 'port-in-libvirt-bridge',
          node: `link:${l.name}`,
          edge: { from: `link:${l.name}`, to: `link:${n.bridge}` },
          message: `port of ${n.bridge}, which libvirt's ${n.forward ?? 'isolated'} network ${n.name} owns`,
        });
      }
    } else if (n.forward === 'bridge') {
      if (!links.has(n.bridge)) out.push({ code: 'bridge-missing', node: at, message: `its bridge ${n.bridge} does not exist` });
      else if (f.persisted_bridges && !f.persisted_bridges.includes(n.bridge)) {
        out.push({ code: 'bridge-not-persisted', node: `link:${n.bridge}`, message: `not persisted, but network ${n.name} needs it: gone after a reboot` });
      }
    }
  }
  for (const b of f.links.filter((l) => l.kind === 'bridge')) {
    const above = f.links.filter((l) => l.master === b.name && l.mtu > b.mtu).map((l) => `${l.name} ${l.mtu}`);
    if (b.mtu > 0 && above.length)
      out.push({
        code: 'bridge-mtu-below-port',
        node: `link:${b.name}`,
        message: `MTU ${b.mtu} below its port${above.length > 1 ? 's' : ''} (${above.join(', ')})`,
      });
  }
  for (const v of f.vxlans ?? []) {
    if (!v.mtuWarning) continue;
    const under = vxlanUnderlay(v, f);
    out.push({
      code: 'vxlan-mtu-over-underlay',
      node: `link:${v.name}`,
      ...(under ? { edge: { from: `link:${under}`, to: `link:${v.name}` } } : {}),
      message: v.mtuWarning,
    });
  }
  return out;
}
