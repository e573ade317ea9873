// One host's sshd dies: that host is reported unreachable (exit 4), the others converge. Then
// `kvmnet lab up` on the existing lab restarts the dead daemon and leaves the rest alone.
import { readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pidAlive } from '../../src/lab/processes.js';
import {
  addresses,
  BRIDGED,
  expectFresh,
  inventory,
  kvmnet,
  labDir,
  labHost,
  labPrefix,
  link,
  netInfo,
  resetHosts,
  show,
  summaryOf,
  taskEvents,
  writePlaybook,
  LAB_HOSTS,
  type LabHost,
} from './helpers.js';

const DOWN: LabHost = 'hv2';
const UP: LabHost[] = ['hv1', 'hv3'];

/** Kills exactly the sshd lab.json records for HOST, after checking it is that host's sshd (never a broad pkill: other labs run here). */
async function killSshd(host: LabHost): Promise<number> {
  const h = labHost(host);
  const pid = h.sshdPid;
  if (!pid) throw new Error(`${host}: no sshd pid in lab.json`);
  expect(readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).toBe('sshd');
  expect(statSync(`/proc/${pid}/ns/net`).ino).toBe(statSync(`/run/netns/${h.netns}`).ino);
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 5000;
  while (pidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(pidAlive(pid)).toBe(false);
  return pid;
}

async function labStatusLines(): Promise<string> {
  const r = await kvmnet(['lab', 'status', '--dir', labDir()]);
  return `${r.code}\n${r.stdout}`;
}

describe('an unreachable host', () => {
  let killedPid = 0;

  beforeAll(async () => {
    await resetHosts(LAB_HOSTS);
    killedPid = await killSshd(DOWN);
  });

  afterAll(async () => {
    // Whatever happened above, leave the lab whole for the next file.
    const r = await kvmnet(['lab', 'up', '--dir', labDir(), '--prefix', labPrefix()]);
    if (r.code !== 0) throw new Error(`could not restore the lab: ${show(r)}`);
  });

  it('is reported unreachable with exit 4 while the other hosts converge', async () => {
    // A copy: a failed run writes its .retry file beside the playbook, and that must not be the repo.
    const playbook = writePlaybook('bridged', readFileSync(BRIDGED, 'utf8'));
    const r = await kvmnet(['run', playbook, '-i', inventory(), '--output', 'json']);
    expect(r.code, show(r)).toBe(4);
    const byHost = Object.fromEntries(summaryOf(r).hosts.map((h) => [h.host, h]));
    expect(byHost[DOWN]).toMatchObject({ unreachable: 1, changed: 0, failed: 0 });
    expect(byHost[DOWN]?.error).toMatch(/refused|unreachable|connect/i);
    for (const h of UP) expect(byHost[h]).toMatchObject({ changed: 4, failed: 0, unreachable: 0 });
    expect(taskEvents(r, DOWN).map((e) => e.outcome)).toEqual(['unreachable']);

    for (const h of UP) {
      expect((await link(h, 'br0'))?.linkinfo?.info_data?.stp_state).toBe(1);
      expect((await link(h, 'eth1'))?.master).toBe('br0');
      expect(await addresses(h, 'br0')).toEqual(['192.168.0.90/24']);
      expect(await netInfo(h, 'bridged-network')).toMatchObject({ active: true, autostart: true });
    }
    await expectFresh(DOWN);
  });

  it('lab status shows its sshd DOWN and exits non-zero', async () => {
    const r = await kvmnet(['lab', 'status', '--dir', labDir()]);
    expect(r.code, show(r)).not.toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${DOWN}\\s+\\S+\\s+\\S+\\s+DOWN\\s+up\\s*$`, 'm'));
  });

  // Regression: `lab up` used to give --prefix a commander default of 'kvl', so this command on a lab
  // made with another prefix failed with "DIR already holds a lab with prefix ktXXX" (fixed in eb1e704).
  it('`kvmnet lab up --dir DIR` restarts the dead sshd and keeps everything else', async () => {
    const before = labHost('hv1');
    const r = await kvmnet(['lab', 'up', '--dir', labDir()]);
    expect(r.code, show(r)).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`${DOWN}: restarted daemons`));
    for (const h of UP) expect(r.stderr).toMatch(new RegExp(`${h}: ok`));
    expect(labHost(DOWN).sshdPid).not.toBe(killedPid);
    expect(labHost('hv1').holderPid).toBe(before.holderPid);
    expect(await labStatusLines()).toMatch(/^0\n/);
  });

  it('`kvmnet lab up --dir DIR --prefix PFX` brings the lab back, and again changes nothing', async () => {
    const first = await kvmnet(['lab', 'up', '--dir', labDir(), '--prefix', labPrefix()]);
    expect(first.code, show(first)).toBe(0);
    expect(labHost(DOWN).sshdPid).not.toBe(killedPid);
    const status = await kvmnet(['lab', 'status', '--dir', labDir()]);
    expect(status.code, show(status)).toBe(0);

    const again = await kvmnet(['lab', 'up', '--dir', labDir(), '--prefix', labPrefix()]);
    expect(again.code, show(again)).toBe(0);
    for (const h of LAB_HOSTS) expect(again.stderr).toMatch(new RegExp(`${h}: ok`));
    expect(again.stderr).not.toMatch(/restarted|created/);

    // The hosts that converged kept their state through both `lab up`s, and the revived one converges now.
    for (const h of UP) expect((await link(h, 'eth1'))?.master).toBe('br0');
    const r = await kvmnet(['run', BRIDGED, '-i', inventory(), '--output', 'json']);
    expect(r.code, show(r)).toBe(0);
    expect(Object.fromEntries(summaryOf(r).hosts.map((h) => [h.host, h.changed]))).toEqual({ hv1: 0, hv2: 4, hv3: 0 });
    expect((await link(DOWN, 'eth1'))?.master).toBe('br0');
  });
});
