// The local transport: `sh -c COMMAND` on the controller itself, with the same become and timeout semantics as SSH.
import { spawn } from 'node:child_process';
import { userInfo } from 'node:os';
import { BecomeError, CommandTimeoutError, UnreachableError } from '../errors.js';
import { BecomeWatch } from './become-watch.js';
import { CommandSession, commandSummary, execTimeoutMs } from './command-session.js';
import type { Connection, ConnectionSettings, ConnectionStats, ExecOptions, ExecResult } from './types.js';

// After SIGTERM on timeout, how long the process group gets before SIGKILL.
const KILL_GRACE_MS = 2000;

export function connectLocal(
  settings: ConnectionSettings,
  hooks: { onWarning?(message: string): void; onBecomeWarning?(message: string): void } = {},
): Connection {
  const label = `${settings.name} (local)`;
  // No handshake happens, but the one "connection" is there from the start; execs are counted as for SSH.
  const stats: ConnectionStats = { connections: 1, execs: 0 };
  let closed = false;

  const becomeWatch = new BecomeWatch({
    name: settings.name,
    runPlain: (command, timeoutMs) => exec(command, { timeoutMs }, true),
    warn: (message) => (hooks.onBecomeWarning ?? hooks.onWarning)?.(message),
  });
  // `plain`: without become, whatever the settings say (the slow-sudo check).
  const exec = (command: string, options: ExecOptions = {}, plain = false): Promise<ExecResult> => {
    if (closed) return Promise.reject(new Error(`${label}: exec after close()`));
    let becomeCheck: Promise<void> | undefined;
    const session = new CommandSession(command, {
      become: settings.become && !plain,
      onBecomeStarted: (ms, said) => void (becomeCheck = becomeWatch.observe(ms, said)),
      ...(settings.becomePassword !== undefined && { becomePassword: settings.becomePassword }),
      isRoot: process.getuid?.() === 0,
      ...(options.stdin !== undefined && { stdin: options.stdin }),
      ...(options.onStdout && { onStdout: options.onStdout }),
    });
    const timeoutMs = execTimeoutMs(options, settings.commandTimeoutMs);
    return new Promise<ExecResult>((resolve, reject) => {
      // Its own process group, so that a timeout stops the command's children too.
      const child = spawn('sh', ['-c', session.command], { detached: true, stdio: 'pipe' });
      stats.execs += 1;
      let settled = false;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outcome();
      };
      const killGroup = (signal: NodeJS.Signals) => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, signal);
        } catch {
          // Already gone.
        }
      };
      const timer = setTimeout(() => {
        settle(() => reject(new CommandTimeoutError(`${label}: command timed out after ${timeoutMs} ms: ${commandSummary(command)}`)));
        killGroup('SIGTERM');
        setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS).unref();
      }, timeoutMs);

      child.on('error', (error) => settle(() => reject(new UnreachableError(`${label}: cannot run sh: ${error.message}`, { cause: error }))));
      // The command may exit without reading its stdin: that EPIPE is not an error of ours.
      child.stdin.on('error', () => {});
      child.stdout.setEncoding('utf8').on('data', (text: string) => session.onStdout(text));
      child.stderr.setEncoding('utf8').on('data', (text: string) => session.onStderr(text));
      child.on('close', (code, signal) => {
        const refused = code !== 0 ? session.becomeFailure() : undefined;
        if (refused) return settle(() => reject(new BecomeError(`${label}: ${refused}`)));
        const result = { ...session.result(), exitCode: code, ...(signal && { signal }) };
        // The slow-sudo warning goes out before the result is used (the timeout still applies).
        void (becomeCheck ?? Promise.resolve()).then(() => settle(() => resolve(result)));
      });
      session.start({ write: (data) => child.stdin.write(data), end: () => child.stdin.end() });
    });
  };

  return {
    exec: (command, options) => exec(command, options),
    stats,
    description: `${userInfo().username}@local`,
    close: async () => {
      closed = true;
    },
  };
}
