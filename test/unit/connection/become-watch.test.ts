import { describe, expect, it } from 'vitest';
import { BecomeWatch, SLOW_BECOME_MS } from '../../../src/connection/become-watch.js';
import { CommandTimeoutError } from '../../../src/errors.js';
import type { ExecResult } from '../../../src/connection/types.js';

function watch(answer: (command: string) => Promise<ExecResult>) {
  const warnings: string[] = [];
  const commands: string[] = [];
  const w = new BecomeWatch({
    name: 'hv1',
    runPlain: (command) => {
      commands.push(command);
      return answer(command);
    },
    warn: (m) => warnings.push(m),
  });
  return { w, warnings, commands };
}

const ok = (stdout: string): Promise<ExecResult> => Promise.resolve({ stdout, stderr: '', exitCode: 0 });

describe('BecomeWatch', () => {
  it('says nothing and checks nothing for a sudo that starts quickly', async () => {
    const { w, warnings, commands } = watch(() => ok('0 hv1\n'));
    await w.observe(SLOW_BECOME_MS - 1, '');
    expect(warnings).toEqual([]);
    expect(commands).toEqual([]);
  });

  it("takes sudo's own word for an unresolvable name, without a check", async () => {
    const { w, warnings, commands } = watch(() => ok('0 hv1\n'));
    await w.observe(5100, 'sudo: unable to resolve host hv1: Name or service not known\n');
    expect(commands).toEqual([]);
    expect(warnings).toEqual([
      `sudo on hv1 took 5.1 s to start: sudo resolves the host's own name and "hv1" does not resolve (not in /etc/hosts?), so every sudo waits for DNS to give up; add it to the host's /etc/hosts`,
    ]);
  });

  it('checks the name lookup once (without sudo) and reports a failing lookup, once per connection', async () => {
    const { w, warnings, commands } = watch(() => ok('2 hv1 4012\n'));
    await Promise.all([w.observe(5000, ''), w.observe(6000, '')]);
    await w.observe(7000, '');
    expect(commands).toHaveLength(1);
    expect(commands[0]).toContain('getent ahosts');
    expect(commands[0]).not.toContain('sudo');
    expect(warnings).toHaveLength(1);
    expect(warnings).toEqual([
      `sudo on hv1 took 5.0 s to start: sudo resolves the host's own name and "hv1" does not resolve (lookup failed after 4.0 s) (not in /etc/hosts?); add it to the host's /etc/hosts`,
    ]);
  });

  it('a lookup that times out is the answer too', async () => {
    const { w, warnings } = watch(() => Promise.reject(new CommandTimeoutError('timed out')));
    await w.observe(3000, '');
    expect(warnings[0]).toMatch(/^sudo on hv1 took 3\.0 s to start: sudo resolves the host's own name, and looking it up on the host did not finish/);
  });

  it('a name that resolves, slowly, is the cause too', async () => {
    const { w, warnings } = watch(() => ok('0 hv1 2600\n'));
    await w.observe(2700, '');
    expect(warnings).toEqual([
      `sudo on hv1 took 2.7 s to start: sudo resolves the host's own name and "hv1" takes 2.6 s to look up (not in /etc/hosts?); add it to the host's /etc/hosts`,
    ]);
  });

  it('a name that resolves at once points elsewhere (PAM, sudoers sources)', async () => {
    const { w, warnings } = watch(() => ok('0 hv1 3\n'));
    await w.observe(2500, '');
    expect(warnings).toEqual([
      `sudo on hv1 took 2.5 s to start, though the host resolves its own name "hv1" at once: look at sudo's PAM stack and sudoers sources (LDAP/sssd lookups, pam_faildelay, I/O logging)`,
    ]);
  });

  it('says nothing when the unprivileged check is about as slow (a slow host, not a slow sudo)', async () => {
    const { w, warnings, commands } = watch(() => new Promise((resolve) => setTimeout(() => resolve({ stdout: '0 hv1 2\n', stderr: '', exitCode: 0 }), 1200)));
    await w.observe(2100, '');
    expect(commands).toHaveLength(1);
    expect(warnings).toEqual([]);
  });
});
