#!/usr/bin/env node
// Captures the simulator's fixtures from a REAL lab host: the output of kvmnet's facts script
// (src/run/host-facts.ts HOST_FACTS_SCRIPT, as built in dist/) on a fresh host and on a converged one.
//
//   node bench/sim/capture.js --dir LABDIR [--host hv1]
//
// The host is reset to fresh (bench/reset.sh), read, converged with `kvmnet run bench/both.yaml
// --limit HOST`, read again. `npm run bench -- --capture` does the same on the bench's own lab.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR, REPO_DIR, inHost, labApi } from '../lib/lab.js';
import { KVMNET, sshArgv } from '../lib/contenders.js';
import { sha256 } from './fleet.js';

export async function captureFixtures({ dir, host = 'hv1', log = console.log }) {
  const lab = await labApi();
  const { HOST_FACTS_SCRIPT: FACTS_SCRIPT } = await import(join(REPO_DIR, 'dist', 'run', 'host-facts.js'));
  const state = lab.readLabState(dir);
  const paths = lab.labPaths(dir);
  const h = state.hosts.find((x) => x.name === host);
  if (!h) throw new Error(`no host ${host} in ${dir}`);
  const { readFileSync } = await import('node:fs');
  const reset = readFileSync(join(BENCH_DIR, 'reset.sh'), 'utf8');
  const gitRev = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_DIR, encoding: 'utf8' }).stdout.trim();
  const capture = (name) => {
    // The script as the exec's command, exactly as kvmnet sends it (minus its PID announcement line).
    const r = spawnSync(sshArgv(paths, h.address, FACTS_SCRIPT)[0], sshArgv(paths, h.address, FACTS_SCRIPT).slice(1), { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`facts script on ${host} exited ${r.status}: ${r.stderr}`);
    const fixture = {
      comment: `Output of kvmnet's facts script (src/facts/script.ts) on a ${name} lab host, captured by bench/sim/capture.js. Do not edit by hand.`,
      capturedAt: new Date().toISOString(),
      capturedFrom: `kvmnet lab host ${host} (${h.address}), kvmnet ${gitRev.slice(0, 12)}`,
      factsScriptSha256: sha256(FACTS_SCRIPT),
      exitCode: r.status,
      stdout: r.stdout,
      stderr: r.stderr,
    };
    writeFileSync(join(BENCH_DIR, 'sim', 'fixtures', `${name}.json`), `${JSON.stringify(fixture, null, 2)}\n`);
    log(`captured bench/sim/fixtures/${name}.json (${r.stdout.length} bytes)`);
  };
  const rr = await inHost(lab, state, host, reset);
  if (rr.code !== 0) throw new Error(`reset of ${host} failed: ${rr.stderr}`);
  capture('fresh');
  const run = spawnSync('node', [KVMNET, 'run', join(BENCH_DIR, 'both.yaml'), '-i', paths.inventory, '--limit', host, '--output', 'json'], {
    cwd: REPO_DIR,
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`converging ${host} failed (exit ${run.status}): ${run.stdout.slice(-500)} ${run.stderr}`);
  capture('converged');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const a = process.argv.slice(2);
  const dir = a[a.indexOf('--dir') + 1];
  const host = a.includes('--host') ? a[a.indexOf('--host') + 1] : 'hv1';
  if (!a.includes('--dir') || !dir) {
    console.error('usage: node bench/sim/capture.js --dir LABDIR [--host hv1]');
    process.exit(2);
  }
  captureFixtures({ dir, host }).catch((e) => {
    console.error(`capture failed: ${e.message}`);
    process.exit(1);
  });
}
