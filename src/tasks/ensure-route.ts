// ensure_route: a static route (IPv4 or IPv6; any table; via, src, onlink, mtu, metric), compared
// with the route of the same destination, metric and table as `ip -j route show table …` lists
// it. `ip route replace` changes it in place. A route whose change could take the SSH session
// away (on the session's links, or covering the client) is refused without confirm (the guard
// reads the operations' touches). Routes outside main come from this module's facts fragment.
import { z } from 'zod';
import { RefusedError } from '../errors.js';
import { parseOtherTableRoutes } from '../facts/parse-ip.js';
import type { Facts, RouteFact } from '../model/facts.js';
import { noop, type Change, type Plan } from '../model/plan.js';
import { routeText, sameRouteKey, tableName } from '../ops/addr-route.js';
import type { RouteSpec } from '../ops/types.js';
import { interfaceName, ip, persist, presence } from './common-args.js';
import type { ArgProblem, PlannedTaskModule } from './contract.js';
import { familyOf, kernelPrefix, prefixProblem, tableArg, tableText } from './routing-args.js';
import { routeDrift, routeFiles } from './routing-persist.js';
import { shown } from '../text/shown.js';

const schema = z.strictObject({
  dst: z.string().meta({ description: "destination: 'default', an address (a host route) or address/prefix; IPv4 or IPv6" }),
  via: ip.optional().meta({ description: 'gateway address (same family as dst)' }),
  dev: interfaceName.optional().meta({ description: 'the device the route leaves by; required with state: present' }),
  metric: z
    .number()
    .int()
    .min(0)
    .max(4294967295)
    .optional()
    .meta({ description: 'route priority; default 0 for IPv4 and 1024 for IPv6 (as the kernel sets it)' }),
  table: tableArg.meta({ description: 'routing table: a number or a name from /etc/iproute2/rt_tables, as `ip route` lists it (default main)' }),
  src: ip.optional().meta({ description: 'preferred source address for traffic the host sends by this route' }),
  onlink: z.boolean().default(false).meta({ description: 'the gateway is reachable on dev even though no prefix of dev covers it' }),
  mtu: z.number().int().min(68).max(65535).optional().meta({ description: 'path MTU of the route' }),
  state: presence,
  persist,
});

export type EnsureRouteArgs = z.output<typeof schema>;

const isText = (v: unknown): v is string => typeof v === 'string' && !v.includes('{{');

function routeProblems(args: Record<string, unknown>): ArgProblem[] {
  const problems: ArgProblem[] = [];
  if (isText(args.dst)) {
    const p = prefixProblem(args.dst, true);
    if (p) problems.push({ field: 'dst', message: p });
  }
  const present = (args.state ?? 'present') === 'present';
  if (present && args.dev === undefined) problems.push({ field: 'dev', message: 'ensure_route needs dev with state: present' });
  const fam = isText(args.dst) ? familyOf(args.dst) : undefined;
  for (const field of ['via', 'src'] as const) {
    const v = args[field];
    const f = isText(v) ? familyOf(v) : undefined;
    if (fam && f && f !== fam) problems.push({ field, message: `${field} ${String(v)} is IPv${f}, dst ${String(args.dst)} is IPv${fam}` });
  }
  if (args.onlink === true && args.via === undefined) problems.push({ field: 'onlink', message: 'onlink needs a gateway (via)' });
  return problems;
}

/** The route the arguments describe, as the facts would hold it. */
export function wantedRoute(args: EnsureRouteArgs): RouteSpec {
  const family = familyOf(args.dst) ?? familyOf(args.via) ?? familyOf(args.src) ?? 4;
  const table = tableText(args.table);
  const route: RouteSpec = { family, dst: kernelPrefix(args.dst), dev: args.dev ?? '' };
  if (args.via) route.gateway = kernelPrefix(args.via);
  // The kernel gives an IPv6 route without a metric 1024: compare with what it will list.
  const metric = args.metric ?? (family === 6 ? 1024 : undefined);
  if (metric !== undefined && metric !== 0) route.metric = metric;
  if (table !== undefined && tableName(table) !== 'main') route.table = table;
  if (args.src) route.prefsrc = kernelPrefix(args.src);
  if (args.onlink) route.onlink = true;
  if (args.mtu !== undefined) route.mtu = args.mtu;
  return route;
}

