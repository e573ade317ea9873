// A command that hangs: on one host `virsh` never returns (a `sleep 600` script bind-mounted over
// /usr/bin/virsh in that host's mount namespace only). With --command-timeout 5 that host fails
// with a timeout message, the run ends in bounded time, the other hosts converge, and the hung
// remote command is killed — no `sleep 600` is left running on the host.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addresses,
  BRIDGED,
  inHost,
  inventory,
  kvmnet,
  LAB_HOSTS,
  link,
  netInfo,
  resetHosts,
  show,
  summaryOf,
  taskEvents,
  writePlaybook,
  type LabHost,
} from '../helpers.js';
import { hostProcesses, killLeftovers, sleep, unmountVirsh, virshIsReal } from './support.js';

const VICTIM: LabHost = 'hv1';
const OTHERS: LabHost[] = ['hv2', 'hv3'];
const HANG = '/tmp/kvmnet-e2e-hang-virsh';
const TIMEOUT_S = 5;

const sleepers = () => hostProcesses(VICTIM).filter((p) => p.args === 'sleep 600');

describe('a command that hangs', () => {
  let elapsedMs = 0;
  let r: Awaited<ReturnType<typeof kvmnet>>;

  beforeAll(async () => {
    await resetHosts(LAB_HOSTS);
    expect(sleepers()).toEqual([]);
    // The host's /tmp is its own; the bind mount lives in its mount namespace only.
    await inHost(VICTIM, ['sh', '-c', `printf '#!/bin/sh\\nsleep 600\\n' > ${HANG} && chmod 755 ${HANG} && mount --bind ${HANG} /usr/bin/virsh`]);
    expect(await virshIsReal(VICTIM)).toBe(false);
    expect(readFileSync('/usr/bin/virsh').subarray(0, 4).toString('latin1')).toBe('\x7fELF');

    const playbook = writePlaybook('hang', readFileSync(BRIDGED, 'utf8'));
    const t0 = Date.now();
    r = await kvmnet(['run', playbook, '-i', inventory(), '--command-timeout', String(TIMEOUT_S), '--output', 'json'], { timeoutMs: 150_000 });
    elapsedMs = Date.now() - t0;
  });

  afterAll(async () => {
    // First what still runs the script (a mount in use cannot be removed), then the mount.
    await killLeftovers(VICTIM, (p) => p.args === 'sleep 600' || p.args.startsWith('/bin/sh /usr/bin/virsh'));
    await unmountVirsh(VICTIM);
    await inHost(VICTIM, ['rm', '-f', HANG]);
    expect(sleepers()).toEqual([]);
  });

  it(`fails that host with a timeout message after ${TIMEOUT_S} s; the run ends; the other hosts converge; exit 2`, async () => {
    expect(r.code, show(r)).toBe(2);
    // Bounded: the timeout plus connecting and the other hosts' work, far from the 600 s of the hung command.
    expect(elapsedMs).toBeLessThan(90_000);
    const byHost = Object.fromEntries(summaryOf(r).hosts.map((h) => [h.host, h]));
    expect(byHost[VICTIM]).toMatchObject({ changed: 0, failed: 1, unreachable: 0 });
    const events = taskEvents(r, VICTIM);
    expect(events.map((e) => [e.task, e.outcome])).toEqual([['gathering facts', 'failed']]);
    expect(events[0]!.message).toMatch(new RegExp(`command timed out after ${TIMEOUT_S * 1000} ms`));
    expect((events[0] as unknown as { durationMs: number }).durationMs).toBeGreaterThanOrEqual(TIMEOUT_S * 1000);
    expect(byHost[VICTIM]?.error).toMatch(/^gathering facts: .*timed out/);
    for (const h of OTHERS) {
      expect(byHost[h]).toMatchObject({ changed: 4, failed: 0, unreachable: 0 });
      expect((await link(h, 'eth1'))?.master).toBe('br0');
      expect(await addresses(h, 'br0')).toEqual(['192.168.0.90/24']);
      expect(await netInfo(h, 'bridged-network')).toMatchObject({ active: true, autostart: true });
    }
    // Nothing was changed on the victim.
    expect(await link(VICTIM, 'br0')).toBeUndefined();
  });

  it('the hung remote command was killed: no `sleep 600` left on the host, also when the run ends right after the timeout', async () => {
    // The kill goes over a channel of its own: give it a moment to land, no more.
    const settle = async () => {
      for (let i = 0; i < 30 && sleepers().length; i++) await sleep(100);
    };
    await settle();
    expect(sleepers(), 'processes still running on the host after the run (3 hosts) ended').toEqual([]);
    // Only the hung host: nothing else keeps the run (and its SSH connection) going after the timeout.
    const alone = await kvmnet(
      ['run', writePlaybook('hang-alone', readFileSync(BRIDGED, 'utf8')), '-i', inventory(), '--limit', VICTIM, '--command-timeout', String(TIMEOUT_S)],
      { timeoutMs: 150_000 },
    );
    expect(alone.code, show(alone)).toBe(2);
    expect(alone.stdout).toMatch(new RegExp(`${VICTIM} \\| gathering facts \\| failed \\| .*command timed out after ${TIMEOUT_S * 1000} ms`));
    await settle();
    expect(sleepers(), 'processes still running on the host after the run (that host alone) ended').toEqual([]);
  });
});
