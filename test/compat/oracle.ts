// The inventory compatibility suite's two sides: Ansible (ansible-inventory and ansible --list-hosts, through
// ansible-oracle.py) and kvmnet (the functions `kvmnet inventory` and play host selection use), on one corpus.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadInventory, type Inventory } from '../../src/config/inventory.js';
import { ansibleJson, graphLines, hostView, listView, redactSecrets } from '../../src/config/inventory-views.js';
import { selectHosts } from '../../src/config/patterns.js';

export const CORPUS = fileURLToPath(new URL('../fixtures/inventory-compat', import.meta.url));
const ORACLE = fileURLToPath(new URL('./ansible-oracle.py', import.meta.url));
const PYTHON = '/usr/bin/python3';

export interface Case {
  /** Path-like name for reports: `ansible/order/inventory`, `fleet/precedence`. */
  name: string;
  /** `-i` arguments, absolute paths (or a comma list). */
  sources: string[];
}

/** Every inventory of the corpus: each file of ansible/ and docs/ (not group_vars/host_vars), each entry of fleet/, and multi.json's combinations. */
export function corpusCases(): Case[] {
  const cases: Case[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir).sort()) {
      const abs = join(dir, e);
      if (statSync(abs).isDirectory()) {
        if (e !== 'group_vars' && e !== 'host_vars') walk(abs);
      } else cases.push({ name: relative(CORPUS, abs), sources: [abs] });
    }
  };
  walk(join(CORPUS, 'ansible'));
  walk(join(CORPUS, 'docs'));
  for (const e of readdirSync(join(CORPUS, 'fleet')).sort()) cases.push({ name: `fleet/${e}`, sources: [join(CORPUS, 'fleet', e)] });
  const multi = JSON.parse(readFileSync(join(CORPUS, 'multi.json'), 'utf8')) as Array<{ name: string; sources: string[] }>;
  for (const m of multi) cases.push({ name: `multi/${m.name}`, sources: m.sources.map((s) => (s.includes(',') ? s : join(CORPUS, s))) });
  return cases;
}

export interface OracleResult {
  rc: number;
  stdout: string;
  stderr: string;
}

interface Job {
  id: string;
  argv: string[];
}

/** An empty working directory, so neither side picks up an ansible.cfg, group_vars/ or `inventory` from the cwd. */
export const SCRATCH = mkdtempSync(join(tmpdir(), 'kvmnet-compat-'));

