// One command's life on any transport: the become (sudo) wrapping, feeding stdin, collecting output.
import { randomBytes } from 'node:crypto';
import { shellQuote } from './quote.js';

export interface SessionOptions {
  become: boolean;
  becomePassword?: string;
  /** Already root: sudo is not needed. */
  isRoot: boolean;
  stdin?: string;
  /** Sees stdout as it arrives. */
  onStdout?: (text: string) => void;
  /**
   * Have the remote shell report its PID (= its process group, as sshd makes every session a process group), so
   * that a timed-out command can be killed from another channel: sshd ignores "signal" requests for root logins.
   */
  announcePid?: boolean;
}

/** What a transport gives the session once the process runs. */
export interface ProcessInput {
  write(data: string): void;
  end(): void;
}

// sudo resets the environment, and the facts script finds the SSH path (the session's own address) in
// SSH_CONNECTION: without it every change under become would look unrelated to the session and go unguarded.
const KEEP_SSH_CONNECTION = 'env "SSH_CONNECTION=${SSH_CONNECTION:-}"';

interface SudoGate {
  prompt: string;
  marker: string;
  promptsSeen: number;
  open: boolean;
}

/**
 * With a sudo password, the password is written only when sudo's own (random) prompt shows up on stderr, and the
 * caller's stdin only once a (random) marker printed by the command itself shows sudo let it through. Writing the
 * password blindly would hand it to the command's stdin whenever sudo does not ask (NOPASSWD, cached credentials).
 */
export class CommandSession {
  readonly command: string;
  /** The remote shell's PID, once announced. */
  pid: number | undefined;
  private stdout = '';
  private stderr = '';
  /** Stderr held back until the PID line has been seen. */
  private beforePid = '';
  /** Stderr held back while the sudo gate is closed. */
  private gated = '';
  private input: ProcessInput | undefined;
  private readonly gate: SudoGate | undefined;
  private readonly pidLine: RegExp | undefined;

  constructor(
    command: string,
    private readonly options: SessionOptions,
  ) {
    const nonce = randomBytes(8).toString('hex');
    let wrapped = command;
    if (options.become && !options.isRoot && options.becomePassword === undefined) {
      wrapped = `sudo -n -- ${KEEP_SSH_CONNECTION} sh -c ${shellQuote(command)}`;
    } else if (options.become && !options.isRoot) {
      const [prompt, marker] = [`[kvmnet-sudo-${nonce}]`, `kvmnet-become-ok-${nonce}`];
      this.gate = { prompt, marker, promptsSeen: 0, open: false };
      const script = `printf '%s\\n' ${this.gate.marker} >&2\n${command}`;
      wrapped = `sudo -S -p ${shellQuote(this.gate.prompt)} -- ${KEEP_SSH_CONNECTION} sh -c ${shellQuote(script)}`;
    }
    if (options.announcePid) {
      this.pidLine = new RegExp(`kvmnet-pid-${nonce} (\\d+)\\n`);
      wrapped = `printf '%s %s\\n' kvmnet-pid-${nonce} $$ >&2\n${wrapped}`;
    }
    this.command = wrapped;
  }

  start(input: ProcessInput): void {
    this.input = input;
    if (!this.gate) this.sendStdin();
  }

  onStdout(text: string): void {
    this.stdout += text;
    this.options.onStdout?.(text);
  }

  onStderr(text: string): void {
    if (this.pidLine && this.pid === undefined) {
      this.beforePid += text;
      const match = this.pidLine.exec(this.beforePid);
      if (!match) return;
      this.pid = Number(match[1]);
      text = this.beforePid.replace(this.pidLine, '');
      this.beforePid = '';
    }
    if (!this.gate || this.gate.open) {
      this.stderr += text;
      return;
    }
    this.gated += text;
    this.advanceGate(this.gate);
  }

  result(): { stdout: string; stderr: string } {
    return { stdout: this.stdout, stderr: this.stderr + this.gated + this.beforePid };
  }

  private advanceGate(gate: SudoGate): void {
    while (this.gated.includes(gate.prompt)) {
      this.gated = this.gated.replace(gate.prompt, '');
      gate.promptsSeen += 1;
      // A second prompt means the password was wrong: end stdin so sudo fails instead of waiting.
      if (gate.promptsSeen === 1) this.input?.write(`${this.options.becomePassword}\n`);
      else this.input?.end();
    }
    const markerLine = `${gate.marker}\n`;
    const at = this.gated.indexOf(markerLine);
    if (at === -1) return;
    this.stderr += this.gated.slice(0, at) + this.gated.slice(at + markerLine.length);
    this.gated = '';
    gate.open = true;
    this.sendStdin();
  }

  private sendStdin(): void {
    if (this.options.stdin !== undefined && this.options.stdin !== '') this.input?.write(this.options.stdin);
    this.input?.end();
  }
}

/** How long one exec may take on either transport: the options' own timeout, or the connection's × timeoutFactor. */
export function execTimeoutMs(options: { timeoutMs?: number; timeoutFactor?: number }, commandTimeoutMs: number): number {
  return options.timeoutMs ?? commandTimeoutMs * (options.timeoutFactor ?? 1);
}

/** The first line of a command, short enough for an error message. */
export function commandSummary(command: string): string {
  const first = command.trimStart().split('\n')[0] ?? '';
  return first.length > 120 ? `${first.slice(0, 117)}...` : first;
}
