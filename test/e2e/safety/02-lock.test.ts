// One run per host at a time: a second run against a host that a first run holds is reported
// locked, naming the holder, and does nothing; with --wait-lock it waits its turn. The first run
// holds the host with a `command` task that waits for a release file the test writes, so "the
// second run came while the first was busy" is a fact, not a race on sleeps.
import { existsSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { link, show, writePlaybook } from '../helpers.js';
import {
  fleetInventory,
  growLab,
  hostPath,
  hostProcesses,
  hv,
  killHostProcesses,
  markerLines,
  outcomes,
  removeHostFiles,
  resetFleet,
  runJson,
  sleep,
  waitFor,
} from '../rollout/support.js';
import { spawnKvmnet } from '../exec.js';

describe('two runs against one host', () => {
  const H = hv(5);
  const STARTED = '/root/lock-started';
  const RELEASE = '/root/lock-release';
  const ORDER = '/root/lock-order';

  // The first run: a slow command (it waits for RELEASE, at most 60 s), then marks its turn.
  const holder = () =>
    writePlaybook(
      'lock-holder',
      `- name: holds the host
  hosts: lab
  tasks:
    - name: slow command
      command: { cmd: 'touch ${STARTED}; i=0; while [ ! -e ${RELEASE} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; echo first >> ${ORDER}' }
`,
    );
  // The second run: a bridge and a mark of its own.
  const second = () =>
    writePlaybook(
      'lock-second',
      `- name: second
  hosts: lab
  tasks:
    - name: bridge br1
      ensure_bridge: { name: br1 }
    - name: mark
      command: { cmd: 'echo second >> ${ORDER}' }
`,
    );

  let inv: string;
  const startHolder = async () => {
    removeHostFiles([H], [STARTED, RELEASE]);
    const run = spawnKvmnet(['run', holder(), '-i', inv, '--limit', H, '--output', 'json'], { timeoutMs: 150_000 });
    await waitFor('the first run to be busy on the host', () => existsSync(hostPath(H, STARTED)), 90_000);
    return run;
  };
  const release = () => writeFileSync(hostPath(H, RELEASE), '');

  beforeAll(async () => {
    await growLab();
    await resetFleet([H], [STARTED, RELEASE, ORDER]);
    inv = fleetInventory('lock');
  });
  afterAll(async () => {
    killHostProcesses(H, (cmdline) => cmdline.includes(RELEASE));
    await resetFleet([H], [STARTED, RELEASE, ORDER]);
  });

  it('the second is reported locked, naming the holder, exits 2 and does nothing', async () => {
    const first = await startHolder();
    const locked = await runJson([second(), '-i', inv, '--limit', H]);
    release();
    const done = await first.done;

    expect(locked.r.code, show(locked.r)).toBe(2);
    expect(outcomes(locked.tasks)).toEqual([[H, 'gathering facts', 'failed']]);
    expect(locked.tasks[0]!.message).toMatch(
      new RegExp(`^${H} is locked by another run: kvmnet pid ${first.pid} on \\S+ \\(\\S+\\) since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z`),
    );
    expect(locked.summary.hosts).toMatchObject([{ host: H, ok: 0, changed: 0, failed: 1 }]);
    expect(done.code, show(done)).toBe(0);
    // Nothing of the second run on the host; the first run's work complete.
    expect(await link(H, 'br1')).toBeUndefined();
    expect(markerLines(H, ORDER)).toEqual(['first']);
  });

  it('with --wait-lock 30 the second waits for the first, then runs', async () => {
    removeHostFiles([H], [ORDER]);
    const first = await startHolder();
    const waiting = spawnKvmnet(['run', second(), '-i', inv, '--limit', H, '--wait-lock', '30', '--output', 'json'], { timeoutMs: 150_000 });
    // The second run's facts command is waiting on the host's lock (flock -w 30) while the first is busy.
    await waitFor('the second run to wait for the lock', () => hostProcesses(H).some((p) => /^flock -w 30 /.test(p.cmdline)), 60_000);
    await sleep(1000);
    expect(markerLines(H, ORDER), 'nothing of the second run while the first holds the host').toEqual([]);
    release();
    const [a, b] = await Promise.all([first.done, waiting.done]);
    expect(a.code, show(a)).toBe(0);
    expect(b.code, show(b)).toBe(0);
    expect(b.endedAt).toBeGreaterThanOrEqual(a.endedAt - 1000);
    expect(markerLines(H, ORDER)).toEqual(['first', 'second']);
    expect((await link(H, 'br1'))?.linkinfo?.info_kind).toBe('bridge');
  });
});
