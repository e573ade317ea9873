#!/usr/bin/env node
// Runs the compiled CLI; `npm ci` builds it through the `prepare` script.
import('../dist/bundle/main.js').then((m) => m.main(process.argv)).catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/bundle/main.js')) {
    console.error('kvmnet: not built yet; run `npm run build` (npm ci does it for you)');
    process.exit(1);
  }
  throw err;
});
