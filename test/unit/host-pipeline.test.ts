// The per-host pipeline on a fake host (captured facts, stubbed ip/virsh): what goes to the host,
// in how many execs, what is reported, and what the SSH-path guard refuses.
import { afterEach, describe, expect, it } from 'vitest';
import { parsePlaybook } from '../../src/config/playbook.js';
import type { TaskEvent } from '../../src/model/result.js';
import { runHost } from '../../src/run/host-pipeline.js';
import { testHostJob } from './support/host-job.js';
import type { Reporter } from '../../src/run/reporter.js';
import { FakeHost, type FakeHostOptions } from './support/fake-host.js';

const hosts: FakeHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()));
});

function recorder(): Reporter & { events: TaskEvent[] } {
  const events: TaskEvent[] = [];
  return { events, playStart() {}, taskStart() {}, taskDone: (e) => events.push(e), hostDone() {}, warn() {}, finish() {} };
}

async function run(yaml: string, fake: FakeHostOptions, opts: { check?: boolean; confirm?: boolean; stopAfter?: number } = {}) {
  const { playbook, diagnostics } = parsePlaybook('play.yaml', yaml);
  if (!playbook) throw new Error(diagnostics.map((d) => d.message).join('\n'));
  const play = playbook.plays[0]!;
  const host = new FakeHost(fake);
  hosts.push(host);
  const reporter = recorder();
  const job = testHostJob(play, host, reporter, {
    check: opts.check ?? false,
    confirm: opts.confirm ?? false,
    // Like a Ctrl-C once `stopAfter` tasks have been reported.
    stopping: () => opts.stopAfter !== undefined && reporter.events.length >= opts.stopAfter,
  });
  const outcome = await runHost(job);
  const outcomes = reporter.events.map((e) => [e.task, e.outcome]);
  return { outcome, host, events: reporter.events, outcomes };
}

const BRIDGED = `- hosts: all
  tasks:
    - ensure_bridge: { name: br0 }
    - ensure_port: { bridge: br0, interface: eth1 }
    - ensure_ip: { dev: br0, address: 192.168.0.90/24 }
`;

describe('host pipeline', () => {
  it("a play's changes go to the host as ONE exec after the facts, in task order", async () => {
    const r = await run(BRIDGED, { facts: 'fresh' });
    expect(r.outcomes).toEqual([
      ['ensure_bridge br0', 'changed'],
      ['ensure_port eth1 → br0', 'changed'],
      ['ensure_ip 192.168.0.90/24 on br0', 'changed'],
    ]);
    expect(r.host.stats.execs).toBe(2);
    expect(r.host.commands).toEqual([
      'ip link add br0 type bridge stp_state 0',
      'ip link set br0 up',
      'ip link set eth1 up',
      'ip link set eth1 master br0',
      'ip address add 192.168.0.90/24 dev br0',
    ]);
    expect(r.outcome.recap).toMatchObject({ changed: 3, failed: 0 });
    // The facts the play leaves behind describe the host after the changes.
    expect(r.outcome.facts!.links.eth1!.master).toBe('br0');
  });

  it('--check plans against the updated facts and sends nothing but the facts exec', async () => {
    const r = await run(BRIDGED, { facts: 'fresh' }, { check: true });
    expect(r.outcomes.map(([, o]) => o)).toEqual(['changed', 'changed', 'changed']);
    expect(r.host.stats.execs).toBe(1);
    expect(r.events[1]!.changes).toEqual(['bring eth1 up', 'add eth1 to br0']);
    expect(r.events[0]!.diff).toEqual({ before: 'br0: absent', after: 'br0: bridge stp off forward_delay 15s mtu 1500 up\nbr0: no addresses' });
  });

  it('a converged host is all ok, in one exec', async () => {
    const r = await run(BRIDGED, { facts: 'converged' });
    expect(r.outcomes.map(([, o]) => o)).toEqual(['ok', 'ok', 'ok']);
    expect(r.events[1]!.message).toBe('eth1 is already a port of br0 and up');
    expect(r.host.stats.execs).toBe(1);
  });

  it('a task failing on the host: the ones before count as applied, the one after never runs, its error is its own', async () => {
    const r = await run(BRIDGED, { facts: 'fresh', failOn: /master br0/ });
    expect(r.outcomes).toEqual([
      ['ensure_bridge br0', 'changed'],
      ['ensure_port eth1 → br0', 'failed'],
    ]);
    expect(r.events[1]!.message).toBe('bring eth1 up; add eth1 to br0: RTNETLINK answers: Operation not permitted');
    expect(r.host.commands).not.toContain('ip address add 192.168.0.90/24 dev br0');
    expect(r.outcome.recap).toMatchObject({
      changed: 1,
      failed: 1,
      error: 'ensure_port eth1 → br0: bring eth1 up; add eth1 to br0: RTNETLINK answers: Operation not permitted',
    });
  });

  it('ignore_errors: the failing task is sent on its own, reported ignored, the facts stay as before it, and the host goes on', async () => {
    const r = await run(
      `- hosts: all
  tasks:
    - ensure_bridge: { name: br0 }
    - ensure_port: { bridge: br0, interface: eth1 }
      ignore_errors: true
    - ensure_port: { bridge: br0, interface: eth2 }
`,
      { facts: 'fresh', failOn: /eth1 master/ },
    );
    expect(r.outcomes.map(([, o]) => o)).toEqual(['changed', 'failed', 'changed']);
    expect(r.events[1]!.ignored).toBe(true);
    expect(r.outcome.recap).toMatchObject({ changed: 2, failed: 0, ignored: 1 });
    expect(r.outcome.facts!.links.eth1!.master).toBeUndefined();
    expect(r.host.stats.execs).toBe(4);
  });

  it("register holds a task's result, and an undefined part of it is that later task's failure, naming the variable", async () => {
    const r = await run(
      `- hosts: all
  tasks:
    - ensure_bridge: { name: br0 }
      register: made
    - ensure_ip: { dev: "{{ made.data.name }}", address: 192.168.0.90/24 }
    - ensure_ip: { dev: br0, address: "192.168.0.{{ made.suffix }}/24" }
`,
      { facts: 'fresh' },
      { check: true },
    );
    expect(r.outcomes).toEqual([
      ['ensure_bridge br0', 'changed'],
      ['ensure_ip 192.168.0.90/24 on {{ made.data.name }}', 'failed'],
    ]);
    // `made` has no `data`: the registered result is flat (name, exists, changes, …).
    expect(r.events[1]!.message).toMatch(/undefined variable 'made.data.name'/);
  });
});