export function ansibleAvailable(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import ansible.release; print(ansible.release.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Runs the jobs through Ansible (forked from one Python process: fast), in the order given. */
export function runAnsible(jobs: Job[]): Map<string, OracleResult> {
  // For working on kvmnet's side only: KVMNET_COMPAT_CACHE=FILE keeps Ansible's answers between runs.
  const cacheFile = process.env['KVMNET_COMPAT_CACHE'];
  const cached = cacheFile && existsSync(cacheFile) ? (JSON.parse(readFileSync(cacheFile, 'utf8')) as Record<string, OracleResult>) : {};
  const missing = jobs.filter((j) => !(j.id in cached));
  const fresh = missing.length ? runOracle(missing) : new Map<string, OracleResult>();
  for (const [id, r] of fresh) cached[id] = r;
  if (cacheFile && missing.length) writeFileSync(cacheFile, JSON.stringify(cached));
  return new Map(jobs.map((j) => [j.id, cached[j.id] ?? fresh.get(j.id)!]));
}

function runOracle(jobs: Job[]): Map<string, OracleResult> {
  const home = mkdtempSync(join(tmpdir(), 'kvmnet-compat-ansible-'));
  // Ansible's defaults, whatever /etc/ansible/ansible.cfg or ~/.ansible.cfg say.
  writeFileSync(join(home, 'ansible.cfg'), '[defaults]\n');
  const out = execFileSync(PYTHON, [ORACLE], {
    input: JSON.stringify(jobs.map((j) => ({ ...j, cwd: SCRATCH }))),
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: home,
      LANG: 'C.UTF-8',
      ANSIBLE_CONFIG: join(home, 'ansible.cfg'),
      ANSIBLE_HOME: home,
      ANSIBLE_LOCAL_TEMP: join(home, 'tmp'),
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_FORCE_COLOR: '0',
      ANSIBLE_DEPRECATION_WARNINGS: '0',
      ORACLE_JOBS: '2',
    },
  });
  const results = JSON.parse(out) as Array<OracleResult & { id: string }>;
  return new Map(results.map((r) => [r.id, r]));
}

/** What Ansible says about one inventory. */
export interface AnsibleView {
  loaded: boolean;
  /** Why not, when not loaded (Ansible's own words). */
  why?: string;
  list?: string;
  exportList?: string;
  graph?: string;
  hosts: Map<string, string>;
  patterns: Map<string, { error: string } | { hosts: string[] }>;
}

export function inventoryJobs(c: Case): Job[] {
  const i = c.sources.flatMap((s) => ['-i', s]);
  return [
    { id: `${c.name}\u0000list`, argv: ['ansible-inventory', ...i, '--list'] },
    { id: `${c.name}\u0000export`, argv: ['ansible-inventory', ...i, '--list', '--export'] },
    { id: `${c.name}\u0000graph`, argv: ['ansible-inventory', ...i, '--graph'] },
  ];
}

/** Ansible could not (fully) load the inventory: it only warns, so read its warnings. */
const NOT_LOADED = /Unable to parse|Failed to parse|No inventory was parsed|Skipping due to errors/;

/** Python's json.dumps writes NaN and ±Infinity bare; JSON.parse does not read them. */
function parsePythonJson(text: string): unknown {
  return JSON.parse(
    text.replace(/(: |^\s+)(-?Infinity|NaN)(,?)$/gm, (_m, pre: string, v: string, comma: string) => `${pre}"@@pyjson:${v}"${comma}`),
    (_k, v: unknown) => (typeof v === 'string' && v.startsWith('@@pyjson:') ? Number(v.slice(9)) : v),
  );
}

/** Groups and hosts of an --list output, for choosing --host queries and patterns. */
export function namesOf(list: string): { groups: string[]; hosts: string[] } {
  const data = parsePythonJson(list) as Record<string, { hosts?: string[]; children?: string[] }>;
  const groups = Object.keys(data).filter((g) => g !== '_meta');
  const hosts: string[] = [];
  const add = (g: string): void => {
    for (const h of data[g]?.hosts ?? []) if (!hosts.includes(h)) hosts.push(h);
    for (const c of data[g]?.children ?? []) add(c);
  };
  add('all');
  return { groups, hosts };
}

/** The host patterns tried on an inventory: the usual kinds, on its own groups and hosts. */
export function patternsFor(names: { groups: string[]; hosts: string[] }): string[] {
  const groups = names.groups.filter((g) => g !== 'all' && g !== 'ungrouped').slice(0, 4);
  const out = ['all', '*', 'ungrouped', 'all[0]', 'all[-1]', 'all[1:3]', 'localhost', 'all:localhost'];
  for (const g of groups) out.push(g, `${g}[0]`, `${g}[-1]`, `${g}[1:]`);
  if (groups.length >= 2)
    out.push(`${groups[0]}:${groups[1]}`, `${groups[0]}:&${groups[1]}`, `${groups[0]}:!${groups[1]}`, `all:!${groups[1]}`, `${groups[1]}:${groups[0]}`);
  const h = names.hosts;
  if (h.length) out.push(h[0]!, `~${escapeRegex(h[h.length - 1]!.slice(0, 2))}`, `${h[0]!.slice(0, 1)}*`);
  if (h.length >= 2 && groups.length) out.push(`${h[1]}:${groups[0]}`);
  return [...new Set(out)];
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function hostJobs(c: Case, names: { groups: string[]; hosts: string[] }): Job[] {
  const i = c.sources.flatMap((s) => ['-i', s]);
  const hosts = [...new Set([names.hosts[0], names.hosts[names.hosts.length - 1]].filter((h): h is string => h !== undefined))];
  return [
    ...hosts.map((h) => ({ id: `${c.name}\u0000host\u0000${h}`, argv: ['ansible-inventory', ...i, '--host', h] })),
    ...patternsFor(names).map((p) => ({ id: `${c.name}\u0000pattern\u0000${p}`, argv: ['ansible', p, ...i, '--list-hosts'] })),
  ];
}

export function ansibleView(c: Case, results: Map<string, OracleResult>, names?: { groups: string[]; hosts: string[] }): AnsibleView {
  const list = results.get(`${c.name}\u0000list`)!;
  const view: AnsibleView = { loaded: false, hosts: new Map(), patterns: new Map() };
  if (list.rc !== 0 || NOT_LOADED.test(list.stderr)) {
    view.why = (list.stderr.match(/(?:ERROR!|\[WARNING\]:).*/g) ?? [`exit ${list.rc}`]).join(' / ');
    return view;
  }
  view.loaded = true;
  view.list = list.stdout;
  view.exportList = results.get(`${c.name}\u0000export`)!.stdout;
  view.graph = results.get(`${c.name}\u0000graph`)!.stdout;
  if (!names) return view;
  for (const [id, r] of results) {
    const [name, kind, arg] = id.split('\u0000');
    if (name !== c.name || arg === undefined) continue;
    if (kind === 'host') view.hosts.set(arg, r.stdout);
    if (kind === 'pattern') {
      if (r.rc !== 0) view.patterns.set(arg, { error: (r.stderr.match(/ERROR!.*/) ?? [`exit ${r.rc}`])[0] });
      else
        view.patterns.set(arg, {
          hosts: r.stdout
            .split('\n')
            .slice(1)
            .map((l) => l.trim())
            .filter(Boolean),
        });
    }
  }
  return view;
}

/** What kvmnet says about the same inventory, printed as `kvmnet inventory` prints it. */
export interface KvmnetView {
  errors: string[];
  inventory?: Inventory;
  list?: string;
  exportList?: string;
  graph?: string;
}

export function kvmnetView(c: Case): KvmnetView {
  const { inventory, diagnostics } = loadInventory(c.sources, SCRATCH);
  const errors = diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.file}${d.line ? `:${d.line}` : ''}: ${d.message}`);
  if (errors.length) return { errors };
  return {
    errors,
    inventory,
    list: `${ansibleJson(listView(inventory))}\n`,
    exportList: `${ansibleJson(listView(inventory, { export: true }))}\n`,
    graph: `${graphLines(inventory).join('\n')}\n`,
  };
}

export function kvmnetHost(inv: Inventory, host: string): string {
  return inv.hosts.has(host) ? `${ansibleJson(hostView(inv, host))}\n` : '(no such host)';
}

export function kvmnetPattern(inv: Inventory, pattern: string): { error: string } | { hosts: string[] } {
  const { hosts, diagnostics } = selectHosts(inv, pattern, { file: '<pattern>' });
  const error = diagnostics.find((d) => d.severity === 'error');
  return error ? { error: error.message } : { hosts };
}

/**
 * kvmnet never prints a password: where Ansible's JSON has secret-named keys, compare after the same redaction
 * (documented in docs/inventory.md). Everything else is compared byte for byte.
 */
export function normaliseAnsibleJson(text: string): string {
  if (!/password|passphrase/i.test(text)) return text;
  const redact = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(redact);
    if (v && typeof v === 'object') {
      const r = redactSecrets(v as Record<string, unknown>);
      for (const k of Object.keys(r)) r[k] = r[k] === '********' ? r[k] : redact(r[k]);
      return r;
    }
    return v;
  };
  return `${ansibleJson(redact(parsePythonJson(text)))}\n`;
}

/** The documented list of deliberately unsupported inputs: the phrases in backticks under "Not supported" (docs/inventory.md). */
export function documentedRefusals(): string[] {
  const readme = readFileSync(fileURLToPath(new URL('../../docs/inventory.md', import.meta.url)), 'utf8');
  const start = readme.indexOf('## Not supported');
  if (start === -1) return [];
  const end = readme.indexOf('\n#', start + 5);
  const section = readme.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/error:\s+`([^`]+)`/g)].map((m) => m[1]!);
}
