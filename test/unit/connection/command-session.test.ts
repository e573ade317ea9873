import { execFileSync } from 'node:child_process';
import { describe, expect, it, vi } from 'vitest';
import { CommandSession, commandSummary } from '../../../src/connection/command-session.js';

function fakeProcess() {
  const events: string[] = [];
  return { events, input: { write: (d: string) => events.push(`write ${JSON.stringify(d)}`), end: () => events.push('end') } };
}

const PASSWORD = 's3cr3t pa$$';

describe('CommandSession without become', () => {
  it('runs the command as is, writes stdin and closes it', () => {
    const session = new CommandSession('ip -j link', { become: false, isRoot: false, stdin: 'data' });
    const { events, input } = fakeProcess();
    session.start(input);
    expect(session.command).toBe('ip -j link');
    expect(events).toEqual(['write "data"', 'end']);
  });

  it('does not wrap when already root', () => {
    expect(new CommandSession('id -u', { become: true, becomePassword: PASSWORD, isRoot: true }).command).toBe('id -u');
  });
});

describe('CommandSession with become', () => {
  it('uses sudo -n when there is no password, with the marker that shows sudo handed over', () => {
    const session = new CommandSession("echo 'a b'", { become: true, isRoot: false });
    const { marker } = markersOf(session.command);
    // SSH_CONNECTION passed through sudo's env reset: the facts script finds the SSH path in it.
    expect(session.command).toBe(`sudo -n -- env "SSH_CONNECTION=\${SSH_CONNECTION:-}" sh -c 'printf '\\''%s\\n'\\'' ${marker} >&2\necho '\\''a b'\\'''`);
  });

  it('sudo -n: stdin goes at once; the marker is hidden and times sudo, with what sudo said before it', () => {
    const seen: Array<[number, string]> = [];
    const session = new CommandSession('cat', { become: true, isRoot: false, stdin: 'xml', onBecomeStarted: (ms, said) => seen.push([ms, said]) });
    const { marker } = markersOf(session.command);
    const { events, input } = fakeProcess();
    session.start(input);
    expect(events).toEqual(['write "xml"', 'end']);
    session.onStderr(`sudo: unable to resolve host hv1: Name or service not known\n${marker}\nfrom cat\n`);
    expect(seen).toHaveLength(1);
    expect(seen[0]![1]).toBe('sudo: unable to resolve host hv1: Name or service not known\n');
    expect(session.result().stderr).toBe('sudo: unable to resolve host hv1: Name or service not known\nfrom cat\n');
    expect(session.becomeFailure()).toBeUndefined();
  });

  it('sudo -n refusing for want of a password is a clear become failure', () => {
    const session = new CommandSession('true', { become: true, isRoot: false });
    session.start(fakeProcess().input);
    session.onStderr('sudo: a password is required\n');
    expect(session.becomeFailure()).toBe(
      'sudo asks for a password and none was given: set become_password (ansible_become_password), or allow the user NOPASSWD in sudoers (sudo said: sudo: a password is required)',
    );
  });

  it('any other refusal says what sudo said; a command that ran and failed is not a become failure', () => {
    const refused = new CommandSession('true', { become: true, isRoot: false });
    refused.start(fakeProcess().input);
    refused.onStderr('kvmnetops is not in the sudoers file.\n');
    expect(refused.becomeFailure()).toBe('sudo did not run the command (sudo said: kvmnetops is not in the sudoers file.)');
    const ran = new CommandSession('false', { become: true, isRoot: false });
    ran.start(fakeProcess().input);
    ran.onStderr(`${markersOf(ran.command).marker}\n`);
    expect(ran.becomeFailure()).toBeUndefined();
    expect(new CommandSession('false', { become: false, isRoot: false }).becomeFailure()).toBeUndefined();
  });

  it('never puts the password in the command line', () => {
    const session = new CommandSession('id -u', { become: true, becomePassword: PASSWORD, isRoot: false });
    expect(session.command).toMatch(/^sudo -S -p '\[kvmnet-sudo-[0-9a-f]{16}\]' -- env "SSH_CONNECTION=\$\{SSH_CONNECTION:-\}" sh -c /);
    expect(session.command).not.toContain(PASSWORD);
  });

  it('writes the password at the prompt, then stdin once the command runs; hides both markers', () => {
    const session = new CommandSession('cat', { become: true, becomePassword: PASSWORD, isRoot: false, stdin: 'xml' });
    const { prompt, marker } = markersOf(session.command);
    const { events, input } = fakeProcess();
    session.start(input);
    expect(events).toEqual([]);
    // The prompt arrives split over two chunks, after sudo's lecture.
    session.onStderr(`We trust you have received the usual lecture.\n${prompt.slice(0, 5)}`);
    expect(events).toEqual([]);
    session.onStderr(prompt.slice(5));
    expect(events).toEqual([`write ${JSON.stringify(`${PASSWORD}\n`)}`]);
    session.onStderr(`${marker}\nwarning from cat\n`);
    expect(events).toEqual([`write ${JSON.stringify(`${PASSWORD}\n`)}`, 'write "xml"', 'end']);
    session.onStdout('xml');
    expect(session.result()).toEqual({
      stdout: 'xml',
      stderr: 'We trust you have received the usual lecture.\nwarning from cat\n',
    });
  });

  it('does not send the password when sudo does not ask for it (NOPASSWD, cached)', () => {
    const session = new CommandSession('cat', { become: true, becomePassword: PASSWORD, isRoot: false, stdin: 'xml' });
    const { marker } = markersOf(session.command);
    const { events, input } = fakeProcess();
    session.start(input);
    session.onStderr(`${marker}\n`);
    expect(events).toEqual(['write "xml"', 'end']);
    expect(events.join()).not.toContain(PASSWORD);
  });

  it('gives up (closes stdin) when sudo asks again after a wrong password', () => {
    const session = new CommandSession('true', { become: true, becomePassword: PASSWORD, isRoot: false });
    const { prompt } = markersOf(session.command);
    const { events, input } = fakeProcess();
    session.start(input);
    session.onStderr(prompt);
    session.onStderr(`Sorry, try again.\n${prompt}`);
    expect(events).toEqual([`write ${JSON.stringify(`${PASSWORD}\n`)}`, 'end']);
    expect(session.result().stderr).toBe('Sorry, try again.\n');
  });

  it('a rejected password is a become failure that names the variable, never the password', () => {
    const session = new CommandSession('true', { become: true, becomePassword: PASSWORD, isRoot: false });
    const { prompt } = markersOf(session.command);
    session.start(fakeProcess().input);
    session.onStderr(prompt);
    session.onStderr(`Sorry, try again.\n${prompt}`);
    session.onStderr('sudo: no password was provided\nsudo: 1 incorrect password attempt\n');
    const failure = session.becomeFailure();
    expect(failure).toBe(
      'sudo rejected the become password (become_password / ansible_become_password) (sudo said: Sorry, try again. / sudo: no password was provided / sudo: 1 incorrect password attempt)',
    );
    expect(failure).not.toContain(PASSWORD);
  });

  it("a question that is not sudo's password prompt ends stdin after a quiet second, instead of hanging", () => {
    vi.useFakeTimers();
    try {
      const session = new CommandSession('true', { become: true, becomePassword: PASSWORD, isRoot: false });
      const { prompt } = markersOf(session.command);
      const { events, input } = fakeProcess();
      session.start(input);
      session.onStderr(prompt);
      session.onStderr('Verification code: ');
      vi.advanceTimersByTime(900);
      expect(events).toEqual([`write ${JSON.stringify(`${PASSWORD}\n`)}`]);
      vi.advanceTimersByTime(200);
      expect(events).toEqual([`write ${JSON.stringify(`${PASSWORD}\n`)}`, 'end']);
      session.onStderr('\nsudo: PAM authentication error: Conversation error\n');
      expect(session.becomeFailure()).toBe(
        `sudo asked "Verification code:", which kvmnet cannot answer (it only gives the become password at sudo's own prompt) (sudo said: sudo: PAM authentication error: Conversation error)`,
      );
    } finally {
      vi.useRealTimers();
    }
  });

  it('text before our prompt on its line (a lecture file without a final newline) is not taken for a question', () => {
    vi.useFakeTimers();
    try {
      const session = new CommandSession('true', { become: true, becomePassword: PASSWORD, isRoot: false });
      const { prompt, marker } = markersOf(session.command);
      const { events, input } = fakeProcess();
      session.start(input);
      session.onStderr(`Be careful.${prompt.slice(0, 3)}`);
      session.onStderr(prompt.slice(3));
      vi.advanceTimersByTime(5000);
      expect(events).toEqual([`write ${JSON.stringify(`${PASSWORD}\n`)}`]);
      session.onStderr(`${marker}\n`);
      expect(session.result().stderr).toBe('Be careful.');
    } finally {
      vi.useRealTimers();
    }
  });

  it('a prompt split over chunks, or a line still being written, is not taken for a question', () => {
    vi.useFakeTimers();
    try {
      const session = new CommandSession('cat', { become: true, becomePassword: PASSWORD, isRoot: false, stdin: 'x' });
      const { prompt, marker } = markersOf(session.command);
      const { events, input } = fakeProcess();
      session.start(input);
      session.onStderr(prompt.slice(0, 4));
      vi.advanceTimersByTime(5000);
      expect(events).toEqual([]);
      session.onStderr(prompt.slice(4));
      session.onStderr(`${marker}\n`);
      vi.advanceTimersByTime(5000);
      expect(events).toEqual([`write ${JSON.stringify(`${PASSWORD}\n`)}`, 'write "x"', 'end']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('runs the command after printing the marker, in a real sh', () => {
    const session = new CommandSession("printf '%s' \"it's\"", { become: true, becomePassword: PASSWORD, isRoot: false });
    // Strip the sudo part and run the inner `sh -c SCRIPT` as sudo would.
    const inner = session.command.replace(/^sudo -S -p '[^']*' -- /, '');
    expect(inner).toMatch(/^env "SSH_CONNECTION=/);
    const { marker } = markersOf(session.command);
    const out = execFileSync('/bin/sh', ['-c', `${inner} 2>&1`], { encoding: 'utf8' });
    expect(out).toBe(`${marker}\nit's`);
  });
});

describe('commandSummary', () => {
  it('keeps the first line, shortened', () => {
    expect(commandSummary('  ip link add br0 type bridge\nip link set br0 up')).toBe('ip link add br0 type bridge');
    expect(commandSummary('x'.repeat(200))).toHaveLength(120);
  });
});

function markersOf(command: string): { prompt: string; marker: string } {
  const nonce = /kvmnet-become-ok-([0-9a-f]{16})/.exec(command)?.[1];
  if (!nonce) throw new Error(`no nonce in ${command}`);
  return { prompt: `[kvmnet-sudo-${nonce}]`, marker: `kvmnet-become-ok-${nonce}` };
}
