// Which device's configuration a route or a policy rule belongs in, for the formats that keep them
// with a device (NetworkManager profiles, netplan definitions, networkd drop-ins, ifupdown stanzas),
// and which routes and rules of the running state those formats persist. Pure.
import { prefixCovers } from '../model/cidr-match.js';
import type { Facts, RouteFact, RuleFact } from '../model/facts.js';
import type { Op } from '../ops/types.js';
import { sameRouteKey } from '../ops/addr-route.js';

/** The device a rule belongs with: iif (not lo), oif, else the device holding an address of `from`. */
export function ruleDevice(rule: Pick<RuleFact, 'iif' | 'oif' | 'from'>, facts: Facts): string | undefined {
  if (rule.iif && rule.iif !== 'lo') return rule.iif;
  if (rule.oif) return rule.oif;
  if (rule.from) return facts.addrs.find((a) => a.scope === 'global' && prefixCovers(rule.from!, a.address))?.dev;
  return undefined;
}

// Routes the kernel makes for addresses, and those of DHCP, router advertisements and redirects,
// are not configuration: boot (`ip route add`, undefined in `ip -j`) and static ones are.
const CONFIGURED = new Set([undefined, 'boot', 'static']);

/** The routes of DEV (family) that are configuration, as they run. */
export const persistableRoutes = (facts: Facts, dev: string, family: 4 | 6): RouteFact[] =>
  facts.routes.filter((r) => r.dev === dev && r.family === family && CONFIGURED.has(r.protocol) && !r.dst.startsWith('fe80::') && r.dst !== 'multicast');

// The kernel's own rules: local (0), main (32766), default (32767).
export const kernelRule = (r: RuleFact): boolean =>
  r.from === undefined &&
  r.to === undefined &&
  !r.iif &&
  !r.oif &&
  !r.fwmark &&
  ((r.priority === 0 && r.table === 'local') || (r.priority === 32766 && r.table === 'main') || (r.priority === 32767 && r.table === 'default'));

/** The rules (table lookups) that belong with DEV (family), as they run. */
export const persistableRules = (facts: Facts, dev: string, family: 4 | 6): RuleFact[] =>
  (facts.rules ?? []).filter((r) => r.family === family && r.table !== undefined && !kernelRule(r) && ruleDevice(r, facts) === dev);

/** The devices whose configuration the routing operations change: a route's device (and the one it moves from), a rule's device. */
export function routingDevices(ops: readonly Op[], before: Facts, after: Facts): string[] {
  const out: string[] = [];
  for (const op of ops) {
    if (op.op === 'route.replace' || op.op === 'route.del') {
      out.push(op.route.dev);
      const old = before.routes.find((r) => sameRouteKey(r, op.route))?.dev;
      if (old) out.push(old);
    } else if (op.op === 'rule.add' || op.op === 'rule.del') {
      for (const f of [before, after]) {
        const dev = ruleDevice(op.rule, f);
        if (dev) out.push(dev);
      }
    }
  }
  return [...new Set(out)];
}

/** A rule task's device from its arguments (a task that changes nothing still wants its file right). */
export function ruleArgDevice(args: Record<string, unknown>, facts: Facts): string | undefined {
  if (typeof args.priority !== 'number' || args.table === undefined) return undefined;
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return ruleDevice({ iif: text(args.iif), oif: text(args.oif), from: text(args.from) }, facts);
}
