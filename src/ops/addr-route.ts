// Address and route operations. An address that carries the SSH session moves the session with it
// (the SSH-path guard judges later changes on the device that holds it now).
import { shellJoin } from '../connection/quote.js';
import type { Facts, RouteFact } from '../model/facts.js';
import { sameAddress } from '../model/ip-address.js';
import { prefixCovers } from '../model/cidr-match.js';
import type { Touch } from '../model/plan.js';
import type { AddrOp, OpKind, RouteOp, RouteSpec } from './types.js';

type Of<K extends AddrOp['op'] | RouteOp['op']> = Extract<AddrOp | RouteOp, { op: K }>;

const cidr = (op: { address: string; prefix: number }) => `${op.address}/${op.prefix}`;
const hasAddr = (f: Facts, op: { dev: string; address: string; prefix: number }) =>
  f.addrs.some((a) => a.dev === op.dev && sameAddress(a.address, op.address) && a.prefix === op.prefix);
const presence = (f: Facts, op: { dev: string; address: string; prefix: number }) => (hasAddr(f, op) ? 'present' : 'absent');

function checkAddr(op: { dev: string; address: string; prefix: number }, expected: Facts, actual: Facts): string | undefined {
  const want = presence(expected, op);
  const got = presence(actual, op);
  return want === got ? undefined : `${cidr(op)} is ${got} on ${op.dev}, expected ${want}`;
}

/** The table as one spelling: undefined, `main` and 254 are the main table. */
export const tableName = (table: string | number | undefined): string =>
  table === undefined || String(table) === '254' || table === 'main' ? 'main' : String(table);

/** `ip route replace` arguments of a route (on `dev`). */
export function routeArgs(r: RouteSpec | RouteFact, dev: string, verb: 'replace' | 'del' = 'replace'): string[] {
  const argv = ['ip', ...(r.family === 6 ? ['-6'] : []), 'route', verb, r.dst];
  if (r.gateway) argv.push('via', r.gateway);
  argv.push('dev', dev);
  if (r.metric !== undefined) argv.push('metric', String(r.metric));
  if (tableName(r.table) !== 'main') argv.push('table', String(r.table));
  if (verb === 'del') return argv;
  if (r.protocol && r.protocol !== 'kernel' && r.protocol !== 'boot') argv.push('proto', r.protocol);
  if (r.scope && r.scope !== 'global' && !r.gateway) argv.push('scope', r.scope);
  if (r.prefsrc) argv.push('src', r.prefsrc);
  if (r.onlink && r.gateway) argv.push('onlink');
  if (r.mtu !== undefined) argv.push('mtu', String(r.mtu));
  return argv;
}

// `ip route replace` replaces the route of the same family, destination, metric and table.
export const sameRouteKey = (a: RouteSpec | RouteFact, b: RouteSpec | RouteFact): boolean =>
  a.family === b.family && a.dst === b.dst && (a.metric ?? 0) === (b.metric ?? 0) && tableName(a.table) === tableName(b.table);
const sameKey = sameRouteKey;
const inTable = (r: RouteSpec) => (tableName(r.table) === 'main' ? '' : ` table ${r.table}`);
export const routeText = (r: RouteSpec | RouteFact): string =>
  `route ${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}${r.dev ? ` dev ${r.dev}` : ''}${inTable(r as RouteSpec)}`;
const routeFact = (r: RouteSpec): RouteFact => {
  const { table, ...rest } = r;
  return tableName(table) === 'main' ? { ...rest } : { ...rest, table: String(table) };
};
const routePresence = (f: Facts, r: RouteSpec) =>
  f.routes.some((x) => sameKey(x, r) && x.dev === r.dev && (x.gateway ?? '') === (r.gateway ?? '')) ? 'present' : 'absent';

/** What of a route the kernel lists and kvmnet sets: compared after a replace. */
const routeShape = (r: RouteFact | undefined) =>
  r ? `via ${r.gateway ?? '-'} dev ${r.dev ?? '-'} src ${r.prefsrc ?? '-'}${r.onlink ? ' onlink' : ''} mtu ${r.mtu ?? '-'}` : 'absent';

function checkRoute(r: RouteSpec, expected: Facts, actual: Facts): string | undefined {
  const want = routePresence(expected, r);
  const got = routePresence(actual, r);
  return want === got ? undefined : `${routeText(r)} is ${got}, expected ${want}`;
}

