// Inventory sources that are not YAML or INI text: executable inventory scripts (Ansible's `script` plugin: the
// `--list` / `--host` JSON protocol every source of truth speaks) and TOML files (Ansible's `toml` plugin). Each is
// turned into the structure of a YAML inventory and read by the YAML reader, so groups, host patterns, order and
// precedence are exactly those of the other sources.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { parseDocument } from 'yaml';
import type { InventoryBuilder } from './inventory-builder.js';
import { isRecord } from './inventory-util.js';
import { loadYamlInventory } from './inventory-yaml.js';

/** How long one run of an inventory script may take (Ansible waits forever; a hung CMDB should not hang kvmnet). */
export function scriptTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const s = Number(env['KVMNET_INVENTORY_SCRIPT_TIMEOUT']);
  return (Number.isFinite(s) && s > 0 ? s : 60) * 1000;
}
/** Script output and TOML files may be far larger than a hand-written YAML file. */
const MAX_GENERATED_BYTES = 64 * 1024 * 1024;

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

type Fail = (message: string) => void;

/** Runs SCRIPT ARGS; its stdout as JSON (big integers kept exact), or undefined after reporting why not. */
function runScript(abs: string, args: string[], fail: Fail): unknown {
  const what = `inventory script ${abs} ${args.join(' ')}`;
  const timeout = scriptTimeoutMs();
  const r = spawnSync(abs, args, { encoding: 'utf8', timeout, maxBuffer: MAX_GENERATED_BYTES, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr = (r.stderr ?? '').trim().split('\n').slice(-3).join(' | ');
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT')
    return fail(`${what} did not finish within ${timeout / 1000} s (KVMNET_INVENTORY_SCRIPT_TIMEOUT)`);
  if (r.error) return fail(`cannot run ${what}: ${r.error.message}`);
  if (r.signal) return fail(`${what} was killed by ${r.signal}${stderr ? `: ${stderr}` : ''}`);
  if (r.status !== 0) return fail(`${what} exited with status ${r.status}${stderr ? `: ${stderr}` : ''}`);
  if (args[0] === '--host' && r.stdout.trim() === '') return {};
  const doc = parseDocument(r.stdout, { schema: 'json', intAsBigInt: true, uniqueKeys: false });
  if (doc.errors.length) return fail(`${what} printed no valid JSON: ${doc.errors[0]!.message.split('\n')[0]}`);
  return exactInts(doc.toJS());
}

/** JSON integers a JS number holds exactly become numbers again; the others stay bigints, as Python keeps them. */
function exactInts(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v;
  if (Array.isArray(v)) return v.map(exactInts);
  if (isRecord(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, exactInts(x)]));
  return v;
}

/** Ansible's script plugin: `--list`, then `_meta.hostvars`, else `--host NAME` for each host. */
export function loadScriptInventory(abs: string, shown: string, b: InventoryBuilder): void {
  const file = `${shown} --list`;
  const fail: Fail = (message) => void b.diagnostics.push({ severity: 'error', file: shown, line: 1, col: 1, message });
  const data = runScript(abs, ['--list'], fail);
  if (data === undefined) return;
  if (!isRecord(data))
    return fail(`inventory script ${shown} --list must print a JSON object of groups; it printed ${Array.isArray(data) ? 'a list' : typeof data}`);
  const groups: Record<string, Record<string, unknown>> = {};
  const hosts: string[] = [];
  let meta: Record<string, unknown> | undefined;
  for (const [name, raw] of Object.entries(data)) {
    if (name === '_meta') {
      if (isRecord(raw) && 'hostvars' in raw) meta = isRecord(raw['hostvars']) ? raw['hostvars'] : {};
      continue;
    }
    // A list is the group's hosts; a map with none of hosts/vars/children is the vars of a host named like the group.
    let g: Record<string, unknown> = isRecord(raw) ? raw : { hosts: raw };
    if (isRecord(raw) && !['hosts', 'vars', 'children'].some((k) => k in raw)) g = { hosts: [name], vars: raw };
    const out: Record<string, unknown> = {};
    if ('hosts' in g) {
      if (!Array.isArray(g['hosts'])) return fail(`inventory script ${shown}: group '${name}' has bad data for the host list (expected a list of names)`);
      const hs: Record<string, unknown> = {};
      for (const h of g['hosts']) {
        const host = String(h);
        hs[host] = null;
        if (!hosts.includes(host)) hosts.push(host);
      }
      out['hosts'] = hs;
    }
    if ('vars' in g) {
      if (!isRecord(g['vars'])) return fail(`inventory script ${shown}: group '${name}' has bad data for variables (expected a map)`);
      out['vars'] = g['vars'];
    }
    if (Array.isArray(g['children'])) out['children'] = Object.fromEntries(g['children'].map((c) => [String(c), null]));
    groups[name] = out;
  }
  // Host vars go where the host first appears; where that is does not matter for host vars.
  for (const host of hosts) {
    const vars = meta !== undefined ? (meta[host] ?? {}) : runScript(abs, ['--host', host], fail);
    if (vars === undefined) return;
    if (!isRecord(vars)) return fail(`inventory script ${shown}: the variables of host '${host}' must be a JSON object`);
    if (Object.keys(vars).length === 0) continue;
    const first = Object.values(groups).find((g) => isRecord(g['hosts']) && host in g['hosts']);
    (first!['hosts'] as Record<string, unknown>)[host] = vars;
  }
  loadYamlInventory(file, orderedJson(groups), b, { maxBytes: MAX_GENERATED_BYTES });
}

/** Ansible's toml plugin: groups of `hosts` (a table), `vars` (a table) and `children` (a list). */
export function loadTomlInventory(shown: string, text: string, b: InventoryBuilder): void {
  let data: Record<string, unknown>;
  try {
    data = exactInts(parseToml(text, { integersAsBigInt: 'asNeeded' })) as Record<string, unknown>;
  } catch (error) {
    const e = error as Error & { line?: number; column?: number };
    b.diagnostics.push({ severity: 'error', file: shown, line: e.line ?? 1, col: e.column ?? 1, message: `TOML syntax error: ${e.message.split('\n')[0]}` });
    return;
  }
  const fail = (message: string) => void b.diagnostics.push({ severity: 'error', file: shown, line: 1, col: 1, message });
  if (Object.keys(data).length === 0) return fail('an empty TOML inventory');
  if ('plugin' in data) return fail('inventory plugin configuration files are not supported (this TOML file names a plugin)');
  const groups: Record<string, unknown> = {};
  for (const name of iniResidue(text)) groups[name] = null;
  for (const [name, raw] of Object.entries(data)) {
    if (!isRecord(raw)) {
      b.diagnostics.push({ severity: 'warning', file: shown, message: `skipping '${name}': not a valid group definition (a table), as Ansible does` });
      continue;
    }
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(raw)) {
      if (key === 'children') {
        if (!Array.isArray(value)) return fail(`group '${name}': "children" must be a list of group names`);
        out['children'] = Object.fromEntries(value.map((c) => [String(c), null]));
      } else if (key === 'hosts' || key === 'vars') {
        if (!isRecord(value)) return fail(`group '${name}': "${key}" must be a table`);
        out[key] = value;
      } else {
        b.diagnostics.push({
          severity: 'warning',
          file: shown,
          message: `skipping unexpected key "${key}" in group "${name}", only "vars", "children" and "hosts" are valid (as Ansible does)`,
        });
      }
    }
    groups[name] = out;
  }
  loadYamlInventory(shown, orderedJson(groups), b, { maxBytes: MAX_GENERATED_BYTES });
}

/**
 * Ansible tries its INI reader on a .toml file before its TOML one, and the INI reader's groups stay when it fails:
 * every `[header]` up to the first line it cannot read is an (empty) group of the result, before the TOML's own
 * groups (`[kvm.hosts]` leaves a group "kvm.hosts"). Copied so that kvmnet's inventory is the one Ansible uses.
 */
function iniResidue(text: string): string[] {
  const names: string[] = [];
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$/.exec(line);
    if (!header || (header[2] !== undefined && header[2] !== 'children')) break;
    if (!names.includes(header[1]!)) names.push(header[1]!);
  }
  return names;
}

/** JSON in the values' own order (host and group order matter), bigints as their digits. */
function orderedJson(v: unknown): string {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return JSON.stringify(v.toISOString());
  if (Array.isArray(v)) return `[${v.map(orderedJson).join(',')}]`;
  if (isRecord(v))
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}:${orderedJson(x)}`)
      .join(',')}}`;
  if (typeof v === 'number' && !Number.isFinite(v)) return Number.isNaN(v) ? '.nan' : v > 0 ? '.inf' : '-.inf';
  return JSON.stringify(v ?? null);
}
