// Persistence of routes and policy rules (NetworkManager and netplan render them from the running
// state: nm-profiles.ts, netplan-files.ts).
// networkd: drop-ins of the .network file kvmnet wrote for the device ([Route] and
// [RoutingPolicyRule] sections; a drop-in counts only with its .network file, the one networkd
// applies to the device).
// ifupdown: its stanzas have no route or rule keys, so one more `iface DEV inet manual` stanza per
// route or rule, in its own file beside the device's (kvmnet-DEV__route-…, kvmnet-DEV__rule-…),
// holding the `post-up` command the runtime planner runs and a `pre-down` that undoes it
// (ifupdown applies every stanza of an interface when it brings it up; interfaces(5)).
import { RefusedError } from '../errors.js';
import type { Facts, RuleFact } from '../model/facts.js';
import { IFUPDOWN_DIR, NETWORKD_DIR } from '../model/persist-kinds.js';
import type { PersistFormat } from '../model/persist-kinds.js';
import { idempotentPostUpLines, postUpLines, preDownLines, stanzaCommands } from '../persist/ifupdown-hooks.js';
import { ifupdownPaths, networkdPaths } from '../persist/paths.js';
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

// ifupdown reads only names of [A-Za-z0-9_-] (paths.ts): the route's key with '-' for '.', ':' and '/'.
const ifSlug = (s: string) => s.replace(/[.:/]/g, '-').replace(/[^A-Za-z0-9-]/g, '');
export const ifupdownRoutePath = (r: RouteSpec) => `${ifupdownPaths.main(r.dev)}__route-${ifSlug(r.dst)}-m${r.metric ?? 0}-t${ifSlug(tableName(r.table))}`;
export const ifupdownRulePath = (dev: string, r: RuleSpec) => `${ifupdownPaths.main(dev)}__rule-${r.family === 6 ? '6-' : ''}${r.priority}`;
const IFUPDOWN_ROUTE = /__route-[A-Za-z0-9-]+$/;
const IFUPDOWN_RULE = /__rule-(6-)?(\d+)$/;

/** ifupdown: the route's stanza. `ip route replace` is safe to run again. */
export function ifupdownRoute(r: RouteSpec): string {
  return [
    HEADER,
    `# ensure_route ${r.dst}${r.gateway ? ` via ${r.gateway}` : ''} dev ${r.dev}`,
    `iface ${r.dev} inet manual`,
    ...postUpLines([{ op: 'route.replace', route: r }]).map((l) => `    ${l}`),
    ...preDownLines([{ op: 'route.del', route: r }]).map((l) => `    ${l}`),
    '',
  ].join('\n');
}

/** ifupdown: the rule's stanza on DEV. `ip rule add` adds a second copy when run twice: deleted first. */
export function ifupdownRule(dev: string, r: RuleSpec): string {
  return [
    HEADER,
    `# ensure_rule priority ${r.priority}`,
    `iface ${dev} inet manual`,
    ...idempotentPostUpLines([{ op: 'rule.del', rule: r }], [{ op: 'rule.add', rule: r }]).map((l) => `    ${l}`),
    ...preDownLines([{ op: 'rule.del', rule: r }]).map((l) => `    ${l}`),
    '',
  ].join('\n');
}

function needStanza(dev: string, facts: Facts, host: string, what: string): void {
  if ((facts.persisted ?? {})[ifupdownPaths.main(dev)] !== undefined || facts.managers?.ifupdownStanzas.includes(dev)) return;
  throw new RefusedError(
    `persist: ifupdown: no stanza brings ${dev} up on ${host} (no ${ifupdownPaths.main(dev)}, and /etc/network/interfaces names no ${dev}), so its ${what} would never run at boot. Persist ${dev} first (ensure_bridge/ensure_bond/ensure_vlan/ensure_vxlan with persist: ifupdown), or set persist: none here`,
  );
}

function needNetwork(format: PersistFormat, dev: string, facts: Facts, host: string, what: string): void {
  if (format === 'ifupdown') return needStanza(dev, facts, host, what);
  if (format !== 'networkd')
    throw new RefusedError(`persist: ${format as string}: kvmnet cannot persist ${what} in this format; set persist: none on this task`);
  if ((facts.persisted ?? {})[networkdPaths.network(dev)] === undefined) {
    throw new RefusedError(
      `persist: networkd: ${networkdPaths.network(dev)} does not exist on ${host}; networkd applies only the first .network file that matches ${dev}, so kvmnet adds ${what} only to the .network files it writes itself. Persist ${dev} first (ensure_bridge/ensure_port with persist: networkd), or set persist: none here`,
    );
  }
}

