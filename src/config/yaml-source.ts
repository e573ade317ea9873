// YAML parsing that keeps positions, so every later problem can point at file:line:col.
import { closeSync, openSync, readSync } from 'node:fs';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { Diagnostic } from '../errors.js';
import { markFloat } from './inventory-util.js';
import { ANSIBLE_FLOAT, ansibleYamlTags } from './yaml11.js';

/** Inputs larger than this are refused before parsing: nobody writes a 10 MB playbook by hand. */
export const MAX_INPUT_BYTES = 2 * 1024 * 1024;
/** Alias expansions allowed per document (a "billion laughs" document needs millions). */
export const MAX_ALIAS_COUNT = 1000;

export type PathSegment = string | number;

export interface YamlSource {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
  /** The plain JS value; undefined when the document could not be parsed. */
  value: unknown;
}

export function readInputFile(file: string): { text?: string; diagnostics: Diagnostic[] } {
  try {
    const bytes = readAtMost(file, MAX_INPUT_BYTES + 1);
    if (bytes.length > MAX_INPUT_BYTES) {
      return { diagnostics: [{ severity: 'error', file, message: `input is larger than the ${MAX_INPUT_BYTES}-byte limit` }] };
    }
    return { text: bytes.toString('utf8'), diagnostics: [] };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, expected a file' : String((err as Error).message);
    return { diagnostics: [{ severity: 'error', file, message: `cannot read: ${why}` }] };
  }
}

/** Reads up to `limit` bytes. Reading by size would hang on `/dev/zero` (size 0, endless) and miss a pipe's text. */
function readAtMost(file: string, limit: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    while (total < limit) {
      const chunk = Buffer.allocUnsafe(Math.min(65536, limit - total));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

/**
 * `ansible`: read scalars as Ansible does (YAML 1.1 through PyYAML: `yes` is true, `0022` is 18, `1e3` a string), for
 * inventories and vars files; a value whose 1.1 reading is surprising (a MAC address as a sexagesimal number) is a
 * warning. Without it, YAML 1.2 (playbooks).
 */
export function parseYaml(file: string, text: string, opts: { ansible?: boolean; maxBytes?: number } = {}): { source?: YamlSource; diagnostics: Diagnostic[] } {
  const limit = opts.maxBytes ?? MAX_INPUT_BYTES;
  if (Buffer.byteLength(text) > limit) {
    return { diagnostics: [{ severity: 'error', file, message: `input is larger than the ${limit}-byte limit` }] };
  }
  const lines = new LineCounter();
  // merge: Ansible's YAML 1.1 allows `<<: *defaults`.
  const doc = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
    strict: true,
    merge: true,
    ...(opts.ansible ? { version: '1.1' as const, customTags: ansibleYamlTags() } : {}),
  });
  const diagnostics: Diagnostic[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    // A duplicate key with no value can be reported at the end of the previous line: skip to the key.
    let at = e.pos[0];
    if (e.code === 'DUPLICATE_KEY') while (at < text.length && /\s/.test(text[at]!)) at++;
    // The parser notices an unclosed [ { or quote where it gives up: point at where it opens.
    const opened = unclosedAt(text, at, e.message);
    if (opened) at = opened.at;
    const { line, col } = lines.linePos(at);
    const message =
      e.code === 'DUPLICATE_KEY'
        ? `duplicate key: ${duplicateKeyName(text, at)}`
        : opened
          ? `YAML syntax error: ${opened.what} opened here is never closed`
          : e.code === 'TAG_RESOLVE_FAILED' || /vault-encrypted/.test(e.message)
            ? firstLine(e.message)
            : `YAML syntax error: ${firstLine(e.message)}`;
    diagnostics.push({ severity: doc.errors.includes(e) ? 'error' : 'warning', file, line, col, message });
  }
  if (doc.errors.length > 0) return { diagnostics };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    const msg = (err as Error).message;
    const message =
      /alias/i.test(msg) && /count|resource|exhaust/i.test(msg)
        ? `too many YAML alias expansions (limit ${MAX_ALIAS_COUNT}): refusing a document that expands exponentially`
        : `YAML error: ${firstLine(msg)}`;
    return { diagnostics: [...diagnostics, { severity: 'error', file, line: 1, col: 1, message }] };
  }
  if (opts.ansible) {
    const found = markAnsibleScalars(doc, value, lines);
    diagnostics.push(...found.map((d) => ({ ...d, file })));
    if (found.some((d) => d.severity === 'error')) return { diagnostics };
  }
  return { source: { file, doc, lines, value }, diagnostics };
}

/**
 * Walks the parsed nodes beside their JS values: marks integral floats (`3.0`, which Ansible prints as 3.0); warns
 * where the YAML 1.1 reading is surprising (a MAC address or a time read as a base-60 number, as Ansible does);
 * refuses keys that are not strings (`0:`, `yes:`), which Ansible keeps as numbers or booleans and kvmnet cannot.
 */
