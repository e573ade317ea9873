// A host's sshd dies in the middle of a run. That host is reported unreachable with the task it
// was on, and the message tells the truth about the change in flight: kvmnet reconnects once to
// re-read it — "unknown" when the host stays unreachable, "applied" when the re-read shows it.
// The other hosts converge; the exit code is 4.
import { existsSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addresses,
  hostState,
  inHost,
  inventory,
  LAB_HOSTS,
  link,
  netInfo,
  resetHost,
  resetHosts,
  show,
  summaryOf,
  taskEvents,
  writePlaybook,
  type LabHost,
} from '../helpers.js';
import { BRIDGED_TASKS, hostPath, killLeftovers, killSshd, restoreLab, spawnKvmnet, unmountVirsh, virshIsReal, waitDuringRun } from './support.js';

const VICTIM: LabHost = 'hv2';
const OTHERS: LabHost[] = ['hv1', 'hv3'];
const STARTED = '/run/kvmnet-e2e-sshd-kill';
const AUTOSTARTED = '/run/kvmnet-e2e-autostart-done';

async function expectConverged(host: LabHost): Promise<void> {
  expect((await link(host, 'br0'))?.linkinfo?.info_data?.stp_state, `${host} br0`).toBe(1);
  expect((await link(host, 'eth1'))?.master, `${host} eth1`).toBe('br0');
  expect(await addresses(host, 'br0'), `${host} address`).toEqual(['192.168.0.90/24']);
  expect(await netInfo(host, 'bridged-network'), `${host} network`).toMatchObject({ active: true, autostart: true });
}

function jsonRun(playbook: string, extra: string[] = []) {
  return spawnKvmnet(['run', playbook, '-i', inventory(), '--output', 'json', ...extra], { timeoutMs: 150_000 });
}