const shape = (r: RouteSpec | RouteFact) =>
  `${r.gateway ? `via ${r.gateway} ` : ''}dev ${r.dev ?? '?'}${r.prefsrc ? ` src ${r.prefsrc}` : ''}${r.onlink ? ' onlink' : ''}${r.mtu !== undefined ? ` mtu ${r.mtu}` : ''}`;

function planRoute(args: EnsureRouteArgs, facts: Facts, host: string): Plan {
  const want = wantedRoute(args);
  const same = facts.routes.filter((r) => sameRouteKey(r, want));
  const where = `${want.dst}${want.metric !== undefined ? ` metric ${want.metric}` : ''}${want.table ? ` table ${want.table}` : ''}`;
  if (args.state === 'absent') {
    const gone = same.filter((r) => (!args.dev || r.dev === args.dev) && (!want.gateway || r.gateway === want.gateway) && r.protocol !== 'kernel');
    if (gone.length === 0) return noop(`no route ${where}${args.dev ? ` on ${args.dev}` : ''}`);
    const changes: Change[] = gone.map((r) => ({ summary: `delete ${routeText(r)}`, ops: [{ op: 'route.del', route: { ...r, dev: r.dev ?? '' } }] }));
    return { changes, devices: [...new Set(gone.map((r) => r.dev ?? ''))].filter(Boolean) };
  }
  if (!facts.links[want.dev]) throw new RefusedError(`device ${want.dev} does not exist on ${host}; create it first`);
  const current = same[0];
  if (current && current.protocol === 'kernel') {
    throw new RefusedError(
      `${want.dst}${want.table ? ` table ${want.table}` : ''} is the kernel's own route of an address on ${current.dev} on ${host}; give another metric for a second route`,
    );
  }
  if (current && same.length === 1 && shape(current) === shape(want)) return noop(`route ${where} is ${shape(want)}`);
  const summary = current ? `change route ${where}: ${shape(current)} → ${shape(want)}` : `add route ${where} ${shape(want)}`;
  return { changes: [{ summary, ops: [{ op: 'route.replace', route: want }] }], devices: [want.dev] };
}

export const ensureRoute: PlannedTaskModule<'ensure_route', typeof schema> = {
  kind: 'planned',
  type: 'ensure_route',
  schema,
  defaultName: (args) =>
    `ensure_route ${String(args.dst)}${args.via !== undefined ? ` via ${shown(args.via)}` : ''}${args.dev !== undefined ? ` dev ${shown(args.dev)}` : ''}${args.table !== undefined ? ` table ${shown(args.table)}` : ''}`,
  argProblems: routeProblems,
  plan: planRoute,
  persistence: { files: routeFiles, drift: routeDrift },
  facts: {
    id: 'route-tables',
    // The core facts read the main table; routes of the other tables (local excepted) come from here.
    shell: `echo '@@kvmnet:route-tables@@'; ip -j -4 route show table all 2>/dev/null\necho '@@kvmnet:route6-tables@@'; ip -j -6 route show table all 2>/dev/null\n`,
    parse(sections, facts) {
      const body = (key: string) => sections.find((s) => s.key === key)?.body;
      const v4 = body('route-tables');
      const v6 = body('route6-tables');
      if (v4 !== undefined) facts.routes.push(...parseOtherTableRoutes(v4, 4));
      if (v6 !== undefined) facts.routes.push(...parseOtherTableRoutes(v6, 6));
    },
  },
  factsView: {
    json: (f) => ({ routes: staticRoutes(f).map((r) => ({ ...r })) }),
    sections: (f) => [
      {
        title: 'routes',
        columns: ['dst', 'via', 'dev', 'metric', 'table', 'src'],
        rows: staticRoutes(f).map((r) => [r.dst, r.gateway ?? '-', r.dev ?? '-', String(r.metric ?? 0), r.table ?? 'main', r.prefsrc ?? '-']),
        empty: '(none)',
      },
    ],
  },
};

/** Routes not made by the kernel for an address. */
const staticRoutes = (f: Facts) => f.routes.filter((r) => r.protocol !== 'kernel' && !r.dst.startsWith('fe80::') && r.dst !== 'multicast');
