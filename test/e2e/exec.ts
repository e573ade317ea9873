// Process helpers shared by the global setup (no vitest context there) and the tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const KVMNET_BIN = join(REPO, 'bin', 'kvmnet.js');

export interface Result {
  /** null when the process was killed (timeout). */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string;
  timeoutMs?: number;
}

export function spawnCollect(argv: readonly string[], opts: SpawnOptions = {}): Promise<Result> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error('spawnCollect: empty argv');
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? REPO, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timeoutMs = opts.timeoutMs ?? 120_000;
    const timer = setTimeout(() => {
      stderr += `\n[e2e] killed after ${timeoutMs} ms: ${argv.join(' ')}`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/**
 * `node bin/kvmnet.js ARGS` from the repo root, as CI would run it (CI=true: plain output, no
 * live view; stdout is a pipe, so no colours either).
 */
export function kvmnet(args: readonly string[], opts: SpawnOptions = {}): Promise<Result> {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true', ...opts.env };
  delete env.FORCE_COLOR;
  return spawnCollect([process.execPath, KVMNET_BIN, ...args], { ...opts, env });
}

/** For assertion messages: everything a failed command said. */
export function show(r: Result): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

// ---- kvmnet as a child process ------------------------------------------------------------------

export interface RunningKvmnet {
  child: ChildProcess;
  pid: number;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when the process is gone (code null when killed by a signal). */
  done: Promise<Result & { signal: NodeJS.Signals | null; endedAt: number }>;
  exited(): boolean;
}

/** `node bin/kvmnet.js ARGS` (CI=true, plain output) that the test can signal; killed after timeoutMs. */
export function spawnKvmnet(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): RunningKvmnet {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true', ...opts.env };
  delete env.FORCE_COLOR;
  const child = spawn(process.execPath, [KVMNET_BIN, ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let exited = false;
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const done = new Promise<Result & { signal: NodeJS.Signals | null; endedAt: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      stderr += `\n[e2e] killed after ${timeoutMs} ms`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      exited = true;
      resolve({ code, signal, stdout, stderr, endedAt: Date.now() });
    });
  });
  if (child.pid === undefined) throw new Error('kvmnet did not start');
  return { child, pid: child.pid, stdout: () => stdout, stderr: () => stderr, done, exited: () => exited };
}
