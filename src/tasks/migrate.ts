// Moving the management path onto a bridge, bond or VLAN: the addresses and routes of the
// interface move to the new device in the same step that re-parents it, so the host keeps its
// address. The pieces are shared by ensure_port, ensure_bond and ensure_vlan.
import type { AddrFact, Facts, RouteFact } from '../model/facts.js';
import type { Change } from '../model/plan.js';
import type { Op } from '../ops/types.js';

/** Routes the kernel adds by itself when an address is added (the prefix route). */
const kernelRoute = (r: RouteFact) => r.protocol === 'kernel';

/** The addresses onto `dev` (replace: they may be there already). */
export const addrsTo = (addrs: readonly AddrFact[], dev: string): Op[] =>
  addrs.map((a) => ({ op: 'addr.add', dev, address: a.address, prefix: a.prefix, family: a.family, replace: true }));

/** The addresses off the device that holds them. */
export const addrsFrom = (addrs: readonly AddrFact[]): Op[] =>
  addrs.map((a) => ({ op: 'addr.del', dev: a.dev, address: a.address, prefix: a.prefix, family: a.family }));

/** The routes onto `dev` (deleting the old device's address took them from it). */
export const routesTo = (routes: readonly RouteFact[], dev: string): Op[] => routes.map((r) => ({ op: 'route.replace', route: { ...r, dev } }));

/** `198.18.0.11/24, route default via 198.18.0.1`: what a migration moves, for its summary. */
export const movedText = (addrs: readonly AddrFact[], routes: readonly RouteFact[]): string =>
  [...addrs.map((a) => `${a.address}/${a.prefix}`), ...routes.map((r) => `route ${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}`)].join(', ');

export function planMigration(iface: string, bridge: string, facts: Facts): Change {
  const link = facts.links[iface]!;
  const addrs = facts.addrs.filter((a) => a.dev === iface && a.scope === 'global');
  const routes = facts.routes.filter((r) => r.dev === iface && !kernelRoute(r));
  const ops: Op[] = [];
  // The bridge answers with the NIC's MAC, so neighbours' ARP caches stay right.
  if (link.mac) ops.push({ op: 'link.mac', name: bridge, mac: link.mac });
  ops.push(
    { op: 'link.up', name: bridge, up: true },
    { op: 'link.up', name: iface, up: true },
    ...addrsTo(addrs, bridge),
    { op: 'link.master', name: iface, master: bridge },
    ...addrsFrom(addrs),
    ...routesTo(routes, bridge),
  );
  return { summary: `migrate ${iface} into ${bridge}: move ${movedText(addrs, routes) || 'nothing'} to ${bridge}, then add ${iface} to ${bridge}`, ops };
}
