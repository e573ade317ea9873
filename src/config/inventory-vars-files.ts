// group_vars/ and host_vars/ next to an inventory: `<name>.yaml|.yml|.json`, `<name>` or a `<name>/` folder of such files.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
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

/** The layers a group_vars/ or host_vars/ folder contributes, in file-name order (later files win). */
export function varsDirLayers(vd: VarsDir, known: KnownNames, diagnostics: Diagnostic[]): VarLayer[] {
  const names = vd.kind === 'group' ? known.groups : known.hosts;
  const layers: VarLayer[] = [];
  for (const entry of listDir(vd.dir)) {
    const abs = join(vd.dir, entry);
    const shown = join(vd.shown, entry);
    const isDir = isDirectory(abs);
    if (isDir === undefined) continue;
    const name = isDir ? entry : varsFileName(entry, names);
    if (name === undefined) continue;
    if (!names.has(name)) {
      const what = vd.kind === 'group' ? 'group' : 'host';
      diagnostics.push({
        severity: 'warning',
        file: shown,
        message: `${vd.kind}_vars for unknown ${what} '${name}': no ${what} of that name is in the inventory, so these vars are ignored${didYouMean(name, names)}`,
      });
      continue;
    }
    const files = isDir ? filesUnder(abs, shown, 0) : [{ abs, shown }];
    for (const f of files) {
      const layer = readVarsFile(f.abs, f.shown, vd.kind, name, diagnostics);
      if (layer) layers.push(layer);
    }
  }
  return layers;
}

/** `rack1.yaml` → rack1; `hv1.example.com` (no vars extension) only when such a name exists; `README.md` → ignored. */
function varsFileName(entry: string, names: ReadonlySet<string>): string | undefined {
  const ext = VAR_EXTS.find((e) => entry.endsWith(e));
  if (ext) return entry.slice(0, -ext.length);
  if (names.has(entry) || !entry.includes('.')) return entry;
  return undefined;
}

function filesUnder(dir: string, shown: string, depth: number): Array<{ abs: string; shown: string }> {
  if (depth > MAX_DIR_DEPTH) return [];
  const out: Array<{ abs: string; shown: string }> = [];
  for (const entry of listDir(dir)) {
    const abs = join(dir, entry);
    const isDir = isDirectory(abs);
    if (isDir) out.push(...filesUnder(abs, join(shown, entry), depth + 1));
    else if (isDir === false && (VAR_EXTS.some((e) => entry.endsWith(e)) || !entry.includes('.'))) out.push({ abs, shown: join(shown, entry) });
  }
  return out;
}

/** Reads one vars file: it must be a map (an empty file is fine). */
export function readVarsFile(abs: string, shown: string, target: 'group' | 'host', name: string, diagnostics: Diagnostic[]): VarLayer | undefined {
  const read = readInputFile(abs);
  diagnostics.push(...read.diagnostics.map((d) => ({ ...d, file: shown })));
  if (read.text === undefined) return undefined;
  const { source, diagnostics: parsed } = parseYaml(shown, read.text);
  diagnostics.push(...parsed);
  if (!source || source.value === null || source.value === undefined) return undefined;
  if (!isRecord(source.value)) {
    const { line, col } = locate(source, []);
    diagnostics.push({ severity: 'error', file: shown, line, col, message: `a vars file must be a map of variable names to values; found ${describe(source.value)}` });
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
