// An internal error is a bug in kvmnet: say so, say how to report it, and give a stack trace that
// points at the TypeScript sources. The bundle ships source maps (scripts/bundle.mjs); they are read
// here, only when a bug happens, so that no run pays for parsing them.
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { arch, platform } from 'node:os';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REDACTED = '<redacted>';
/** Options whose values are secrets or may carry them (-e k=v can hold a password). */
const SECRET_VALUE_OPTIONS = new Set(['-e', '--extra-vars']);
const SECRET_WORD = /pass(word|phrase)?|secret|token|credential|api[-_]?key/i;

/**
 * The command line with secrets removed: the values of -e/--extra-vars in all their spellings, and any
 * word that mentions a password, passphrase, secret or token.
 */
export function redactArgs(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (SECRET_VALUE_OPTIONS.has(arg)) {
      out.push(arg);
      if (i + 1 < args.length) out.push(REDACTED);
      i++;
      continue;
    }
    const long = /^(--[^=]+)=/.exec(arg);
    // A cluster of short flags: `-Ce k=v`, `-Cek=v` (-C, -D and -v take no value; -e takes the rest or the next word).
    const short = /^-([CDv]*)e(.*)$/.exec(arg);
    if (long && (SECRET_VALUE_OPTIONS.has(long[1]!) || SECRET_WORD.test(long[1]!))) out.push(`${long[1]}=${REDACTED}`);
    else if (short && short[2] !== '') out.push(`-${short[1]}e${REDACTED}`);
    else if (short) {
      out.push(arg);
      if (i + 1 < args.length) out.push(REDACTED);
      i++;
    } else if (SECRET_WORD.test(arg)) out.push(REDACTED);
    else out.push(arg);
  }
  return out;
}

/** Quotes a word for a POSIX shell when it needs it, so the reported command line can be pasted. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

const FRAME = /(file:\/\/[^\s()]+?\.c?js|\/[^\s()]+?\.c?js):(\d+):(\d+)/g;

/** Rewrites stack frames of bundled files to their TypeScript sources, using the shipped `.js.map` files. */
export function mapStack(stack: string, root: string = packageRoot()): string {
  const maps = new Map<string, { map: SourceMap; dir: string } | null>();
  const load = (file: string) => {
    if (!maps.has(file)) {
      try {
        const mapFile = `${file}.map`;
        maps.set(
          file,
          existsSync(mapFile) ? { map: new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8')) as SourceMapPayload), dir: dirname(mapFile) } : null,
        );
      } catch {
        maps.set(file, null);
      }
    }
    return maps.get(file)!;
  };
  return stack.replace(FRAME, (whole: string, where: string, line: string, col: string) => {
    const file = where.startsWith('file:') ? fileURLToPath(where) : where;
    const loaded = load(file);
    if (!loaded) return whole;
    const entry = loaded.map.findEntry(Number(line) - 1, Number(col) - 1) as { originalSource?: string; originalLine?: number; originalColumn?: number };
    if (entry.originalSource === undefined || entry.originalLine === undefined || entry.originalColumn === undefined) return whole;
    const source = entry.originalSource.startsWith('file:') ? fileURLToPath(entry.originalSource) : resolve(loaded.dir, entry.originalSource);
    return `${relative(root, source)}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  });
}

/** The package's directory: this module is in dist/bundle/kvmnet.cjs once bundled, src/cli/ in tests. */
function packageRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '../..');
}

export function formatInternalError(err: unknown, context: { version: string; args: readonly string[] }): string {
  const raw = err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : `thrown value: ${String(err)}`;
  let stack: string;
  try {
    stack = mapStack(raw);
  } catch {
    stack = raw;
  }
  return [
    'internal error: this is a bug in kvmnet, not a problem with your input or your hosts.',
    'Please report it (an issue in the kvmnet repository) with the lines below; secrets are removed from the command line,',
    'check that nothing else private is left.',
    `  kvmnet ${context.version} · node ${process.version} · ${platform()} ${arch()}`,
    `  command: kvmnet ${redactArgs(context.args).map(shellWord).join(' ')}`,
    ...stack.split('\n').map((l) => `  ${l}`),
  ].join('\n');
}
