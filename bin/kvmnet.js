#!/usr/bin/env node
// Runs the compiled CLI (dist/bundle/kvmnet.cjs, one CommonJS file; `npm ci` builds it through the
// `prepare` script). main() reports every error itself (a bug as an internal error, exit 70): only a
// bundle that cannot be loaded ends up here.
//
// The bundle is compiled with vm.Script and V8's code cache, kept next to it
// (kvmnet.cjs.<node version>-<arch>.v8cache): parsing and compiling 1.6 MB of JavaScript was the
// largest part of a no-op run's fixed cost (Node 20 has no compile cache for modules). The cache
// is written when it is missing or V8 rejected it (another Node, a rebuilt bundle), and once by a
// `run` that found only a cache made by another command: V8 stores every function
// compiled so far, so the cache of a run also holds the SSH, facts and planning code. Writing is
// best effort (a read-only install simply runs without it) and atomic (parallel runs).
//
// CommonJS (bin/package.json says so): Node starts a CommonJS entry without initialising its ES
// module loader: 2–4 ms less CPU per run, measured side by side (issue 33).
'use strict';
const { readFileSync, renameSync, unlinkSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { dirname, join } = require('node:path');
const { pathToFileURL } = require('node:url');
const vm = require('node:vm');

const bundle = join(__dirname, '..', 'dist', 'bundle', 'kvmnet.cjs');
const cacheFile = `${bundle}.${process.version}-${process.arch}.v8cache`;
// The command whose code is worth caching: a cache made by any other is replaced once by it. Only
// `run`: a cache made by `facts` lacks the planning code, and a run on it paid ~12 ms more CPU
// (measured side by side, issue 33); `facts` compiles a subset of a run's code.
const TRAINING = new Set(['run']);

function load() {
  let source;
  try {
    source = readFileSync(bundle, 'utf8');
  } catch (err) {
    if (err.code === 'ENOENT') {
      console.error('kvmnet: not built yet; run `npm run build` (npm ci does it for you)');
      process.exit(1);
    }
    throw err;
  }
  let cachedData;
  let madeBy = null;
  try {
    const raw = readFileSync(cacheFile);
    // First line: the command that produced it; then V8's bytes.
    const nl = raw.indexOf(10);
    madeBy = raw.subarray(0, nl).toString();
    cachedData = raw.subarray(nl + 1);
  } catch {
    // no cache yet
  }
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname, __kvmnetBundleUrl) {${source}\n})`, {
    filename: bundle,
    cachedData,
  });
  const command = process.argv[2];
  if (!cachedData || script.cachedDataRejected || (TRAINING.has(command) && !TRAINING.has(madeBy))) {
    // A run refused as invalid input (1), a bug (70) or an interrupted one compiled little: its
    // cache is kept, but a later run or facts replaces it.
    process.once('exit', (code) => saveCache(script, TRAINING.has(command) && code !== 1 && code !== 70 && code < 128 ? command : 'other'));
  }
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle), pathToFileURL(bundle).href);
  return module.exports;
}

function saveCache(script, madeBy) {
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, Buffer.concat([Buffer.from(`${madeBy}\n`), script.createCachedData()]));
    renameSync(tmp, cacheFile);
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing written
    }
  }
}

const loadFailed = (err) => {
  console.error(`internal error: kvmnet could not be loaded; please report it with this output\n${err && err.stack ? err.stack : err}`);
  process.exit(70);
};
let kvmnet;
try {
  kvmnet = load();
} catch (err) {
  loadFailed(err);
}
kvmnet.main(process.argv).catch(loadFailed);
