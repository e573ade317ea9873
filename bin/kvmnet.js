#!/usr/bin/env node
// Runs the compiled CLI; `npm ci` builds it through the `prepare` script. main() reports every error
// itself (a bug as an internal error, exit 70): only a bundle that cannot be loaded ends up here.
import('../dist/bundle/main.js').then((m) => m.main(process.argv)).catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/bundle/main.js')) {
    console.error('kvmnet: not built yet; run `npm run build` (npm ci does it for you)');
    process.exit(1);
  }
  console.error(`internal error: kvmnet could not be loaded; please report it with this output\n${err && err.stack ? err.stack : err}`);
  process.exit(70);
});
