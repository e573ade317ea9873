// One `-i` argument: an inventory file (YAML or INI), a directory, or a comma-separated host list.
import { homedir } from 'node:os';
import { readdirSync } from 'node:fs';
import { dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import type { InventoryBuilder, KnownNames, VarLayer } from './inventory-builder.js';
import { expandHostEntry } from './inventory-hosts.js';
import { varsDirLayers, isDirectory } from './inventory-vars-files.js';
import { loadYamlInventory } from './inventory-yaml.js';
import { loadIniInventory } from './ini.js';
import { isExecutable, loadScriptInventory, loadTomlInventory } from './inventory-external.js';
import { isRecord } from './inventory-util.js';
import { parseYaml, readInputFile } from './yaml-source.js';

/**
 * What Ansible skips when it reads a directory of inventory files (manager.py IGNORED: hidden files, group_vars/,
 * host_vars/, vars_plugins/, and INVENTORY_IGNORE_EXTS: REJECT_EXTS + .orig .ini .cfg .retry). So `hosts.ini` inside a
 * directory is NOT read, by Ansible or by kvmnet.
 */
export const DIRECTORY_IGNORED = /^\.|^host_vars$|^group_vars$|^vars_plugins$|(\.pyc|\.pyo|\.swp|\.bak|~|\.rpm|\.md|\.txt|\.rst|\.orig|\.ini|\.cfg|\.retry)$/;
/** Directories inside an inventory directory are read too, but not forever (symlink loops). */
const MAX_SOURCE_DEPTH = 16;

/** group_vars/ + host_vars/ of one folder, read once even when several sources share the folder. */
export type VarsDirCache = Map<string, (known: KnownNames) => VarLayer[]>;

export function loadSource(arg: string, cwd: string, b: InventoryBuilder, varsDirs: VarsDirCache): void {
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
    // As Ansible: every file in the directory (and below) is a source of its own, in name order.
    const before = b.diagnostics.length;
    const found = loadDirectory(abs, cwd, b, 0);
    if (found === 0 && b.diagnostics.length === before) {
      b.diagnostics.push({
        severity: 'warning',
        file: shown,
        message: 'inventory directory has no inventory file (files ending in .ini, .cfg, .txt, .md… are skipped, as by Ansible): there are no hosts',
      });
    }
    addVarsDirs(abs, cwd, b, varsDirs);
    return;
  }
  loadFile(abs, shown, b);
  addVarsDirs(dirname(abs), cwd, b, varsDirs);
}

function loadDirectory(dir: string, cwd: string, b: InventoryBuilder, depth: number): number {
  if (depth > MAX_SOURCE_DEPTH) return 0;
  let found = 0;
  // Ansible sorts the names as bytes: Buffer.compare, not localeCompare.
  const entries = listEntries(dir).sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  for (const entry of entries) {
    const abs = join(dir, entry);
    if (DIRECTORY_IGNORED.test(entry)) {
      // The one surprise of Ansible's ignore list for kvmnet's users: an inventory file named *.ini or *.cfg.
      if (/\.(ini|cfg)$/.test(entry) && isDirectory(abs) === false) {
        b.diagnostics.push({
          severity: 'warning',
          file: displayPath(abs, cwd),
          message: `skipped: Ansible (and so kvmnet) ignores *${extname(entry)} files inside an inventory directory; name it without the extension, or pass it with -i ${displayPath(abs, cwd)}`,
        });
      }
      continue;
    }
    const isDir = isDirectory(abs);
    if (isDir === undefined) continue;
    if (isDir) found += loadDirectory(abs, cwd, b, depth + 1);
    else {
      loadFile(abs, displayPath(abs, cwd), b);
      found++;
    }
  }
  return found;
}

