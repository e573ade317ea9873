// Runs the built CLI (bin/kvmnet.js → dist/bundle) as a subprocess, the way a user or CI does.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const KVMNET_BIN = join(REPO, 'bin', 'kvmnet.js');

export function assertBuilt(): void {
  if (!existsSync(join(REPO, 'dist', 'bundle', 'kvmnet.cjs'))) throw new Error('dist/bundle/kvmnet.cjs is missing: run `npm run build` first');
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Extra node flags, e.g. ['--import', preload]. */
  nodeArgs?: string[];
  timeoutMs?: number;
}

export function runCli(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  // Plain output, no colours, no SSH agent or passphrase from the developer's session.
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true', NO_COLOR: '1', ...opts.env };
  delete env.SSH_AUTH_SOCK;
  delete env.KVMNET_SSH_PASSPHRASE;
  delete env.KVMNET_INVENTORY;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), KVMNET_BIN, ...args], { cwd: opts.cwd ?? REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

/** Everything a command said, for assertion messages. */
export const show = (args: readonly string[], r: CliResult): string =>
  `kvmnet ${JSON.stringify(args)} → ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

/** Every code in the first column of the "Exit codes" table (docs/exit-codes.md). */
export function readmeExitCodes(): number[] {
  const readme = readFileSync(join(REPO, 'docs', 'exit-codes.md'), 'utf8');
  const section = /## Exit codes\n([\s\S]*?)\n(?=#)/.exec(readme)?.[1];
  if (!section) throw new Error('docs/exit-codes.md has no "## Exit codes" section');
  const rows = section.split('\n').filter((l) => /^\| *\d/.test(l));
  return rows.flatMap((row) => (row.split('|')[1]!.match(/\d+/g) ?? []).map(Number)).sort((a, b) => a - b);
}

/**
 * A TCP listener that counts connections: a host kvmnet must not contact when it refuses its input. It
 * answers with an SSH-1 banner, which the client rejects at once without retrying (a bare close would be
 * retried with backoff and make every valid run in a test last seconds).
 */
export async function connectionCounter(): Promise<{ port: number; count: () => number; close: () => Promise<void> }> {
  let n = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    n++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.end('SSH-1.0-kvmnet-test-listener\r\n', () => socket.destroy());
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    count: () => n,
    close: () =>
      new Promise((ok) => {
        server.close(() => ok());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
