// Moving the management path onto a bridge: the addresses and routes of the interface move to
// the bridge in the same detached step that enslaves it, so the host keeps its address.
import { shellJoin } from '../connection/quote.js';
import type { AddrFact, Facts, RouteFact } from '../model/facts.js';
import type { Change, Touch } from '../model/plan.js';

/** Routes the kernel adds by itself when an address is added (the prefix route). */
const kernelRoute = (r: RouteFact) => r.protocol === 'kernel';

export function routeArgs(r: RouteFact, dev: string): string[] {
  const argv = ['ip', ...(r.family === 6 ? ['-6'] : []), 'route', 'replace', r.dst];
  if (r.gateway) argv.push('via', r.gateway);
  argv.push('dev', dev);
  if (r.metric !== undefined) argv.push('metric', String(r.metric));
  if (r.protocol && r.protocol !== 'kernel' && r.protocol !== 'boot') argv.push('proto', r.protocol);
  if (r.scope && r.scope !== 'global' && !r.gateway) argv.push('scope', r.scope);
  if (r.prefsrc) argv.push('src', r.prefsrc);
  return argv;
}

/** What moving these addresses and routes from one device to another touches (for the SSH-path guard). */
export function moveTouches(from: string, to: string, addrs: readonly AddrFact[], routes: readonly RouteFact[]): Touch[] {
  return [
    ...addrs.flatMap((a): Touch[] => [
      { kind: 'addr', dev: to, address: a.address, op: 'add' },
      { kind: 'addr', dev: from, address: a.address, op: 'del' },
    ]),
    ...routes.flatMap((r): Touch[] => [
      { kind: 'route', dev: to, dst: r.dst, op: 'add' },
      { kind: 'route', dev: from, dst: r.dst, op: 'del' },
    ]),
  ];
}

/** `198.18.0.11/24, route default via 198.18.0.1`: what a migration moves, for its summary. */
export const movedText = (addrs: readonly AddrFact[], routes: readonly RouteFact[]): string =>
  [...addrs.map((a) => `${a.address}/${a.prefix}`), ...routes.map((r) => `route ${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}`)].join(', ');

export function planMigration(iface: string, bridge: string, facts: Facts): Change {
  const link = facts.links[iface]!;
  const addrs = facts.addrs.filter((a) => a.dev === iface && a.scope === 'global');
  const routes = facts.routes.filter((r) => r.dev === iface && !kernelRoute(r));
  const commands: string[] = [];
  // The bridge answers with the NIC's MAC, so neighbours' ARP caches stay right.
  if (link.mac) commands.push(shellJoin(['ip', 'link', 'set', bridge, 'address', link.mac]));
  commands.push(shellJoin(['ip', 'link', 'set', bridge, 'up']), shellJoin(['ip', 'link', 'set', iface, 'up']));
  for (const a of addrs) commands.push(shellJoin(['ip', 'address', 'replace', `${a.address}/${a.prefix}`, 'dev', bridge]));
  commands.push(shellJoin(['ip', 'link', 'set', iface, 'master', bridge]));
  for (const a of addrs) commands.push(shellJoin(['ip', 'address', 'del', `${a.address}/${a.prefix}`, 'dev', iface]));
  for (const r of routes) commands.push(shellJoin(routeArgs(r, bridge)));
  const touches: Touch[] = [
    { kind: 'link', name: bridge, op: 'up' },
    ...(link.mac ? [{ kind: 'link' as const, name: bridge, op: 'mac' as const }] : []),
    { kind: 'link', name: iface, op: 'master' },
    ...moveTouches(iface, bridge, addrs, routes),
  ];
  return {
    summary: `migrate ${iface} into ${bridge}: move ${movedText(addrs, routes) || 'nothing'} to ${bridge}, then add ${iface} to ${bridge}`,
    commands,
    touches,
    effect: (f) => {
      f.links[iface]!.master = bridge;
      f.links[iface]!.up = true;
      if (f.links[bridge]) {
        f.links[bridge]!.up = true;
        if (link.mac) f.links[bridge]!.mac = link.mac;
      }
      for (const a of f.addrs) if (a.dev === iface && a.scope === 'global') a.dev = bridge;
      for (const r of f.routes) if (r.dev === iface) r.dev = bridge;
      if (f.session?.dev === iface) f.session.dev = bridge;
    },
  };
}
