// Persistence of routes and policy rules: systemd-networkd only, as drop-ins of the .network file
// kvmnet wrote for the device ([Route] and [RoutingPolicyRule] sections; a drop-in counts only with
// its .network file, the one networkd applies to the device). ifupdown is refused: its stanzas
// have no route or rule keys (only post-up commands, which kvmnet does not write yet).
import { RefusedError } from '../errors.js';
import type { Facts, RuleFact } from '../model/facts.js';
import { NETWORKD_DIR } from '../model/persist-kinds.js';
import type { PersistFormat } from '../model/persist-kinds.js';
import { networkdPaths } from '../persist/paths.js';
import { iniValue } from '../persist/render.js';
import { sameRouteKey, tableName } from '../ops/addr-route.js';
import type { RouteSpec, RuleSpec } from '../ops/types.js';
import type { FileWant } from '../persist/persistence.js';
import type { EnsureRouteArgs } from './ensure-route.js';
import { wantedRoute } from './ensure-route.js';

const HEADER = '# Written by kvmnet; changes made here are overwritten on its next run.';
const slug = (s: string) => s.replace(/[^A-Za-z0-9-]/g, '_');

export const routeFilePath = (r: RouteSpec) => `${networkdPaths.dropIns(r.dev)}/route-${slug(r.dst)}-m${r.metric ?? 0}-t${slug(tableName(r.table))}.conf`;
export const ruleFilePath = (dev: string, r: RuleSpec) => `${networkdPaths.dropIns(dev)}/rule-${r.family === 6 ? '6-' : ''}${r.priority}.conf`;

const line = (k: string, v: string | number | undefined) => (v === undefined ? [] : [`${k}=${v}`]);

/** systemd.network(5) [Route]. */
export function networkdRoute(r: RouteSpec): string {
  return [
    HEADER,
    `# ensure_route ${r.dst}${r.gateway ? ` via ${r.gateway}` : ''} dev ${r.dev}`,
    '[Route]',
    ...line('Destination', r.dst === 'default' ? (r.family === 6 ? '::/0' : '0.0.0.0/0') : r.dst),
    ...line('Gateway', r.gateway),
    ...(r.onlink ? ['GatewayOnLink=yes'] : []),
    ...line('Metric', r.metric),
    ...line('Table', tableName(r.table) === 'main' ? undefined : r.table),
    ...line('PreferredSource', r.prefsrc),
    ...line('MTUBytes', r.mtu),
    '',
  ].join('\n');
}

/** systemd.network(5) [RoutingPolicyRule]. */
export function networkdRule(r: RuleSpec): string {
  return [
    HEADER,
    `# ensure_rule priority ${r.priority}`,
    '[RoutingPolicyRule]',
    ...(r.from === undefined && r.to === undefined ? [`Family=${r.family === 6 ? 'ipv6' : 'ipv4'}`] : []),
    ...line('From', r.from),
    ...line('To', r.to),
    ...line('IncomingInterface', r.iif),
    ...line('OutgoingInterface', r.oif),
    ...line('FirewallMark', r.fwmark),
    ...line('Table', r.table),
    ...line('Priority', r.priority),
    '',
  ].join('\n');
}

function needNetwork(format: PersistFormat, dev: string, facts: Facts, host: string, what: string): void {
  if (format !== 'networkd') throw new RefusedError(`persist: ${format}: kvmnet persists ${what} only as systemd-networkd drop-ins; set persist: none (or networkd) on this task`);
  if ((facts.persisted ?? {})[networkdPaths.network(dev)] === undefined) {
    throw new RefusedError(`persist: networkd: ${networkdPaths.network(dev)} does not exist on ${host}; networkd applies only the first .network file that matches ${dev}, so kvmnet adds ${what} only to the .network files it writes itself. Persist ${dev} first (ensure_bridge/ensure_port with persist: networkd), or set persist: none here`);
  }
}

export function routeFiles(format: PersistFormat, args: EnsureRouteArgs, facts: Facts, host: string): FileWant[] {
  const want = wantedRoute(args);
  if (args.state === 'absent') {
    const gone = facts.routes.filter((r) => sameRouteKey(r, want) && r.dev && (!args.dev || r.dev === args.dev));
    const devs = args.dev ? [args.dev] : gone.map((r) => r.dev!);
    return [...new Set(devs)].map((dev) => ({ path: routeFilePath({ ...want, dev }), content: null }));
  }
  needNetwork(format, want.dev, facts, host, 'routes');
  return [{ path: routeFilePath(want), content: networkdRoute(want) }];
}

export function ruleFiles(format: PersistFormat, rule: RuleSpec, dev: string | undefined, state: 'present' | 'absent', facts: Facts, host: string): FileWant[] {
  if (state === 'absent') {
    // Whichever device's drop-in held it.
    return Object.keys(facts.persisted ?? {})
      .filter((p) => p.startsWith(`${NETWORKD_DIR}/`) && p.endsWith(`/rule-${rule.family === 6 ? '6-' : ''}${rule.priority}.conf`))
      .map((path) => ({ path, content: null }));
  }
  if (!dev) throw new RefusedError(`persist: networkd writes a rule into the .network file of a device, and this rule names none kvmnet can tell on ${host}: give iif or oif, or a from that is an address of a device, or set persist: none`);
  needNetwork(format, dev, facts, host, 'policy rules');
  return [{ path: ruleFilePath(dev, rule), content: networkdRule(rule) }];
}

/** Persisted routes and rules the running host does not have. */
export function routeDrift(facts: Facts, files: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [path, content] of Object.entries(files)) {
    if (!/\.network\.d\/route-[^/]+\.conf$/.test(path) || files[path.replace(/\.d\/[^/]+$/, '')] === undefined) continue;
    const dst = iniValue(content, 'Destination');
    if (!dst) continue;
    const dev = /10-kvmnet-(.+)\.network\.d\//.exec(path)?.[1];
    const metric = Number(iniValue(content, 'Metric') ?? 0);
    const table = iniValue(content, 'Table');
    const d = dst === '0.0.0.0/0' || dst === '::/0' ? 'default' : dst;
    const here = facts.routes.some((r) => r.dst === d && (r.metric ?? 0) === metric && tableName(r.table) === tableName(table) && r.dev === dev);
    if (!here) out.push(`${dev}: route ${d}${table ? ` table ${table}` : ''} persisted (networkd) but not present at runtime`);
  }
  return out;
}

export function ruleDrift(facts: Facts, files: Record<string, string>): string[] {
  if (!facts.rules) return [];
  const out: string[] = [];
  for (const [path, content] of Object.entries(files)) {
    const m = /\.network\.d\/rule-(6-)?(\d+)\.conf$/.exec(path);
    if (!m || files[path.replace(/\.d\/[^/]+$/, '')] === undefined) continue;
    const family = m[1] ? 6 : 4;
    const priority = Number(m[2]);
    const table = iniValue(content, 'Table');
    const here = facts.rules.some((r: RuleFact) => r.family === family && r.priority === priority && r.table === table);
    if (!here) out.push(`rule ${priority} (table ${table}) persisted (networkd) but not present at runtime`);
  }
  return out;
}
