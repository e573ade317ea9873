// Bundles the compiled CLI (dist/cli/main.js, from tsc) into ONE CommonJS file, dist/bundle/kvmnet.cjs,
// with esbuild. bin/kvmnet.js compiles it with vm.Script and V8's code cache (see there): one file
// to read instead of ~400 modules to resolve, and, with the cache, almost nothing to parse or compile.
// Commands stay lazy: esbuild wraps each dynamically imported module in an init function that runs
// on first use. ssh2 is bundled as well (its loading was a fifth of a no-op run's start-up); its
// optional native binding stays a require() of the installed file.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

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
  minify: true,
  // Error classes report their own name (errors.ts sets `this.name = new.target.name`).
  keepNames: true,
  // Stack traces of internal errors point at src/*.ts: esbuild chains tsc's maps (dist/**/*.js.map).
  sourcemap: true,
  sourcesContent: false,
  external: ['@viz-js/viz', 'cpu-features'],
  // bin/kvmnet.js passes the bundle's file URL (the modules resolve templates/ and package.json from it).
  define: { 'import.meta.url': '__kvmnetBundleUrl' },
  plugins: [
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
