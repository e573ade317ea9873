// `-e` values as Ansible reads them: `k=v k2="v 2"` (strings), `@vars.yaml` (YAML/JSON file), `{"json": 1}` / `[…]` inline.
import { resolve } from 'node:path';
import type { Diagnostic } from '../errors.js';
import { displayPath } from './inventory-sources.js';
import { describe, isRecord, setOwn } from './inventory-util.js';
import { splitWords } from './ini.js';
import { locate, parseYaml, readInputFile } from './yaml-source.js';

/** Later `-e` arguments override earlier ones, key by key (shallow, like Ansible's default). */
export function parseExtraVars(args: string[], cwd: string): { vars: Record<string, unknown>; diagnostics: Diagnostic[] } {
  const vars: Record<string, unknown> = {};
  const diagnostics: Diagnostic[] = [];
  args.forEach((arg, i) => {
    const label = `<-e #${i + 1}>`;
    const parsed = parseOne(arg, label, cwd, diagnostics);
    if (parsed) for (const [k, v] of Object.entries(parsed)) setOwn(vars, k, v);
  });
  return { vars, diagnostics };
}

function parseOne(arg: string, label: string, cwd: string, diagnostics: Diagnostic[]): Record<string, unknown> | undefined {
  const error = (message: string, col?: number): undefined => {
    diagnostics.push({ severity: 'error', file: label, ...(col === undefined ? {} : { line: 1, col }), message });
    return undefined;
  };
  const text = arg.trim();
  if (text === '') return undefined;
  if (text.startsWith('@')) return fromFile(text.slice(1), cwd, diagnostics);
  if (text.startsWith('/') || text.startsWith('.')) return error(`'${text}' looks like a file name: write -e @${text} to read variables from it`);
  if (text.startsWith('{') || text.startsWith('[')) {
    const { source, diagnostics: d } = parseYaml(label, text);
    diagnostics.push(...d);
    if (!source) return undefined;
    if (!isRecord(source.value)) return error(`extra vars must be a map of variable names to values; found ${describe(source.value)}`, 1);
    return source.value;
  }
  // Values stay strings, as in Ansible: use the JSON or YAML form for numbers, booleans and lists.
  const { words, error: bad } = splitWords(arg, false);
  if (bad) return error(bad.message, bad.offset + 1);
  const out: Record<string, unknown> = {};
  let ok = true;
  for (const w of words) {
    const eq = w.value.indexOf('=');
    if (eq <= 0) {
      error(
        eq === 0
          ? `missing variable name before '=' in '${w.value}'`
          : `expected key=value, found '${w.value}' (or use -e @file.yaml or -e '{"key": "value"}')`,
        w.start + 1,
      );
      ok = false;
      continue;
    }
    setOwn(out, w.value.slice(0, eq), w.value.slice(eq + 1));
  }
  return ok ? out : undefined;
}

function fromFile(path: string, cwd: string, diagnostics: Diagnostic[]): Record<string, unknown> | undefined {
  const abs = resolve(cwd, path);
  const shown = displayPath(abs, cwd);
  if (path === '') {
    diagnostics.push({ severity: 'error', file: '<-e>', message: "'@' must be followed by a file name (-e @vars.yaml)" });
    return undefined;
  }
  const read = readInputFile(abs);
  diagnostics.push(...read.diagnostics.map((d) => ({ ...d, file: shown })));
  if (read.text === undefined) return undefined;
  const { source, diagnostics: d } = parseYaml(shown, read.text);
  diagnostics.push(...d);
  if (!source) return undefined;
  if (source.value === null || source.value === undefined) {
    diagnostics.push({ severity: 'warning', file: shown, message: 'extra vars file is empty' });
    return {};
  }
  if (!isRecord(source.value)) {
    diagnostics.push({
      severity: 'error',
      file: shown,
      ...locate(source, []),
      message: `extra vars file must be a map of variable names to values; found ${describe(source.value)}`,
    });
    return undefined;
  }
  return source.value;
}
