// The shell programs kvmnet sends live in .sh files beside the module that sends them, so that
// shellcheck reads them (test/unit/shellcheck.test.ts) and an editor shows them as shell.
//
// A module loads its program ONCE, at its own load: it calls shellProgram with the argument
// `new URL('./name.sh', import.meta.url)` written out in the call, always in exactly that form.
// tsc's output (dist/) reads the copy the build puts beside the .js (scripts/copy-shell.mjs); the
// bundle (scripts/bundle.mjs) replaces that very call by the file's text (esbuild's text loader),
// so the installed CLI reads no file for it.
import { readFileSync } from 'node:fs';
import { shellQuote } from '../connection/quote.js';

export function shellProgram(file: URL): string {
  return readFileSync(file, 'utf8');
}

/** A value put into a program: one shell word, or a list of words. */
export type ShellValue = string | number | readonly string[];

/**
 * A program with `@@NAME@@` placeholders (capitals, digits, `_`), split once. Each placeholder
 * stands where a shell word (or part of one) goes, never inside quotes: it is replaced by its
 * value through shellQuote (a list: each element quoted, joined by spaces). Every placeholder
 * needs a value and every value a placeholder. Lines that are only a shellcheck directive (a
 * placeholder can look like a constant to it, e.g. `for p in @@TAPS@@`) are not sent.
 */
export function shellTemplate(text: string): (values: Readonly<Record<string, ShellValue>>) => string {
  const parts = text.replace(/^[ \t]*# shellcheck [^\n]*\n/gm, '').split(/@@([A-Z][A-Z0-9_]*)@@/);
  const names = new Set(parts.filter((_, i) => i % 2 === 1));
  return (values) => {
    for (const k of Object.keys(values)) if (!names.has(k)) throw new Error(`shell program has no @@${k}@@`);
    let out = parts[0]!;
    for (let i = 1; i < parts.length; i += 2) {
      const v = values[parts[i]!];
      if (v === undefined) throw new Error(`shell program needs a value for @@${parts[i]}@@`);
      out += (typeof v === 'object' ? v.map(shellQuote).join(' ') : shellQuote(String(v))) + parts[i + 1]!;
    }
    return out;
  };
}
