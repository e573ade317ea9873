// Fleets that forbid root logins: kvmnet logs in as an unprivileged user and runs everything through sudo. hv1's
// user needs a sudo password (become_password), hv2's has NOPASSWD. The user, its key and sudoers live in the lab
// host's private /etc overlay and /run, so nothing lands on the machine. State is read back with ip -j.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnCollect } from './exec.js';
import { BRIDGED, addresses, inHost, inventory, kvmnet, labDir, labHost, link, resetHosts, scratchDir, show, summaryOf, writePlaybook, type LabHost } from './helpers.js';
import { resetFleet } from './rollout/support.js';

const USER = 'kvmnetops';
const HOME = `/run/${USER}`;
// Random per run: it must not show up anywhere kvmnet writes.
const PASSWORD = `pw-${Math.random().toString(36).slice(2)}-sudo`;
const HOSTS: LabHost[] = ['hv1', 'hv2'];

async function addSudoUser(host: LabHost, sudoers: string): Promise<void> {
  const pub = readFileSync(join(labDir(), 'id_ed25519.pub'), 'utf8');
  const script = `set -e
id ${USER} >/dev/null 2>&1 || useradd -M -d ${HOME} -s /bin/sh ${USER}
printf '%s:%s\\n' ${USER} "$1" | chpasswd
mkdir -p ${HOME}/.ssh && printf '%s' "$2" > ${HOME}/.ssh/authorized_keys
chown -R ${USER}: ${HOME} && chmod 755 ${HOME} && chmod 700 ${HOME}/.ssh && chmod 600 ${HOME}/.ssh/authorized_keys
printf '%s\\n' "$3" > /etc/sudoers.d/${USER} && chmod 440 /etc/sudoers.d/${USER}
# sudo looks its host name up: without this line each sudo waits for DNS to give up.
grep -q " $(hostname)\\$" /etc/hosts || printf '127.0.1.1 %s\\n' "$(hostname)" >> /etc/hosts
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
    const r = await kvmnet(['run', BRIDGED, '-i', inv, '--limit', 'hv2', '-e', 'become=false', '--output', 'json']);
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
    expect(elapsed).toBeLessThan(15_000);
    for (const r of [first, second]) expect(`${r.stdout}${r.stderr}`).not.toContain(PASSWORD);
  });

  it('a wrong sudo password fails hv1 only, without echoing it', async () => {
    const wrong = join(scratchDir('become-wrong'), 'inventory.yaml');
    writeFileSync(wrong, readFileSync(inv, 'utf8').replace(JSON.stringify(PASSWORD), '"not-the-password"'));
    const r = await kvmnet(['run', BRIDGED, '-i', wrong, '--output', 'json'], { timeoutMs: 120_000 });
    expect(r.code, show(r)).not.toBe(0);
    const hosts = summaryOf(r).hosts;
    expect(hosts.find((h) => h.host === 'hv2')).toMatchObject({ failed: 0, unreachable: 0 });
    const hv1 = hosts.find((h) => h.host === 'hv1')!;
    expect(hv1.failed + hv1.unreachable).toBeGreaterThan(0);
    expect(`${r.stdout}${r.stderr}`).not.toContain('not-the-password');
  });

  it('a guarded change that cuts the host off is rolled back by the timer sudo armed (password), reported rolled_back', async ({ onTestFinished }) => {
    const H: LabHost = 'hv3';
    onTestFinished(() => resetFleet([H]));
    await resetHosts([H]);
    await addSudoUser(H, `${USER} ALL=(ALL) ALL`);
    const cutInv = join(scratchDir('become-cut'), 'inventory.yaml');
    writeFileSync(cutInv, readFileSync(inv, 'utf8').replace(/ {2}hosts:\n[\s\S]*$/, `  hosts:\n    ${H}:\n      host: ${labHost(H).address}\n      ansible_become_password: ${JSON.stringify(PASSWORD)}\n`));
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
