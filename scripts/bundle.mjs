// Bundles the compiled CLI (dist/cli/main.js, from tsc) into dist/bundle/ with esbuild: a few
// files instead of ~400 modules to resolve and compile cuts kvmnet's start-up time (--help, and
// every run) by about a third. Commands stay lazy: each dynamic import() becomes its own chunk.
// ssh2 stays in node_modules: it may load an optional native binding.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

const outdir = new URL('../dist/bundle/', import.meta.url).pathname;
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [new URL('../dist/cli/main.js', import.meta.url).pathname],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  // Error classes report their own name (errors.ts sets `this.name = new.target.name`).
  keepNames: true,
  // Stack traces of internal errors point at src/*.ts: esbuild chains tsc's maps (dist/**/*.js.map).
  sourcemap: true,
  sourcesContent: false,
  external: ['ssh2', 'cpu-features'],
  // CommonJS dependencies bundled into ESM still call require() for Node's built-ins.
  banner: { js: "import { createRequire as __kvmnetRequire } from 'node:module'; const require = __kvmnetRequire(import.meta.url);" },
  logLevel: 'warning',
});
