// `kvmnet inventory --list / --graph / --host` in ansible-inventory's exact shapes and JSON formatting, so the two
// outputs can be compared byte for byte (the compatibility suite does), secrets aside.
import { groupVarsView, hostVars } from './inventory.js';
import { hostsOfGroup } from './inventory-graph.js';
import type { Inventory } from './inventory-types.js';
import { copyVar, isMarkedFloat, setOwn } from './inventory-util.js';

const SECRET = /password|passphrase/i;

/** Secrets never leave kvmnet in output: a variable whose name says password or passphrase shows as ********. */
export function redactSecrets(vars: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(vars)) {
    if (SECRET.test(k) && v !== undefined && v !== null) setOwn(out, k, '********');
    else copyVar(out, k, vars);
  }
  return out;
}

/**
 * ansible-inventory --list: groups reachable from `all` (hosts, children; vars only with `export`, as Ansible), empty
 * groups left out, and `_meta.hostvars` for hosts that have vars: the merged vars, or with `export` only the host's
 * own (inline and host_vars files).
 */
export function listView(inv: Inventory, opts: { export?: boolean } = {}): Record<string, unknown> {
  const view: Record<string, unknown> = {};
  const seen = new Set<string>();
  const visit = (name: string): void => {
    const g = inv.groups.get(name);
    if (!g) return;
    const entry: Record<string, unknown> = {};
    if (name !== 'all' && g.hosts.length) entry['hosts'] = [...g.hosts];
    if (g.children.length) entry['children'] = [...g.children];
    if (opts.export) {
      const vars = redactSecrets(groupVarsView(inv, name));
      if (Object.keys(vars).length) entry['vars'] = vars;
    }
    if (Object.keys(entry).length) setOwn(view, name, entry);
    for (const c of g.children) {
      if (seen.has(c)) continue;
      seen.add(c);
      visit(c);
    }
  };
  visit('all');
  const hostvars: Record<string, unknown> = {};
  for (const h of hostsOfGroup(inv, 'all')) {
    const vars = redactSecrets(opts.export ? ownHostVars(inv, h) : hostVars(inv, h));
    if (Object.keys(vars).length) setOwn(hostvars, h, vars);
  }
  view['_meta'] = { hostvars };
  return view;
}

/** A host's own vars (inline, then its host_vars files source by source), as --export shows them. */
function ownHostVars(inv: Inventory, host: string): Record<string, unknown> {
  const vars: Record<string, unknown> = {};
  const own = inv.hosts.get(host)?.vars ?? {};
  for (const k of Object.keys(own)) copyVar(vars, k, own);
  for (const set of inv.varsFiles ?? []) {
    const bag = set.hosts.get(host)?.vars ?? {};
    for (const k of Object.keys(bag)) copyVar(vars, k, bag);
  }
  return vars;
}

/** ansible-inventory --host NAME: the merged vars. */
export function hostView(inv: Inventory, host: string): Record<string, unknown> {
  return redactSecrets(hostVars(inv, host));
}

/** ansible-inventory --graph: `@group:` lines, children first, then hosts (none under `all` itself). */
export function graphLines(inv: Inventory, group = 'all'): string[] {
  const lines: string[] = [];
  // Iterative: an inventory may nest thousands of groups.
  const stack: Array<{ name: string; depth: number }> = [{ name: group, depth: 0 }];
  const prefix = (depth: number): string => (depth ? `${'  |'.repeat(depth)}--` : '');
  while (stack.length > 0) {
    const { name, depth } = stack.pop()!;
    if (name.startsWith('\u0000')) {
      lines.push(name.slice(1));
      continue;
    }
    const g = inv.groups.get(name);
    if (!g) continue;
    lines.push(`${prefix(depth)}@${name}:`);
    const after: Array<{ name: string; depth: number }> = g.children.map((c) => ({ name: c, depth: depth + 1 }));
    if (name !== 'all') for (const h of g.hosts) after.push({ name: `\u0000${prefix(depth + 1)}${h}`, depth: depth + 1 });
    stack.push(...after.reverse());
  }
  return lines;
}

/**
 * JSON as Python's json.dumps(sort_keys=True, indent=4, ensure_ascii=False) writes it: what ansible-inventory prints.
 * Numbers follow Python's repr (1e-05, 1e+16, Infinity, NaN).
 */
export function ansibleJson(value: unknown, indent = 0, float = false): string {
  const pad = ' '.repeat(indent + 4);
  const end = ' '.repeat(indent);
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return pyNumber(value, float);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v, i) => pad + ansibleJson(v, indent + 4, isMarkedFloat(value, String(i)))).join(',\n')}\n${end}]`;
  }
  if (typeof value === 'object') {
    const keys = Object.keys(value).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (keys.length === 0) return '{}';
    const obj = value as Record<string, unknown>;
    return `{\n${keys.map((k) => `${pad}${JSON.stringify(k)}: ${ansibleJson(obj[k], indent + 4, isMarkedFloat(obj, k))}`).join(',\n')}\n${end}}`;
  }
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- only scalars are left: strings, lists and mappings are above
  return JSON.stringify(String(value));
}

function pyNumber(n: number, float: boolean): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  if (Number.isInteger(n) && !float && Math.abs(n) <= Number.MAX_SAFE_INTEGER) return String(n);
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return `${n}.0`;
  // Python's float repr: the same shortest digits as JS, but scientific below 1e-4 and from 1e16 up.
  const [mantissa, expText] = n.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= 16) return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(n);
}