function resultOf(r: { code: number | null; stdout: string; stderr: string }) {
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

describe('sshd killed during a run', () => {
  beforeAll(async () => {
    await resetHosts(LAB_HOSTS);
  });

  afterAll(async () => {
    // Whatever happened, leave the lab whole: the real virsh, no stray processes, daemons running.
    await killLeftovers(VICTIM, (p) => p.args.includes('kvmnet-e2e-virsh') || p.args.startsWith('/bin/sh /usr/bin/virsh') || p.args.includes(STARTED));
    await unmountVirsh(VICTIM);
    await inHost(VICTIM, ['rm', '-f', '/tmp/kvmnet-e2e-virsh', '/tmp/kvmnet-e2e-virsh.real', STARTED, AUTOSTARTED]);
    await restoreLab();
  });

  it('during a command: unreachable on that task, "unknown"; the others converge; exit 4', async () => {
    const playbook = writePlaybook(
      'sshd-kill',
      `- name: sshd dies mid-run
  hosts: all
  tasks:
    - name: bridge br0 with STP
      ensure_bridge: { name: br0, stp: true }
    - name: slow command
      command: { cmd: "touch ${STARTED}; sleep 4; echo slept" }
${BRIDGED_TASKS.split('\n').slice(2).join('\n')}`,
    );
    const marker = hostPath(VICTIM, STARTED);
    rmSync(marker, { force: true });
    const run = jsonRun(playbook);
    await waitDuringRun(run, `${VICTIM} to start the slow command`, () => existsSync(marker));
    const killed = await killSshd(VICTIM, { listener: true });
    // The listener and this run's own session.
    expect(killed.length, JSON.stringify(killed)).toBeGreaterThanOrEqual(2);
    const r = resultOf(await run.done);

    expect(r.code, show(r)).toBe(4);
    const events = taskEvents(r, VICTIM);
    expect(
      events.map((e) => [e.task, e.outcome]),
      show(r),
    ).toEqual([
      ['bridge br0 with STP', 'changed'],
      ['slow command', 'unreachable'],
    ]);
    expect(events[1]!.message).toMatch(/connection lost/);
    expect(events[1]!.message).toMatch(/whether the command ran to completion is unknown/);
    const byHost = Object.fromEntries(summaryOf(r).hosts.map((h) => [h.host, h]));
    expect(byHost[VICTIM]).toMatchObject({ changed: 1, failed: 0, unreachable: 1 });
    expect(byHost[VICTIM]?.error).toMatch(/^slow command: connection lost/);
    for (const h of OTHERS) expect(byHost[h], show(r)).toMatchObject({ changed: 5, failed: 0, unreachable: 0 });

    // The victim, read without SSH: the task before the cut ran, none after it.
    const st = await hostState(VICTIM);
    expect(st.links.find((l) => l.ifname === 'br0')?.linkinfo?.info_kind).toBe('bridge');
    expect(st.links.find((l) => l.ifname === 'eth1')?.master).toBeUndefined();
    expect(await addresses(VICTIM, 'br0')).toEqual([]);
    expect(await netInfo(VICTIM, 'bridged-network')).toBeUndefined();
    for (const h of OTHERS) await expectConverged(h);
  });

  describe('during a change (virsh net-autostart lingers after doing its work)', () => {
    beforeAll(async () => {
      // The victim's sshd again, whatever the test above left.
      await restoreLab();
      await resetHost(VICTIM);
      // Only in the victim's mount namespace: a copy of the real virsh, and over /usr/bin/virsh a
      // wrapper that, for net-autostart, runs it and then sleeps: the change is applied, its exec is not done.
      const wrapper = `#!/bin/sh
case "$*" in
  *net-autostart*) /tmp/kvmnet-e2e-virsh.real "$@"; rc=$?; touch ${AUTOSTARTED}; sleep 4; exit $rc ;;
esac
exec /tmp/kvmnet-e2e-virsh.real "$@"
`;
      await inHost(
        VICTIM,
        [
          'sh',
          '-c',
          'cp /usr/bin/virsh /tmp/kvmnet-e2e-virsh.real && cat > /tmp/kvmnet-e2e-virsh && chmod 755 /tmp/kvmnet-e2e-virsh && mount --bind /tmp/kvmnet-e2e-virsh /usr/bin/virsh',
        ],
        { input: wrapper },
      );
      expect(await virshIsReal(VICTIM)).toBe(false);
    });

    async function cutDuringAutostart(opts: { listener: boolean }) {
      const playbook = writePlaybook('sshd-kill-change', `- name: bridged\n  hosts: all\n  tasks:\n${BRIDGED_TASKS}`);
      const marker = hostPath(VICTIM, AUTOSTARTED);
      rmSync(marker, { force: true });
      const run = jsonRun(playbook, ['--limit', VICTIM]);
      await waitDuringRun(run, `${VICTIM} to run net-autostart`, () => existsSync(marker));
      await killSshd(VICTIM, opts);
      const r = resultOf(await run.done);
      expect(r.code, show(r)).toBe(4);
      const events = taskEvents(r, VICTIM);
      expect(
        events.map((e) => e.outcome),
        show(r),
      ).toEqual(['changed', 'changed', 'changed', 'unreachable']);
      const last = events[3]!;
      expect(last.task).toBe('libvirt network bridged-network on br0');
      expect(last.message).toMatch(/connection lost while applying/);
      expect(summaryOf(r).hosts[0]?.error).toMatch(/^libvirt network bridged-network on br0: connection lost/);
      return last.message;
    }

    it('sshd gone for good: the reconnect fails, so the message says the change is unknown (it was in fact applied)', async () => {
      const message = await cutDuringAutostart({ listener: true });
      expect(message).toMatch(/could not be reached again, so whether 'libvirt network bridged-network on br0' was applied is unknown/);
      // The truth, read without SSH: applied. "Unknown" was the honest answer, "not applied" would have been a lie.
      expect(await netInfo(VICTIM, 'bridged-network')).toMatchObject({ active: true, autostart: true });
    });

    it('only the session killed (sshd still listening): the reconnect re-reads the host and says the change was applied', async () => {
      await restoreLab();
      await resetHost(VICTIM);
      const message = await cutDuringAutostart({ listener: false });
      expect(message).toMatch(/on reconnect, the change turned out to be applied/);
      expect(await netInfo(VICTIM, 'bridged-network')).toMatchObject({ active: true, autostart: true });
    });
  });
});
