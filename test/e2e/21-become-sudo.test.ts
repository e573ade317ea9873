// Fleets that forbid root logins: kvmnet logs in as an unprivileged user and runs everything through sudo. hv1's
// user needs a sudo password (become_password), hv2's has NOPASSWD. The user, its key and sudoers live in the lab
// host's private /etc overlay and /run, so nothing lands on the machine. State is read back with ip -j.
// A sudo that is slow (its host's name does not resolve: sudo waits for DNS on every call) is reported; one that asks
// what kvmnet cannot answer (no password given, a rejected one, an expired account's questions) fails in seconds.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnCollect } from './exec.js';
import {
  BRIDGED,
  addresses,
  inHost,
  inventory,
  jsonEvents,
  kvmnet,
  labDir,
  labHost,
  link,
  resetHosts,
  scratchDir,
  show,
  summaryOf,
  taskEvents,
  writePlaybook,
  type LabHost,
} from './helpers.js';
import { resetFleet } from './rollout/support.js';

const USER = 'kvmnetops';
const HOME = `/run/${USER}`;
// Random per run: it must not show up anywhere kvmnet writes.
const PASSWORD = `pw-${Math.random().toString(36).slice(2)}-sudo`;
const HOSTS: LabHost[] = ['hv1', 'hv2'];
// Runs that fail write PLAYBOOK.retry next to the playbook: a copy in scratch keeps it out of the repository.
const failingPlaybook = () => writePlaybook('become-bridged', readFileSync(BRIDGED, 'utf8'));

async function addSudoUser(host: LabHost, sudoers: string): Promise<void> {
  const pub = readFileSync(join(labDir(), 'id_ed25519.pub'), 'utf8');
  const script = `set -e
id ${USER} >/dev/null 2>&1 || useradd -M -d ${HOME} -s /bin/sh ${USER}
printf '%s:%s\\n' ${USER} "$1" | chpasswd
mkdir -p ${HOME}/.ssh && printf '%s' "$2" > ${HOME}/.ssh/authorized_keys
chown -R ${USER}: ${HOME} && chmod 755 ${HOME} && chmod 700 ${HOME}/.ssh && chmod 600 ${HOME}/.ssh/authorized_keys
printf '%s\\n' "$3" > /etc/sudoers.d/${USER} && chmod 440 /etc/sudoers.d/${USER}
visudo -cq
`;
  await inHost(host, ['sh', '-c', script, 'add-user', PASSWORD, pub, sudoers]);
}

