// libvirtd is not running on one host: its libvirt task fails with "libvirtd is not running on
// hvN: <what virsh said>", the bridge, port and address tasks before it still ran there, and the
// other hosts converge. Nothing half-done is left in libvirt once it is back.
import { readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addresses,
  BRIDGED,
  inventory,
  kvmnet,
  LAB_HOSTS,
  labHost,
  link,
  netInfo,
  resetHosts,
  show,
  summaryOf,
  taskEvents,
  writePlaybook,
  type LabHost,
} from '../helpers.js';
import { killAndWait, restoreLab } from './support.js';

const VICTIM: LabHost = 'hv3';
const OTHERS: LabHost[] = ['hv1', 'hv2'];

describe('libvirtd stopped on one host', () => {
  beforeAll(async () => {
    await resetHosts(LAB_HOSTS);
    // Exactly the libvirtd lab.json records for the victim, checked to be that host's.
    const h = labHost(VICTIM);
    const pid = h.libvirtdPid!;
    expect(readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).toBe('libvirtd');
    expect(statSync(`/proc/${pid}/ns/net`).ino).toBe(statSync(`/run/netns/${h.netns}`).ino);
    await killAndWait([pid], 'SIGTERM');
  });

  afterAll(async () => {
    await restoreLab();
  });

  it('the libvirt task fails there naming libvirtd and the host; the bridge tasks before it ran; exit 2', async () => {
    const playbook = writePlaybook('libvirtd-stopped', readFileSync(BRIDGED, 'utf8'));
    const r = await kvmnet(['run', playbook, '-i', inventory(), '--output', 'json']);
    expect(r.code, show(r)).toBe(2);

    const events = taskEvents(r, VICTIM);
    expect(
      events.map((e) => e.outcome),
      show(r),
    ).toEqual(['changed', 'changed', 'changed', 'failed']);
    expect(events[3]!.task).toBe('libvirt network bridged-network on br0');
    expect(events[3]!.message).toMatch(new RegExp(`^libvirtd is not running on ${VICTIM}: \\S`));
    const byHost = Object.fromEntries(summaryOf(r).hosts.map((h) => [h.host, h]));
    expect(byHost[VICTIM]).toMatchObject({ changed: 3, failed: 1, unreachable: 0 });
    expect(byHost[VICTIM]?.error).toMatch(new RegExp(`^libvirt network bridged-network on br0: libvirtd is not running on ${VICTIM}: `));
    for (const h of OTHERS) expect(byHost[h]).toMatchObject({ changed: 4, failed: 0, unreachable: 0 });

    // The victim's bridge, port and address are there, read from the kernel.
    expect((await link(VICTIM, 'br0'))?.linkinfo?.info_data?.stp_state).toBe(1);
    expect((await link(VICTIM, 'eth1'))?.master).toBe('br0');
    expect(await addresses(VICTIM, 'br0')).toEqual(['192.168.0.90/24']);
    for (const h of OTHERS) expect(await netInfo(h, 'bridged-network')).toMatchObject({ active: true, autostart: true });
  });

  it('the text output says the same, and once libvirtd is back the network was never defined there', async () => {
    const playbook = writePlaybook('libvirtd-stopped-text', readFileSync(BRIDGED, 'utf8'));
    const r = await kvmnet(['run', playbook, '-i', inventory(), '--limit', VICTIM]);
    expect(r.code, show(r)).toBe(2);
    expect(r.stdout).toMatch(new RegExp(`^${VICTIM} \\| libvirt network bridged-network on br0 \\| failed \\| libvirtd is not running on ${VICTIM}: `, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^${VICTIM}\\s+: ok=3\\s+changed=0\\s+failed=1`, 'm'));

    await restoreLab();
    expect(await netInfo(VICTIM, 'bridged-network')).toBeUndefined();
  });
});