describe('stopping (SIGINT)', () => {
  it('no new task starts, and the recap names the tasks that never started', async () => {
    const r = await run(BRIDGED, { facts: 'fresh' }, { check: true, stopAfter: 1 });
    expect(r.outcomes).toEqual([['ensure_bridge br0', 'changed']]);
    expect(r.outcome.recap.notStarted).toEqual(['ensure_port eth1 → br0', 'ensure_ip 192.168.0.90/24 on br0']);
  });
});

describe('the SSH path guard, from what changes touch', () => {
  const MIGRATE_THEN_UNDO = `- hosts: all
  tasks:
    - ensure_bridge: { name: brm }
    - ensure_port: { bridge: brm, interface: mgmt0, migrate: true }
    - ensure_port: { bridge: brm, interface: mgmt0, state: absent }
`;

  it('after a migration onto a bridge, a later task that takes the NIC out of it is refused (the session now runs over brm)', async () => {
    const r = await run(MIGRATE_THEN_UNDO, { facts: 'fresh' }, { check: true });
    expect(r.outcomes.map(([, o]) => o)).toEqual(['changed', 'changed', 'failed']);
    expect(r.events[2]!.message).toMatch(
      /^refused: this change re-parents mgmt0, and the SSH session runs over brm, mgmt0 \(198\.18\.176\.17 on brm\); it could cut the host off/,
    );
  });

  it('taking down the bridge that carries the session is refused without confirm', async () => {
    const r = await run(
      `- hosts: all
  tasks:
    - ensure_bridge: { name: brm }
    - ensure_port: { bridge: brm, interface: mgmt0, migrate: true }
    - ensure_bridge: { name: brm, up: false }
`,
      { facts: 'fresh' },
      { check: true },
    );
    expect(r.outcomes.map(([, o]) => o)).toEqual(['changed', 'changed', 'failed']);
    expect(r.events[2]!.message).toMatch(/refused: this change takes down brm/);
  });

  it('a change off the path is not guarded: eth1 into a new bridge goes in the batch', async () => {
    const r = await run(BRIDGED, { facts: 'fresh' });
    expect(r.host.scripts.some((s) => s.includes('rollback'))).toBe(false);
  });
});
