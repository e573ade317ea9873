// Bundles the compiled CLI (dist/cli/main.js, from tsc) into ONE CommonJS file, dist/bundle/kvmnet.cjs,
// with esbuild. bin/kvmnet.js compiles it with vm.Script and V8's code cache (see there): one file
// to read instead of ~400 modules to resolve, and, with the cache, almost nothing to parse or compile.
// Commands stay lazy: esbuild wraps each dynamically imported module in an init function that runs
// on first use. ssh2 is bundled as well (its loading was a fifth of a no-op run's start-up); its
// optional native binding stays a require() of the installed file.
import { build } from 'esbuild';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const outdir = new URL('../dist/bundle/', import.meta.url).pathname;
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [new URL('../dist/cli/main.js', import.meta.url).pathname],
  outfile: `${outdir}kvmnet.cjs`,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // import() of a bundled module becomes a lazy init; of an external one (the 1.5 MB Graphviz
  // build, loaded only by `graph` and reports), a require() of its CommonJS build.
  supported: { 'dynamic-import': false },
  // Identifiers keep their names, so error classes report their own (errors.ts sets `this.name =
  // new.target.name`; esbuild renames only on a clash, and the check below refuses one). Not
  // keepNames: it redefines `name` on every function it creates, and each closure made per host
  // then carried a 256-byte property array (~46 per host: 115 MB at 10,000 hosts).
  minifyWhitespace: true,
  minifySyntax: true,
  // Stack traces of internal errors point at src/*.ts: esbuild chains tsc's maps (dist/**/*.js.map).
  sourcemap: true,
  sourcesContent: false,
  external: ['@viz-js/viz', 'cpu-features'],
  // bin/kvmnet.js passes the bundle's file URL (the modules resolve templates/ and package.json from it).
  define: { 'import.meta.url': '__kvmnetBundleUrl' },
  plugins: [
    {
      // Handlebars builds every compiled template through source-map's SourceNode when it can load
      // it, for source maps kvmnet never asks for; without it, it uses its own light shim (the
      // template's first compile, before the first host is contacted, took ~12 ms more with it).
      name: 'handlebars-without-source-map',
      setup(b) {
        b.onResolve({ filter: /^source-map$/ }, (a) => (a.importer.includes('/handlebars/') ? { path: 'source-map', namespace: 'absent' } : undefined));
        b.onLoad({ filter: /.*/, namespace: 'absent' }, () => ({ contents: "throw new Error('source-map is not bundled');", loader: 'js' }));
      },
    },
    {
      // ssh2's native crypto binding (built by its install script when a compiler was there): loaded
      // from node_modules at run time, ssh2 falls back to Node's crypto when it is missing.
      name: 'native-addons-stay-in-node-modules',
      setup(b) {
        b.onResolve({ filter: /\.node$/ }, (a) => {
          const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(`${a.resolveDir}/${a.path}`.replace(/\/\.\//g, '/'));
          if (!pkg) return { errors: [{ text: `native addon outside node_modules: ${a.path}` }] };
          return { path: `${pkg[1]}/${pkg[2]}`, external: true };
        });
      },
    },
  ],
  logLevel: 'warning',
});

// A class of ours renamed by esbuild (two modules with the same class name) would report the wrong
// name: refuse to ship that.
// (Commander's own two error classes are renamed, CommanderError2 and InvalidArgumentError2: kvmnet
// reads their `code`, never their name.)
const ours = new Set();
const walk = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) walk(join(dir, e.name));
    else if (e.name.endsWith('.ts')) for (const m of readFileSync(join(dir, e.name), 'utf8').matchAll(/\bclass (\w+) extends/g)) ours.add(m[1]);
  }
};
walk(new URL('../src/', import.meta.url).pathname);
const bundled = readFileSync(`${outdir}kvmnet.cjs`, 'utf8');
const renamed = [...bundled.matchAll(/\b(\w+?)(\d+)\s*=\s*class\b|\bclass (\w+?)(\d+)\b/g)].filter((m) => ours.has(m[1] ?? m[3])).map((m) => m[0]);
if (renamed.length) throw new Error(`esbuild renamed error classes (their messages would say so): ${renamed.join(', ')}`);
