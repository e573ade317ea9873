// Copies the shell programs (src/**/*.sh) beside tsc's output in dist/, where the modules that send
// them read them (src/shell/program.ts). The bundle inlines them instead (scripts/bundle.mjs).
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const src = new URL('../src/', import.meta.url).pathname;
const dist = new URL('../dist/', import.meta.url).pathname;

/** Every .sh file under src/, as paths relative to it. */
export function shellFiles(dir = src) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return shellFiles(p);
    return e.name.endsWith('.sh') ? [relative(src, p)] : [];
  });
}

for (const f of shellFiles()) {
  mkdirSync(dirname(join(dist, f)), { recursive: true });
  copyFileSync(join(src, f), join(dist, f));
}
