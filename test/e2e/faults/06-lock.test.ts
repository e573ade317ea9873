// Two kvmnet runs against the same host: the second is reported locked, naming the run that holds
// the lock, changes nothing and exits 2; with --wait-lock it waits for the first and then converges.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addresses, BRIDGED, inventory, kvmnet, link, netInfo, resetHost, show, summaryOf, taskEvents, writePlaybook, type LabHost } from '../helpers.js';
import { hostPath, hostProcesses, killLeftovers, sleep, spawnKvmnet, waitDuringRun } from './support.js';

const HOST: LabHost = 'hv1';
const STARTED = '/run/kvmnet-e2e-lock-started';
const RELEASE = '/run/kvmnet-e2e-lock-release';

/**
 * The first run: holds the host (a command that waits for the test to create RELEASE, 60 s at
 * most) and then makes a bridge br0 without STP. Resolves once the command runs.
 */
async function startHolder() {
  const playbook = writePlaybook(
    'lock-holder',
    `- name: holds the lock
  hosts: all
  tasks:
    - name: wait for the test
      command: { cmd: "touch ${STARTED}; i=0; while [ ! -e ${RELEASE} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done" }
    - name: bridge br0
      ensure_bridge: { name: br0, stp: false }
`,
  );
  for (const f of [STARTED, RELEASE]) rmSync(hostPath(HOST, f), { force: true });
  const run = spawnKvmnet(['run', playbook, '-i', inventory(), '--limit', HOST], { timeoutMs: 120_000 });
  await waitDuringRun(run, 'the first run to hold the host', () => existsSync(hostPath(HOST, STARTED)));
  return run;
}

const release = () => writeFileSync(hostPath(HOST, RELEASE), '');

describe('two runs against the same host', () => {
  beforeAll(async () => {
    await resetHost(HOST);
  });

  afterAll(async () => {
    await killLeftovers(HOST, (p) => p.args.includes(STARTED));
    for (const f of [STARTED, RELEASE]) rmSync(hostPath(HOST, f), { force: true });
  });

  it('the second is reported locked, naming the holder, exits 2 and changes nothing', async () => {
    const first = await startHolder();
    const second = await kvmnet(['run', writePlaybook('lock-second', readFileSync(BRIDGED, 'utf8')), '-i', inventory(), '--limit', HOST, '--output', 'json']);
    expect(second.code, show(second)).toBe(2);
    const events = taskEvents(second, HOST);
    expect(events.map((e) => [e.task, e.outcome])).toEqual([['gathering facts', 'failed']]);
    expect(events[0]!.message).toMatch(new RegExp(`^${HOST} is locked by another run: kvmnet pid ${first.pid} on \\S+ \\(\\S+\\) since \\d{4}-\\d\\d-\\d\\dT`));
    expect(events[0]!.message).toMatch(/--wait-lock/);
    expect(summaryOf(second).hosts).toMatchObject([{ host: HOST, changed: 0, failed: 1, unreachable: 0 }]);

    // The holder was still holding when the second gave up.
    expect(first.exited()).toBe(false);
    release();
    const r = await first.done;
    expect(r.code, show(r)).toBe(0);
    // State is the first run's, complete, and nothing of the second's: br0 without STP, no port, no address, no network.
    const br0 = await link(HOST, 'br0');
    expect(br0?.linkinfo?.info_data?.stp_state).toBe(0);
    expect((await link(HOST, 'eth1'))?.master).toBeUndefined();
    expect(await addresses(HOST, 'br0')).toEqual([]);
    expect(await netInfo(HOST, 'bridged-network')).toBeUndefined();
  });

  it('with --wait-lock 30 the second waits for the first to finish, then converges', async () => {
    await resetHost(HOST);
    const first = await startHolder();
    const playbook = writePlaybook('lock-second', readFileSync(BRIDGED, 'utf8'));
    const second = spawnKvmnet(['run', playbook, '-i', inventory(), '--limit', HOST, '--output', 'json', '--wait-lock', '30'], { timeoutMs: 120_000 });
    // The second is blocked on the host's lock (its flock, with the 30 s asked for), longer than the default 2 s.
    await waitDuringRun(second, 'the second run to wait for the lock', () => hostProcesses(HOST).some((p) => p.args === 'flock -w 30 9'));
    await sleep(3000);
    expect(second.exited()).toBe(false);
    release();
    const [a, b] = await Promise.all([first.done, second.done]);
    expect(a.code, show(a)).toBe(0);
    expect(b.code, show(b)).toBe(0);
    expect(b.endedAt).toBeGreaterThanOrEqual(a.endedAt);
    // The first made br0 without STP; the second found it and turned STP on (the bridge task changed).
    expect(taskEvents(b, HOST).map((e) => e.outcome)).toEqual(['changed', 'changed', 'changed', 'changed']);
    expect(summaryOf(b).hosts).toMatchObject([{ host: HOST, changed: 4, failed: 0, unreachable: 0 }]);
    expect((await link(HOST, 'br0'))?.linkinfo?.info_data?.stp_state).toBe(1);
    expect((await link(HOST, 'eth1'))?.master).toBe('br0');
    expect(await addresses(HOST, 'br0')).toEqual(['192.168.0.90/24']);
    expect(await netInfo(HOST, 'bridged-network')).toMatchObject({ active: true, autostart: true });
  });
});
