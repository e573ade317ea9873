// group_vars/ and host_vars/ next to an inventory: `<name>.yaml|.yml|.json`, `<name>` or a `<name>/` folder of such files.
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { Diagnostic, Location } from '../errors.js';
import type { KnownNames, VarLayer } from './inventory-builder.js';
import { describe, isRecord } from './inventory-util.js';
import { didYouMean } from './suggest.js';
import { locate, parseYaml, readInputFile } from './yaml-source.js';

const VAR_EXTS = ['.yaml', '.yml', '.json'];
/** Folders inside group_vars/<group>/ are read recursively, but not forever (symlink loops). */
const MAX_DIR_DEPTH = 8;

export interface VarsDir {
  kind: 'group' | 'host';
  /** Absolute path to read. */
  dir: string;
  /** The same path as shown in diagnostics. */
  shown: string;
}

/**
 * The layers a group_vars/ or host_vars/ folder contributes, as Ansible's host_group_vars plugin finds them: for each
 * group (host), the first of `<name>`, `<name>.yml`, `<name>.yaml`, `<name>.json` that exists — a folder is read
 * whole (files in name order, later files win), a file alone. Entries for names the inventory does not have are a
 * warning.
 */
export function varsDirLayers(vd: VarsDir, known: KnownNames, diagnostics: Diagnostic[]): VarLayer[] {
  const names = vd.kind === 'group' ? known.groups : known.hosts;
  const entries = listDir(vd.dir);
  const present = new Set(entries);
  const layers: VarLayer[] = [];
  const used = new Set<string>();
  for (const name of names) {
    // Ansible skips names that are absolute paths (chroot-style host names).
    if (name.startsWith('/')) continue;
    const entry = ['', ...VAR_EXTS].map((e) => name + e).find((e) => present.has(e));
    if (entry === undefined) continue;
    used.add(entry);
    const abs = join(vd.dir, entry);
    const shown = join(vd.shown, entry);
    const files = isDirectory(abs) ? filesUnder(abs, shown, 0) : [{ abs, shown }];
    for (const f of files) {
      const layer = readVarsFile(f.abs, f.shown, vd.kind, name, diagnostics);
      if (layer) layers.push(layer);
    }
  }
  for (const entry of entries) {
    if (used.has(entry)) continue;
    const ext = VAR_EXTS.find((e) => entry.endsWith(e));
    const name = ext ? entry.slice(0, -ext.length) : entry;
    if (!ext && entry.includes('.') && !names.has(entry)) continue; // README.md and friends
    const what = vd.kind === 'group' ? 'group' : 'host';
    const why = names.has(name)
      ? `${vd.kind}_vars/${name} is read instead (Ansible reads only the first of ${name}, ${name}.yml, ${name}.yaml, ${name}.json)`
      : `no ${what} of that name is in the inventory${didYouMean(name, names)}`;
    diagnostics.push({ severity: 'warning', file: join(vd.shown, entry), message: `these ${vd.kind}_vars are ignored: ${why}` });
  }
  return layers;
}

function filesUnder(dir: string, shown: string, depth: number): Array<{ abs: string; shown: string }> {
  if (depth > MAX_DIR_DEPTH) return [];
  const out: Array<{ abs: string; shown: string }> = [];
  for (const entry of listDir(dir)) {
    const abs = join(dir, entry);
    const isDir = isDirectory(abs);
    const ext = extname(entry);
    // As Ansible's _get_dir_vars_files: folders without an extension are read recursively; files with a vars extension or none.
    if (isDir && ext === '') out.push(...filesUnder(abs, join(shown, entry), depth + 1));
    else if (isDir === false && (ext === '' || VAR_EXTS.includes(ext))) out.push({ abs, shown: join(shown, entry) });
  }
  return out;
}

/** Reads one vars file: it must be a map (an empty file is fine). */
export function readVarsFile(abs: string, shown: string, target: 'group' | 'host', name: string, diagnostics: Diagnostic[]): VarLayer | undefined {
  const read = readInputFile(abs);
  diagnostics.push(...read.diagnostics.map((d) => ({ ...d, file: shown })));
  if (read.text === undefined) return undefined;
  if (read.text.trimStart().startsWith('$ANSIBLE_VAULT;')) {
    diagnostics.push({
      severity: 'error',
      file: shown,
      line: 1,
      col: 1,
      message: 'this vars file is encrypted with Ansible Vault, which kvmnet does not support: decrypt it (ansible-vault decrypt) or give the values with -e',
    });
    return undefined;
  }
  const { source, diagnostics: parsed } = parseYaml(shown, read.text, { ansible: true });
  diagnostics.push(...parsed);
  if (!source || source.value === null || source.value === undefined) return undefined;
  if (!isRecord(source.value)) {
    const { line, col } = locate(source, []);
    diagnostics.push({
      severity: 'error',
      file: shown,
      line,
      col,
      message: `a vars file must be a map of variable names to values; found ${describe(source.value)}`,
    });
    return undefined;
  }
  const origins = new Map<string, Location>(Object.keys(source.value).map((k) => [k, { file: shown, ...locate(source, [k]) }]));
  return { target, name, vars: source.value, origins };
}

/** Sorted, without hidden files and editor backups. */
export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((e) => !e.startsWith('.') && !e.endsWith('~'))
      .sort();
  } catch {
    return [];
  }
}

export function isDirectory(path: string): boolean | undefined {
  try {
    return statSync(path).isDirectory();
  } catch {
    return undefined;
  }
}