export function routeFiles(format: PersistFormat, args: EnsureRouteArgs, facts: Facts, host: string): FileWant[] {
  const want = wantedRoute(args);
  if (args.state === 'absent') {
    const gone = facts.routes.filter((r) => sameRouteKey(r, want) && r.dev && (!args.dev || r.dev === args.dev));
    const devs = args.dev ? [args.dev] : gone.map((r) => r.dev!);
    return [...new Set(devs)].map((dev) => ({
      path: format === 'ifupdown' ? ifupdownRoutePath({ ...want, dev }) : routeFilePath({ ...want, dev }),
      content: null,
    }));
  }
  needNetwork(format, want.dev, facts, host, 'routes');
  if (format === 'ifupdown') return [{ path: ifupdownRoutePath(want), content: ifupdownRoute(want) }];
  return [{ path: routeFilePath(want), content: networkdRoute(want) }];
}

export function ruleFiles(format: PersistFormat, rule: RuleSpec, dev: string | undefined, state: 'present' | 'absent', facts: Facts, host: string): FileWant[] {
  if (state === 'absent') {
    // Whichever device's drop-in held it.
    const own =
      format === 'ifupdown'
        ? (p: string) => p.startsWith(`${IFUPDOWN_DIR}/`) && p.endsWith(`__rule-${rule.family === 6 ? '6-' : ''}${rule.priority}`)
        : (p: string) => p.startsWith(`${NETWORKD_DIR}/`) && p.endsWith(`/rule-${rule.family === 6 ? '6-' : ''}${rule.priority}.conf`);
    return Object.keys(facts.persisted ?? {})
      .filter(own)
      .map((path) => ({ path, content: null }));
  }
  if (!dev)
    throw new RefusedError(
      `persist: ${format} writes a rule into the configuration of a device, and this rule names none kvmnet can tell on ${host}: give iif or oif, or a from that is an address of a device, or set persist: none`,
    );
  needNetwork(format, dev, facts, host, 'policy rules');
  if (format === 'ifupdown') return [{ path: ifupdownRulePath(dev, rule), content: ifupdownRule(dev, rule) }];
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
  for (const [path, content] of Object.entries(files)) {
    if (!path.startsWith(`${IFUPDOWN_DIR}/`) || !IFUPDOWN_ROUTE.test(path)) continue;
    for (const cmd of stanzaCommands(content, 'post-up')) {
      const r = parseIpRoute(cmd);
      if (!r) continue;
      const here = facts.routes.some((x) => x.dst === r.dst && (x.metric ?? 0) === r.metric && tableName(x.table) === r.table && x.dev === r.dev);
      if (!here) out.push(`${r.dev}: route ${r.dst}${r.table !== 'main' ? ` table ${r.table}` : ''} persisted (ifupdown) but not present at runtime`);
    }
  }
  return out;
}

/** The key of an `ip route replace` line kvmnet wrote (routeArgs' order). */
function parseIpRoute(cmd: string): { dst: string; dev: string; metric: number; table: string } | undefined {
  const w = cmd.split(/\s+/);
  const at = w.indexOf('replace');
  if (w[0] !== 'ip' || !w.includes('route') || at < 0) return undefined;
  const opt = (k: string) => (w.indexOf(k) > at ? w[w.indexOf(k) + 1] : undefined);
  const dst = w[at + 1];
  const dev = opt('dev');
  if (!dst || !dev) return undefined;
  return { dst, dev, metric: Number(opt('metric') ?? 0), table: tableName(opt('table')) };
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
  for (const [path, content] of Object.entries(files)) {
    const m = IFUPDOWN_RULE.exec(path);
    if (!m || !path.startsWith(`${IFUPDOWN_DIR}/`)) continue;
    const family = m[1] ? 6 : 4;
    const priority = Number(m[2]);
    const add = stanzaCommands(content, 'post-up').find((c) => / rule add /.test(c));
    const table = add ? /\btable (\S+)/.exec(add)?.[1] : undefined;
    const here = facts.rules.some((r: RuleFact) => r.family === family && r.priority === priority && r.table === table);
    if (!here) out.push(`rule ${priority} (table ${table}) persisted (ifupdown) but not present at runtime`);
  }
  return out;
}