function listEntries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function loadFile(abs: string, shown: string, b: InventoryBuilder): void {
  const read = readInputFile(abs);
  b.diagnostics.push(...read.diagnostics.map((d) => ({ ...d, file: shown })));
  if (read.text === undefined) return;
  if (read.text.startsWith('#!') && isExecutable(abs)) return loadScriptInventory(abs, shown, b);
  if (extname(abs).toLowerCase() === '.toml') return loadTomlInventory(shown, read.text, b);
  const refusal = unsupportedSource(abs, read.text);
  if (refusal) {
    b.diagnostics.push({ severity: 'error', file: shown, line: 1, col: 1, message: refusal });
    return;
  }
  if (detectFormat(abs, read.text) === 'yaml') loadYamlInventory(shown, read.text, b);
  else loadIniInventory(shown, read.text, b);
}

/** Inventory kinds kvmnet refuses rather than misreads; the messages are listed in docs/inventory.md ("Not supported"). */
export function unsupportedSource(file: string, text: string): string | undefined {
  const head = text.replace(/^\uFEFF/, '').trimStart();
  if (head.startsWith('$ANSIBLE_VAULT;')) {
    return 'this inventory is encrypted with Ansible Vault, which kvmnet does not support: decrypt it (ansible-vault decrypt) or give kvmnet a plain copy';
  }
  if (head.startsWith('#!')) {
    return `this looks like an inventory script (it starts with #!) but is not executable: chmod +x ${file}`;
  }
  return undefined;
}

/**
 * Ansible tries its YAML plugin on files without extension or ending in .yaml/.yml/.json, and INI when YAML fails.
 * So: by extension; without one, YAML when the text reads as a YAML map, INI otherwise.
 */
export function detectFormat(file: string, text: string): 'yaml' | 'ini' {
  const ext = extname(file).toLowerCase();
  if (ext === '.yaml' || ext === '.yml' || ext === '.json') return 'yaml';
  if (ext !== '') return 'ini';
  const { source } = parseYaml(file, text, { ansible: true });
  return source !== undefined && isRecord(source.value) ? 'yaml' : 'ini';
}

/**
 * group_vars/ and host_vars/ beside the inventory, for every source (a folder shared by two sources counts twice, as
 * in Ansible, so a later source's folder can be overridden by an earlier one's read again). Read once per folder.
 */
function addVarsDirs(dir: string, cwd: string, b: InventoryBuilder, cache: VarsDirCache): void {
  let fn = cache.get(dir);
  if (!fn) {
    const dirs = (['group', 'host'] as const)
      .map((kind) => ({ kind, dir: join(dir, `${kind}_vars`), shown: displayPath(join(dir, `${kind}_vars`), cwd) }))
      .filter((vd) => isDirectory(vd.dir) === true);
    let memo: VarLayer[] | undefined;
    fn = (known) => (memo ??= dirs.flatMap((vd) => varsDirLayers(vd, known, b.diagnostics)));
    cache.set(dir, fn);
  }
  b.addVarsFiles(fn);
}

/**
 * `hv1.example,hv2.example:2222,` → ungrouped hosts, as Ansible's host_list plugin does: no ranges (`h[0:3],` is one
 * host of that name), a port sets ansible_port, a host already known is left alone.
 */
function loadHostList(arg: string, b: InventoryBuilder): void {
  const file = `<-i ${arg}>`;
  let offset = 0;
  for (const part of arg.split(',')) {
    const lead = part.length - part.trimStart().length;
    const entry = part.trim();
    const col = offset + lead + 1;
    offset += part.length + 1;
    if (entry === '') continue;
    const expanded = expandHostEntry(entry, { ranges: false });
    // Ansible keeps an entry it cannot parse as the host's name; kvmnet does so only for brackets (`h[0:3]`), and
    // refuses junk such as whitespace or a bad port rather than connect to it.
    if ('error' in expanded && !(/[[\]]/.test(entry) && !/\s/.test(entry))) {
      b.diagnostics.push({ severity: 'error', file, line: 1, col, message: expanded.error });
      continue;
    }
    const names = 'error' in expanded ? [entry] : expanded.names;
    const port = 'error' in expanded ? undefined : expanded.port;
    for (const name of names) {
      if (b.hasHost(name)) continue;
      b.addHost(name, 'ungrouped', { file, line: 1, col }, port);
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
