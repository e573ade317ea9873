// Process helpers for the benchmark: timed child processes (wall clock, CPU and peak RSS through
// /usr/bin/time), a small concurrency pool, statistics.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TIME = '/usr/bin/time';
const timeDir = mkdtempSync(join(tmpdir(), 'kvmnet-bench-time-'));
process.on('exit', () => rmSync(timeDir, { recursive: true, force: true }));
let timeSeq = 0;

/**
 * Runs argv under /usr/bin/time. Resolves (never rejects on a non-zero exit) with the output, the
 * wall time measured here (spawn to exit, so it includes the child's start-up), and the child's
 * CPU (user + sys, itself and every child it waited for) and peak RSS as reported by time(1).
 */
export function runTimed(argv, { input, env, cwd, timeoutMs = 30 * 60_000 } = {}) {
  const out = join(timeDir, `t${++timeSeq}`);
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(TIME, ['-f', '%e %U %S %M', '-o', out, '--', ...argv], {
      cwd,
      env: env ?? process.env,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const stdout = [];
    const stderr = [];
    child.stdout.on('data', (d) => stdout.push(d));
    child.stderr.on('data', (d) => stderr.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    if (input !== undefined) {
      child.stdin.on('error', () => {});
      child.stdin.end(input);
    }
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      let cpuMs = NaN;
      let maxRssKb = NaN;
      try {
        // With a non-zero exit, time(1) writes "Command exited with non-zero status N" first.
        const last = readFileSync(out, 'utf8').trim().split('\n').pop() ?? '';
        const [, user, sys, rss] = last.split(' ').map(Number);
        cpuMs = (user + sys) * 1000;
        maxRssKb = rss;
        rmSync(out, { force: true });
      } catch {
        // killed before time(1) could write: leave NaN
      }
      resolve({ code, signal, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), wallMs, cpuMs, maxRssKb });
    });
  });
}

/** Runs fn over items with at most `concurrency` at once; resolves with results in item order. */
export async function pool(items, concurrency, fn) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

export function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

export function commandExists(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** CPU (user + sys, ms) a live process has used so far, from /proc/PID/stat. */
export function procCpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15, in clock ticks (USER_HZ = 100 on Linux).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Peak and current RSS (kB) of a live process. */
export function procRssKb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const get = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { peak: get('VmHWM'), current: get('VmRSS') };
}

export const fmtS = (ms) => (Number.isFinite(ms) ? (ms / 1000).toFixed(2) : 'n/a');
export const fmtRatio = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : 'n/a');
