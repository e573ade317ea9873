import { spawn } from 'node:child_process';
import { LabError } from '../errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  /** null when the process was killed by a signal (e.g. the timeout). */
  exitCode: number | null;
}

export interface RunOptions {
  /** Written to stdin, then stdin is closed. */
  input?: string;
  timeoutMs?: number;
  /** Reject with LabError on a non-zero exit (default true). */
  check?: boolean;
  /** Added to LAB_ENV. */
  env?: NodeJS.ProcessEnv;
}

// root's PATH is not always set up with the sbin directories (sudo -E, cron, IDEs); the lab's
// tools (ip, sshd, libvirtd) live there, and the daemons must not inherit the caller's env.
export const LAB_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const LAB_ENV: NodeJS.ProcessEnv = { PATH: LAB_PATH, LANG: 'C.UTF-8', HOME: '/root' };

export function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new LabError('run: empty command');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...LAB_ENV, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 30_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new LabError(`cannot run ${cmd}: ${err.message}`, { cause: err }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const result = { stdout, stderr, exitCode: code };
      if (timedOut) {
        reject(new LabError(`${describe(argv)} timed out after ${options.timeoutMs ?? 30_000} ms`));
      } else if (code !== 0 && options.check !== false) {
        reject(new LabError(`${describe(argv)} failed (exit ${code}): ${stderr.trim() || stdout.trim()}`));
      } else {
        resolve(result);
      }
    });
    child.stdin.on('error', () => {}); // the command may exit without reading its input
    child.stdin.end(options.input ?? '');
  });
}

function describe(argv: readonly string[]): string {
  const text = argv.join(' ');
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
