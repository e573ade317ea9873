// src/cli/main.ts imports the command modules (lazily); nothing may import main.ts back, not even for
// a type: shared types live in src/cli/flags.ts.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './support/cli.js';

const SRC = join(REPO, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every relative import of a module: static, type-only and dynamic `import()`. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*)'(\.[^']+)\.js'/g)].map((m) => m[1]!);
  return specs.map((s) => resolve(dirname(file), `${s}.ts`));
}

const graph = new Map(sourceFiles(SRC).map((f) => [f, importsOf(f)]));

/** A cycle through `start`, as a list of files, or undefined. */
function cycleThrough(start: string): string[] | undefined {
  const stack: string[] = [];
  const seen = new Set<string>();
  const visit = (file: string): string[] | undefined => {
    for (const next of graph.get(file) ?? []) {
      if (next === start) return [...stack, file, next];
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(file);
      const found = visit(next);
      stack.pop();
      if (found) return found;
    }
    return undefined;
  };
  return visit(start);
}

describe('src/cli has no import cycles', () => {
  it.each(sourceFiles(join(SRC, 'cli')).map((f) => [relative(REPO, f), f]))('%s', (_name, file) => {
    expect(cycleThrough(file)?.map((f) => relative(REPO, f))).toBeUndefined();
  });
});
