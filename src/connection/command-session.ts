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
  /** Under become: how long sudo took to hand over to the command (from start()), and what sudo printed before. */
  onBecomeStarted?: (ms: number, sudoSaid: string) => void;
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
  /** sudo's prompt (-S -p) when a password was given; none with -n, where sudo never asks. */
  prompt?: string;
  marker: string;
  promptsSeen: number;
  open: boolean;
  /** What sudo asked that is not its password prompt (a PAM module's own question), once it went quiet on it. */
  foreignPrompt?: string;
  /** Where in the held-back stderr our last prompt was: what came before it on its line is not a question. */
  afterPrompt: number;
}

// An unterminated line on sudo's stderr that stays unchanged this long is a question waiting for an answer.
const FOREIGN_PROMPT_QUIET_MS = 1000;

/**
 * With a sudo password, the password is written only when sudo's own (random) prompt shows up on stderr, and the
 * caller's stdin only once a (random) marker printed by the command itself shows sudo let it through. Writing the
 * password blindly would hand it to the command's stdin whenever sudo does not ask (NOPASSWD, cached credentials).
 * The marker is printed under `sudo -n` too: it times sudo's start-up (a host that cannot resolve its own name makes
 * every sudo wait on DNS) and tells a command's failure from sudo's refusal (becomeFailure()).
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
  private startedAt = 0;
  private promptTimer: NodeJS.Timeout | undefined;

  constructor(
    command: string,
    private readonly options: SessionOptions,
  ) {
    const nonce = randomBytes(8).toString('hex');
    let wrapped = command;
    if (options.become && !options.isRoot) {
      const marker = `kvmnet-become-ok-${nonce}`;
      const script = `printf '%s\\n' ${marker} >&2\n${command}`;
      if (options.becomePassword === undefined) {
        this.gate = { marker, promptsSeen: 0, open: false, afterPrompt: 0 };
        // -n: a sudo that wants a password fails at once instead of waiting for one.
        wrapped = `sudo -n -- ${KEEP_SSH_CONNECTION} sh -c ${shellQuote(script)}`;
      } else {
        this.gate = { prompt: `[kvmnet-sudo-${nonce}]`, marker, promptsSeen: 0, open: false, afterPrompt: 0 };
        wrapped = `sudo -S -p ${shellQuote(this.gate.prompt!)} -- ${KEEP_SSH_CONNECTION} sh -c ${shellQuote(script)}`;
      }
    }
    if (options.announcePid) {
      this.pidLine = new RegExp(`kvmnet-pid-${nonce} (\\d+)\\n`);
      wrapped = `printf '%s %s\\n' kvmnet-pid-${nonce} $$ >&2\n${wrapped}`;
    }
    this.command = wrapped;
  }

  start(input: ProcessInput): void {
    this.input = input;
    this.startedAt = Date.now();
    // sudo -n reads no password: the command's stdin can go at once.
    if (!this.gate?.prompt) this.sendStdin();
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
    clearTimeout(this.promptTimer);
    return { stdout: this.stdout, stderr: this.stderr + this.gated + this.beforePid };
  }

  /**
   * Why sudo did not run the command, when it did not (the marker never came): no password given but one wanted,
   * the given one rejected, a question other than the password, or sudo's own error (not in sudoers, not installed).
   */
  becomeFailure(): string | undefined {
    const gate = this.gate;
    clearTimeout(this.promptTimer);
    if (!gate || gate.open) return undefined;
    const said = this.gated
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && l !== gate.foreignPrompt);
    const quoted = said.length ? ` (sudo said: ${said.slice(-3).join(' / ')})` : '';
    if (gate.foreignPrompt !== undefined) {
      return `sudo asked "${gate.foreignPrompt}", which kvmnet cannot answer (it only gives the become password at sudo's own prompt)${quoted}`;
    }
    if (gate.prompt && gate.promptsSeen >= 2) return `sudo rejected the become password (become_password / ansible_become_password)${quoted}`;
    if (!gate.prompt && said.some((l) => /password is required|a terminal is required/i.test(l))) {
      return `sudo asks for a password and none was given: set become_password (ansible_become_password), or allow the user NOPASSWD in sudoers${quoted}`;
    }
    return `sudo did not run the command${quoted || ' (and said nothing)'}`;
  }

  private advanceGate(gate: SudoGate): void {
    while (gate.prompt !== undefined && this.gated.includes(gate.prompt)) {
      gate.afterPrompt = this.gated.indexOf(gate.prompt);
      this.gated = this.gated.replace(gate.prompt, '');
      gate.promptsSeen += 1;
      // A second prompt means the password was wrong: end stdin so sudo fails instead of waiting.
      if (gate.promptsSeen === 1) this.input?.write(`${this.options.becomePassword}\n`);
      else this.input?.end();
    }
    const markerLine = `${gate.marker}\n`;
    const at = this.gated.indexOf(markerLine);
    if (at === -1) {
      this.watchForForeignPrompt(gate);
      return;
    }
    clearTimeout(this.promptTimer);
    const sudoSaid = this.gated.slice(0, at);
    this.stderr += sudoSaid + this.gated.slice(at + markerLine.length);
    this.gated = '';
    gate.open = true;
    this.options.onBecomeStarted?.(Date.now() - this.startedAt, sudoSaid);
    if (gate.prompt) this.sendStdin();
  }

  /**
   * sudo -S waits on stdin for whatever PAM asks (a one-time code, "Verification code: "), and that question is not
   * our prompt: kvmnet cannot answer it, so it ends stdin (sudo fails at once) instead of waiting for the timeout.
   */
  private watchForForeignPrompt(gate: SudoGate): void {
    clearTimeout(this.promptTimer);
    if (!gate.prompt) return;
    const pending = this.gated.slice(Math.max(this.gated.lastIndexOf('\n') + 1, gate.afterPrompt));
    if (pending.trim() === '' || gate.prompt.startsWith(pending)) return;
    this.promptTimer = setTimeout(() => {
      gate.foreignPrompt = pending.trim();
      this.input?.end();
    }, FOREIGN_PROMPT_QUIET_MS);
    this.promptTimer.unref?.();
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
