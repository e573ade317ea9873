// The layer boundaries ARCHITECTURE.md draws, checked on the imports (static, type-only and
// dynamic): a picture is drawn from the facts it is given, persistence does not depend on the task
// contract, and the neutral text helpers depend on nothing.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './support/cli.js';

const SRC = join(REPO, 'src');

/** `layer/module` of every import of another layer in src/<layer>/ (first path segment after `../`). */
function foreignImports(layer: string): string[] {
  const dir = join(SRC, layer);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .flatMap((f) => {
      const text = readFileSync(join(dir, f), 'utf8');
      return [...text.matchAll(/(?:from\s+|import\s*\(\s*)'\.\.\/([^']+)\.js'/g)].map((m) => `${relative(REPO, join(dir, f))} → ${m[1]}`);
    });
}

const forbidden = (layer: string, others: string[]) =>
  foreignImports(layer).filter((i) => others.some((o) => i.split(' → ')[1]!.startsWith(`${o}/`) || i.split(' → ')[1] === o));

describe('layer boundaries', () => {
  it('src/graph opens no connection and reads no inventory: it draws the facts it is given', () => {
    expect(foreignImports('graph').length).toBeGreaterThan(0);
    expect(forbidden('graph', ['connection', 'run', 'config', 'cli'])).toEqual([]);
  });
  it('src/persist does not import the task contract (task modules implement its types)', () => {
    // The ONE quoting function is allowed: every layer that builds shell text uses it.
    expect(forbidden('persist', ['tasks', 'run', 'cli', 'connection']).filter((i) => !i.endsWith('→ connection/quote'))).toEqual([]);
  });
  it('src/report opens no connection', () => {
    expect(forbidden('report', ['connection', 'cli'])).toEqual([]);
  });
  it('src/text imports no layer', () => {
    expect(foreignImports('text')).toEqual([]);
  });
});