describe('become through sudo as an unprivileged user', () => {
  let inv = '';

  beforeAll(async () => {
    await resetHosts(HOSTS);
    await addSudoUser('hv1', `${USER} ALL=(ALL) ALL`);
    await addSudoUser('hv2', `${USER} ALL=(ALL) NOPASSWD: ALL`);
    const base = readFileSync(inventory(), 'utf8');
    const known = /known_hosts:\s*(.*)/.exec(base)?.[1];
    const key = /ssh_key:\s*(.*)/.exec(base)?.[1];
    expect(known && key).toBeTruthy();
    inv = join(scratchDir('become'), 'inventory.yaml');
    writeFileSync(
      inv,
      `all:
  vars:
    ansible_user: ${USER}
    ansible_ssh_private_key_file: ${key}
    known_hosts: ${known}
    ansible_become: true
  hosts:
    hv1:
      host: ${labHost('hv1').address}
      ansible_become_password: ${JSON.stringify(PASSWORD)}
    hv2:
      host: ${labHost('hv2').address}
`,
    );
  });

  it('without become the same run fails: the user really is unprivileged (and nothing changes)', async () => {
    const r = await kvmnet(['run', failingPlaybook(), '-i', inv, '--limit', 'hv2', '-e', 'become=false', '--output', 'json']);
    expect(r.code, show(r)).not.toBe(0);
    expect(summaryOf(r).hosts[0]).toMatchObject({ host: 'hv2', changed: 0 });
    expect(await link('hv2', 'br0')).toBeUndefined();
  });

  it('converges both hosts (password and NOPASSWD), then changes nothing; the password appears nowhere', async () => {
    const first = await kvmnet(['run', BRIDGED, '-i', inv, '--output', 'json']);
    expect(first.code, show(first)).toBe(0);
    expect(summaryOf(first).hosts.map((h) => [h.host, h.changed, h.failed, h.unreachable])).toEqual(HOSTS.map((h) => [h, 4, 0, 0]));
    for (const h of HOSTS) {
      expect((await link(h, 'br0'))?.linkinfo?.info_kind).toBe('bridge');
      expect((await link(h, 'eth1'))?.master).toBe('br0');
      expect(await addresses(h, 'br0')).toContain('192.168.0.90/24');
    }
    // Every process's argv while the second run goes (the lab shares the machine's PID namespace: one ps sees all).
    let running = true;
    const argvs: string[] = [];
    const poll = (async () => {
      while (running) argvs.push((await spawnCollect(['ps', '-eo', 'args'])).stdout);
    })();
    const started = Date.now();
    const second = await kvmnet(['run', BRIDGED, '-i', inv, '--output', 'json']);
    const elapsed = Date.now() - started;
    running = false;
    await poll;
    expect(argvs.length).toBeGreaterThan(0);
    expect(argvs.join('\n')).not.toContain(PASSWORD);
    expect(second.code, show(second)).toBe(0);
    expect(summaryOf(second).hosts.map((h) => [h.host, h.changed, h.failed, h.unreachable])).toEqual(HOSTS.map((h) => [h, 0, 0, 0]));
    // A sudo that waits on DNS for its own host name takes seconds per exec; a no-op run stays well under that.
    console.log(`[become] no-op run of both hosts under sudo: ${elapsed} ms`);
    expect(elapsed).toBeLessThan(15_000);
    expect(jsonEvents(second.stdout).filter((e) => e.event === 'warning' && String(e.message).startsWith('sudo on '))).toEqual([]);
    for (const r of [first, second]) expect(`${r.stdout}${r.stderr}`).not.toContain(PASSWORD);
  });

  it('lab hosts resolve their own name (the lab writes it in their /etc/hosts, as a Debian install does)', async () => {
    for (const h of HOSTS) {
      // ahosts asks as sudo does (getaddrinfo, any family).
      const r = await inHost(h, ['getent', 'ahosts', h], { timeoutMs: 5000 });
      expect(r.stdout.split('\n')[0]?.trim().split(/\s+/)).toEqual(['127.0.1.1', 'STREAM', h]);
    }
    // And sudo says nothing about it (it warns "unable to resolve host" otherwise).
    const sudo = await inHost('hv2', ['sudo', '-n', '-u', USER, 'true'], { timeoutMs: 5000 });
    expect(sudo.stderr).toBe('');
  });

  it('a wrong sudo password fails hv1 only, at once and saying so, without echoing it', async () => {
    const wrong = join(scratchDir('become-wrong'), 'inventory.yaml');
    writeFileSync(wrong, readFileSync(inv, 'utf8').replace(JSON.stringify(PASSWORD), '"not-the-password"'));
    const started = Date.now();
    const r = await kvmnet(['run', failingPlaybook(), '-i', wrong, '--output', 'json'], { timeoutMs: 120_000 });
    const elapsed = Date.now() - started;
    expect(r.code, show(r)).not.toBe(0);
    const hosts = summaryOf(r).hosts;
    expect(hosts.find((h) => h.host === 'hv2')).toMatchObject({ failed: 0, unreachable: 0 });
    expect(hosts.find((h) => h.host === 'hv1')).toMatchObject({ failed: 1, unreachable: 0 });
    const [facts] = taskEvents(r, 'hv1');
    expect(facts, show(r)).toMatchObject({ task: 'gathering facts', outcome: 'failed' });
    expect(facts!.message).toMatch(
      /: sudo rejected the become password \(become_password \/ ansible_become_password\) \(sudo said: .*incorrect password attempt/,
    );
    // sudo's own delay after a wrong password is ~2 s: no command timeout (120 s) is waited for.
    console.log(`[become] wrong password: run failed after ${elapsed} ms`);
    expect(elapsed).toBeLessThan(20_000);
    expect(`${r.stdout}${r.stderr}`).not.toContain('not-the-password');
  });

  it('no become_password where sudo wants one: fails in seconds with what to set', async () => {
    const none = join(scratchDir('become-none'), 'inventory.yaml');
    writeFileSync(none, readFileSync(inv, 'utf8').replace(/\n\s*ansible_become_password: .*/, ''));
    const started = Date.now();
    const r = await kvmnet(['run', failingPlaybook(), '-i', none, '--limit', 'hv1']);
    const elapsed = Date.now() - started;
    expect(r.code, show(r)).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`, show(r)).toMatch(
      /sudo asks for a password and none was given: set become_password \(ansible_become_password\), or allow the user NOPASSWD in sudoers \(sudo said: sudo: a password is required\)/,
    );
    console.log(`[become] no password: run failed after ${elapsed} ms`);
    expect(elapsed).toBeLessThan(15_000);
  });

  it('an expired account (sudo asks its own questions after the password) fails in seconds, not at the command timeout', async ({ onTestFinished }) => {
    // chpasswd (in addSudoUser) sets a fresh password again afterwards.
    onTestFinished(() => addSudoUser('hv1', `${USER} ALL=(ALL) ALL`));
    await inHost('hv1', ['chage', '-d', '0', USER]);
    const started = Date.now();
    const r = await kvmnet(['run', failingPlaybook(), '-i', inv, '--limit', 'hv1', '--output', 'json']);
    const elapsed = Date.now() - started;
    expect(r.code, show(r)).not.toBe(0);
    const [facts] = taskEvents(r, 'hv1');
    expect(facts, show(r)).toMatchObject({ task: 'gathering facts', outcome: 'failed' });
    expect(facts!.message).toMatch(
      /: sudo asked "\[sudo\] password for %p:", which kvmnet cannot answer \(it only gives the become password at sudo's own prompt\) \(sudo said: .*expired/,
    );
    console.log(`[become] expired account: run failed after ${elapsed} ms`);
    expect(elapsed).toBeLessThan(20_000);
    expect(`${r.stdout}${r.stderr}`).not.toContain(PASSWORD);
  });

  it('a slow sudo (the host name does not resolve, DNS does not answer) is reported once per host, with the cause, in JSON and plain output', async ({
    onTestFinished,
  }) => {
    const H: LabHost = 'hv2';
    // In the host's own /etc (a private overlay): its name out of /etc/hosts, and a DNS server that never answers
    // (a silent UDP socket in the host's netns) with a 2 s timeout per query: what an unreachable DNS server does.
    const silent = `require('dgram').createSocket('udp4').bind(53, '127.0.0.53'); setTimeout(() => {}, 600000)`;
    const started = await inHost(H, [
      'sh',
      '-c',
      `set -e
cp /etc/hosts /run/e2e-hosts && cp -P /etc/resolv.conf /run/e2e-resolv
grep -v "[[:space:]]$(hostname)$" /run/e2e-hosts > /etc/hosts
rm -f /etc/resolv.conf && printf 'nameserver 127.0.0.53\\noptions timeout:2 attempts:1\\n' > /etc/resolv.conf
nohup "$1" -e "$2" >/dev/null 2>&1 </dev/null & echo $!
# Until it listens, a query gets "port unreachable" at once instead of no answer.
for i in $(seq 100); do ss -Hlun 'sport = :53' | grep -q 127.0.0.53 && exit 0; sleep 0.1; done; exit 1`,
      'slow-dns',
      process.execPath,
      silent,
    ]);
    const listener = Number(started.stdout.trim());
    onTestFinished(async () => {
      process.kill(listener, 'SIGTERM');
      await inHost(H, ['sh', '-c', 'cat /run/e2e-hosts > /etc/hosts && rm -f /etc/resolv.conf && cp -P /run/e2e-resolv /etc/resolv.conf']);
    });
    const probe = Date.now();
    await inHost(H, ['sudo', '-n', '-u', USER, 'true'], { timeoutMs: 30_000 });
    const sudoMs = Date.now() - probe;
    console.log(`[become] one sudo on ${H} with its name unresolvable: ${sudoMs} ms`);
    expect(sudoMs).toBeGreaterThan(2500);

    const json = await kvmnet(['run', BRIDGED, '-i', inv, '--limit', H, '--output', 'json'], { timeoutMs: 120_000 });
    expect(json.code, show(json)).toBe(0);
    expect(summaryOf(json).hosts).toMatchObject([{ host: H, changed: 0, failed: 0 }]);
    const warnings = jsonEvents(json.stdout)
      .filter((e) => e.event === 'warning')
      .map((e) => e.message as string);
    const slow = warnings.filter((m) => m.startsWith(`sudo on ${H} took `));
    expect(slow, show(json)).toHaveLength(1);
    expect(slow[0]).toMatch(
      new RegExp(
        `^sudo on ${H} took \\d+\\.\\d s to start: sudo resolves the host's own name and "${H}" does not resolve \\(not in /etc/hosts\\?\\), so every sudo waits for DNS to give up; add it to the host's /etc/hosts$`,
      ),
    );
    console.log(`[become] ${slow[0]}`);

    const plain = await kvmnet(['run', BRIDGED, '-i', inv, '--limit', H], { timeoutMs: 120_000 });
    expect(plain.code, show(plain)).toBe(0);
    expect(`${plain.stdout}${plain.stderr}`.match(new RegExp(`warning: sudo on ${H} took `, 'g')), show(plain)).toHaveLength(1);
  });

  it('a sudo slow for another reason (a PAM session module) is reported as such: the name check, run without sudo, clears DNS', async ({ onTestFinished }) => {
    const H: LabHost = 'hv2';
    await inHost(H, ['sh', '-c', 'cp /etc/pam.d/sudo /run/e2e-pam-sudo && printf "session optional pam_exec.so quiet /bin/sleep 3\\n" >> /etc/pam.d/sudo']);
    onTestFinished(() => inHost(H, ['sh', '-c', 'cat /run/e2e-pam-sudo > /etc/pam.d/sudo']).then(() => undefined));
    const r = await kvmnet(['run', BRIDGED, '-i', inv, '--limit', H, '--output', 'json'], { timeoutMs: 120_000 });
    expect(r.code, show(r)).toBe(0);
    const slow = jsonEvents(r.stdout).filter((e) => e.event === 'warning' && String(e.message).startsWith(`sudo on ${H} took `));
    expect(
      slow.map((e) => e.message),
      show(r),
    ).toEqual([
      expect.stringMatching(
        new RegExp(
          `^sudo on ${H} took [3-9]\\.\\d s to start, though the host resolves its own name "${H}" at once: look at sudo's PAM stack and sudoers sources`,
        ),
      ),
    ]);
    console.log(`[become] ${String(slow[0]?.message)}`);
  });

  it('a guarded change that cuts the host off is rolled back by the timer sudo armed (password), reported rolled_back', async ({ onTestFinished }) => {
    const H: LabHost = 'hv3';
    onTestFinished(() => resetFleet([H]));
    await resetHosts([H]);
    await addSudoUser(H, `${USER} ALL=(ALL) ALL`);
    const cutInv = join(scratchDir('become-cut'), 'inventory.yaml');
    writeFileSync(
      cutInv,
      readFileSync(inv, 'utf8').replace(
        / {2}hosts:\n[\s\S]*$/,
        `  hosts:\n    ${H}:\n      host: ${labHost(H).address}\n      ansible_become_password: ${JSON.stringify(PASSWORD)}\n`,
      ),
    );
    const playbook = writePlaybook(
      'become-cut',
      `- name: a forced cut
  hosts: all
  confirm_timeout: 10
  tasks:
    - name: bridge brm, down
      ensure_bridge: { name: brm, up: false }
    - name: mgmt0 into brm, forced
      ensure_port: { bridge: brm, interface: mgmt0, force: true }
`,
    );
    const r = await kvmnet(['run', playbook, '-i', cutInv, '--output', 'json'], { timeoutMs: 150_000 });
    expect(r.code, show(r)).toBe(2);
    expect(summaryOf(r).hosts).toMatchObject([{ host: H, changed: 1, failed: 0, unreachable: 0, rolled_back: 1 }]);
    expect(`${r.stdout}${r.stderr}`).not.toContain(PASSWORD);
    // The kernel says the old state is back.
    expect((await link(H, 'mgmt0'))?.master).toBeUndefined();
    expect(await addresses(H, 'mgmt0')).toEqual([`${labHost(H).address}/24`]);
  });
});