function markAnsibleScalars(doc: Document.Parsed, js: unknown, lines: LineCounter): Array<Omit<Diagnostic, 'file'>> {
  const node: unknown = doc.contents;
  const found: Array<Omit<Diagnostic, 'file'>> = [];
  const at = (n: { range?: [number, number, number] | null }): { line: number; col: number } => lines.linePos(n.range?.[0] ?? 0);
  const todo: Array<{ node: unknown; js: unknown }> = [{ node, js }];
  while (todo.length > 0) {
    const { node: n, js: v } = todo.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    const visit = (child: unknown, key: string): void => {
      if (isScalar(child)) {
        if (child.type !== 'PLAIN' || typeof child.value !== 'number') return;
        const source = String(child.source ?? '');
        if (Number.isInteger(child.value) && ANSIBLE_FLOAT.test(source)) markFloat(v, key);
        if (source.includes(':')) {
          found.push({
            severity: 'warning',
            ...at(child),
            message: `${source} is the number ${String(child.value)} in YAML 1.1 (base 60), as Ansible reads it: quote it ('${source}') if it is meant as text, like a MAC address or a time`,
          });
        }
      } else if (isMap(child) || isSeq(child)) todo.push({ node: child, js: (v as Record<string, unknown>)[key] });
    };
    if (isMap(n) && !Array.isArray(v)) {
      const merges: unknown[] = [];
      const own = new Set<string>();
      for (const pair of n.items) {
        if (!isPair(pair) || !isScalar(pair.key)) continue;
        const k = pair.key.value;
        // `<<: *defaults` / `<<: [*a, *b]`: merged as PyYAML does (own keys win, then the earlier map); see below.
        if (isMergeKey(k)) {
          const from = resolved(doc, pair.value);
          merges.push(...(isSeq(from) ? from.items.map((i) => resolved(doc, i)) : [from]));
          continue;
        }
        if (typeof k !== 'string') {
          const shown = String(pair.key.source ?? k);
          found.push({
            severity: 'error',
            ...at(pair.key),
            message: `the key ${shown} is a ${k === null ? 'null' : typeof k}, not a string: Ansible keeps such keys as they are and kvmnet cannot; quote it ('${shown}')`,
          });
          continue;
        }
        own.add(k);
        visit(pair.value, k);
      }
      // The merged values are copies in the JS value: mark them (floats, nested maps) where they landed.
      for (const m of merges) {
        if (!isMap(m)) continue;
        for (const pair of m.items) {
          if (!isPair(pair) || !isScalar(pair.key) || typeof pair.key.value !== 'string' || own.has(pair.key.value)) continue;
          own.add(pair.key.value);
          visit(pair.value, pair.key.value);
        }
      }
    } else if (isSeq(n) && Array.isArray(v)) {
      n.items.forEach((item, i) => visit(item, String(i)));
    }
  }
  return found;
}

function isMergeKey(k: unknown): boolean {
  return typeof k === 'symbol' && k.description === '<<';
}

function resolved(doc: Document.Parsed, node: unknown): unknown {
  return isAlias(node) ? node.resolve(doc) : node;
}

/**
 * For "…must … end with a ]" / "}" and "Missing closing "quote" errors: the offset of the
 * innermost `[`, `{` or quote still open at `pos`, found by scanning the text up to it.
 */
export function unclosedAt(text: string, pos: number, message: string): { at: number; what: string } | undefined {
  const want = /end with a \]/.test(message)
    ? '['
    : /end with a \}/.test(message)
      ? '{'
      : /Missing closing "quote/.test(message)
        ? '"'
        : /Missing closing 'quote/.test(message)
          ? "'"
          : undefined;
  if (!want) return undefined;
  const open: Array<{ ch: string; at: number }> = [];
  let quote: { ch: string; at: number } | undefined;
  for (let i = 0; i < Math.min(pos, text.length); i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === '\\' && quote.ch === '"') i++;
      else if (ch === quote.ch) quote = undefined;
      continue;
    }
    if (ch === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    // A quote starts a scalar only where a value or a flow item can start.
    if ((ch === '"' || ch === "'") && (i === 0 || /[\s:,[{]/.test(text[i - 1]!))) quote = { ch, at: i };
    else if (ch === '[' || ch === '{') open.push({ ch, at: i });
    else if ((ch === ']' || ch === '}') && open.length) open.pop();
  }
  if (want === '"' || want === "'") return quote?.ch === want ? { at: quote.at, what: `the quoted string (${want})` } : undefined;
  const hit = [...open].reverse().find((o) => o.ch === want);
  return hit ? { at: hit.at, what: want === '[' ? "the flow sequence '['" : "the flow mapping '{'" } : undefined;
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

function duplicateKeyName(text: string, at: number): string {
  // The error points at the start of the repeated key; read the key from there.
  const raw = /^("[^"]*"|'[^']*'|[^:#\n]+?)\s*:/.exec(text.slice(at))?.[1]?.replace(/^["']|["']$/g, '');
  return raw ? `'${raw}' appears twice in the same mapping` : 'a key appears twice in the same mapping';
}

/** Finds the node at a path; falls back to the deepest existing ancestor. */
function nodeAt(doc: Document.Parsed, path: readonly PathSegment[], wantKey: boolean): Node | undefined {
  let node: unknown = doc.contents;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return node;
      if (last && wantKey) return pair.key as Node;
      node = pair.value ?? pair.key;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
      node = node.items[seg];
    } else {
      return node as Node;
    }
  }
  return node as Node;
}

/** line/col (1-based) of the value at `path`, or of its key when `key` is set (for unknown keys). */
export function locate(source: YamlSource, path: readonly PathSegment[], key = false): { line: number; col: number } {
  const node = nodeAt(source.doc, path, key);
  const offset = node?.range?.[0] ?? 0;
  return source.lines.linePos(offset);
}
