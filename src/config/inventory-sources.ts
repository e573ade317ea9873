// One `-i` argument: an inventory file (YAML or INI), a directory, or a comma-separated host list.
import { homedir } from 'node:os';
import { dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import type { InventoryBuilder } from './inventory-builder.js';
import { expandHostEntry } from './inventory-hosts.js';
import { varsDirLayers, isDirectory } from './inventory-vars-files.js';
import { loadYamlInventory } from './inventory-yaml.js';
import { loadIniInventory } from './ini.js';
import { readInputFile } from './yaml-source.js';

/** Files a directory source is read from, in this order (Ansible's usual `inventory/hosts` layout). */
export const DIRECTORY_INVENTORY_FILES = ['hosts.yaml', 'hosts.yml', 'hosts.ini', 'hosts'];

export function loadSource(arg: string, cwd: string, b: InventoryBuilder, loadedVarsDirs: Set<string>): void {
  if (arg.trim() === '') {
    b.diagnostics.push({ severity: 'error', file: '<command line>', message: 'empty inventory source (-i "")' });
    return;
  }
  const abs = resolve(cwd, expandHome(arg));
  const shown = displayPath(abs, cwd);
  const isDir = isDirectory(abs);
  if (isDir === undefined) {
    if (arg.includes(',')) return loadHostList(arg, b);
    // A bare name was probably meant as a one-host list.
    const hint = /[/\\]|\.(ya?ml|ini|json)$/i.test(arg) ? '' : ` (a list of hosts needs a comma: '${arg},')`;
    b.diagnostics.push({ severity: 'error', file: shown, message: `inventory source not found: no such file or directory${hint}` });
    return;
  }
  if (isDir) {
    const files = DIRECTORY_INVENTORY_FILES.filter((f) => isDirectory(join(abs, f)) === false);
    if (files.length === 0) {
      b.diagnostics.push({ severity: 'error', file: shown, message: `inventory directory has no inventory file: expected one of ${DIRECTORY_INVENTORY_FILES.join(', ')}` });
    }
    for (const f of files) loadFile(join(abs, f), displayPath(join(abs, f), cwd), b);
    addVarsDirs(abs, cwd, b, loadedVarsDirs);
    return;
  }
  loadFile(abs, shown, b);
  addVarsDirs(dirname(abs), cwd, b, loadedVarsDirs);
}

function loadFile(abs: string, shown: string, b: InventoryBuilder): void {
  const read = readInputFile(abs);
  b.diagnostics.push(...read.diagnostics.map((d) => ({ ...d, file: shown })));
  if (read.text === undefined) return;
  if (detectFormat(abs, read.text) === 'yaml') loadYamlInventory(shown, read.text, b);
  else loadIniInventory(shown, read.text, b);
}

/** By extension; otherwise by the first meaningful line (`all:`, `---`, `{` → YAML; `[group]`, `host var=1` → INI). */
export function detectFormat(file: string, text: string): 'yaml' | 'ini' {
  const ext = extname(file).toLowerCase();
  if (ext === '.yaml' || ext === '.yml' || ext === '.json') return 'yaml';
  if (ext === '.ini') return 'ini';
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('---') || line.startsWith('%') || line.startsWith('{')) return 'yaml';
    const first = line.split(/\s/, 1)[0]!;
    return first.endsWith(':') ? 'yaml' : 'ini';
  }
  return 'ini';
}

/** group_vars/ and host_vars/ beside the inventory, read once per folder after every source is parsed. */
function addVarsDirs(dir: string, cwd: string, b: InventoryBuilder, loaded: Set<string>): void {
  for (const kind of ['group', 'host'] as const) {
    const abs = join(dir, `${kind}_vars`);
    if (loaded.has(abs) || isDirectory(abs) !== true) continue;
    loaded.add(abs);
    const vd = { kind, dir: abs, shown: displayPath(abs, cwd) };
    b.addDeferredVars((known) => varsDirLayers(vd, known, b.diagnostics));
  }
}

/** `hv1.example,hv2.example:2222,` → ungrouped hosts, as Ansible's host_list plugin does. */
function loadHostList(arg: string, b: InventoryBuilder): void {
  const file = `<-i ${arg}>`;
  let offset = 0;
  for (const part of arg.split(',')) {
    const lead = part.length - part.trimStart().length;
    const entry = part.trim();
    const col = offset + lead + 1;
    offset += part.length + 1;
    if (entry === '') continue;
    const expanded = expandHostEntry(entry);
    if ('error' in expanded) {
      b.diagnostics.push({ severity: 'error', file, line: 1, col, message: expanded.error });
      continue;
    }
    for (const name of expanded.names) {
      b.addHost(name, 'ungrouped', { file, line: 1, col });
      if (expanded.port !== undefined) {
        b.addVars({ target: 'host', name, vars: { port: expanded.port }, origins: new Map([['port', { file, line: 1, col }]]) });
      }
    }
  }
}

export function expandHome(p: string): string {
  if (p !== '~' && !p.startsWith('~/')) return p;
  try {
    return join(homedir(), p.slice(1));
  } catch {
    return p;
  }
}

/** Relative to cwd when inside it (short messages), absolute otherwise. */
export function displayPath(abs: string, cwd: string): string {
  const rel = relative(cwd, abs);
  if (rel === '') return '.';
  return !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
}
