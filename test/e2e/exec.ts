// Process helpers shared by the global setup (no vitest context there) and the tests.
import { spawn } from 'node:child_process';
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