function checkReplaced(r: RouteSpec, expected: Facts, actual: Facts): string | undefined {
  const want = routeShape(expected.routes.find((x) => sameKey(x, r)));
  const got = routeShape(actual.routes.find((x) => sameKey(x, r)));
  return want === got ? undefined : `${routeText(r)} is ${got}, expected ${want}`;
}

/**
 * What a route change touches: its device, the device of the route it replaces, and — when its
 * destination covers the SSH client in the main table — the device that carries the session, whose
 * replies it may take away.
 */
function routeTouches(r: RouteSpec, f: Facts, op: 'add' | 'del'): Touch[] {
  const devs = new Set([r.dev]);
  const old = f.routes.find((x) => sameKey(x, r));
  if (old?.dev) devs.add(old.dev);
  if (op === 'add' && f.session?.dev && tableName(r.table) === 'main' && prefixCovers(r.dst, f.session.clientAddress)) devs.add(f.session.dev);
  return [...devs].map((dev) => ({ kind: 'route', dev, dst: r.dst, op }));
}

export const addrRouteOps: { [K in AddrOp['op'] | RouteOp['op']]: OpKind<Of<K>> } = {
  'addr.add': {
    lines: (op) => [shellJoin(['ip', 'address', op.replace ? 'replace' : 'add', cidr(op), 'dev', op.dev])],
    touches: (op) => [{ kind: 'addr', dev: op.dev, address: op.address, op: 'add' }],
    effect: (op, f) => {
      if (!hasAddr(f, op)) f.addrs.push({ dev: op.dev, family: op.family, address: op.address, prefix: op.prefix, scope: 'global' });
      if (f.session && sameAddress(f.session.serverAddress, op.address)) f.session.dev = op.dev;
    },
    inverse: (op, before) => (hasAddr(before, op) ? [] : [{ op: 'addr.del', dev: op.dev, address: op.address, prefix: op.prefix, family: op.family }]),
    check: checkAddr,
  },
  'addr.del': {
    lines: (op) => [shellJoin(['ip', 'address', 'del', cidr(op), 'dev', op.dev])],
    touches: (op) => [{ kind: 'addr', dev: op.dev, address: op.address, op: 'del' }],
    effect: (op, f) => {
      f.addrs = f.addrs.filter((a) => !(a.dev === op.dev && sameAddress(a.address, op.address) && a.prefix === op.prefix));
      // The kernel takes the address's own routes with it.
      f.routes = f.routes.filter((r) => !(r.dev === op.dev && r.protocol === 'kernel' && r.prefsrc !== undefined && sameAddress(r.prefsrc, op.address)));
    },
    inverse: (op, before) => {
      if (!hasAddr(before, op)) return [];
      // The kernel drops the routes with this source address, and every route through the link
      // with its last IPv4 address: put the link's routes of this family back after the address.
      const routes = before.routes
        .filter((r) => r.dev === op.dev && r.family === op.family && r.protocol !== 'kernel')
        .map((r) => ({ op: 'route.replace' as const, route: { ...r, dev: op.dev } }));
      return [{ op: 'addr.add', dev: op.dev, address: op.address, prefix: op.prefix, family: op.family, replace: true }, ...routes];
    },
    check: checkAddr,
  },
  'route.replace': {
    lines: (op) => [shellJoin(routeArgs(op.route, op.route.dev))],
    touches: (op, f) => routeTouches(op.route, f, 'add'),
    effect: (op, f) => {
      f.routes = [...f.routes.filter((r) => !sameKey(r, op.route)), routeFact(op.route)];
    },
    inverse: (op, before) => {
      const old = before.routes.find((r) => sameKey(r, op.route) && r.dev);
      return old ? [{ op: 'route.replace', route: { ...old, dev: old.dev! } }] : [{ op: 'route.del', route: op.route }];
    },
    check: (op, expected, actual) => checkReplaced(op.route, expected, actual),
  },
  'route.del': {
    lines: (op) => [shellJoin(routeArgs(op.route, op.route.dev, 'del'))],
    touches: (op, f) => routeTouches(op.route, f, 'del'),
    effect: (op, f) => {
      f.routes = f.routes.filter((r) => !(sameKey(r, op.route) && r.dev === op.route.dev));
    },
    inverse: (op, before) => {
      const old = before.routes.find((r) => sameKey(r, op.route) && r.dev === op.route.dev);
      return old ? [{ op: 'route.replace', route: { ...old, dev: old.dev! } }] : [];
    },
    check: (op, expected, actual) => checkRoute(op.route, expected, actual),
  },
};
