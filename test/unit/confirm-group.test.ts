// confirm_group: neighbouring tasks applied as ONE commit-confirmed step. The guard itself
// (arming a timer on a host) is replaced by a recorder here: what matters is what it is given —
// every task's changes, one rollback snapshot from before the first task, the links to restore —
// and how the tasks are reported for each outcome.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parsePlaybook } from '../../src/config/playbook.js';
import type { TaskEvent } from '../../src/model/result.js';
import type { ConfirmResult, GuardOptions } from '../../src/run/confirm.js';
import type { Change } from '../../src/model/plan.js';
import { runHost } from '../../src/run/host-pipeline.js';
import { testHostJob } from './support/host-job.js';
import { FakeHost } from './support/fake-host.js';

const guard = vi.hoisted(() => ({ calls: [] as Array<GuardOptions & { changes: Change[] }>, outcome: 'changed' }));
vi.mock('../../src/run/confirm.js', async (importOriginal) => ({
  ...(await importOriginal<object>()),
  applyConfirmed: async (o: GuardOptions & { changes: Change[] }): Promise<ConfirmResult> => {
    guard.calls.push(o);
    return guard.outcome === 'changed'
      ? { outcome: 'changed', conn: o.conn, message: 'confirmed' }
      : { outcome: 'rolled_back', conn: o.conn, message: 'the change cut hv1 off; the rollback timer restored it' };
  },
}));

const hosts: FakeHost[] = [];
afterEach(async () => {
  guard.calls.length = 0;
  await Promise.all(hosts.splice(0).map((h) => h.close()));
});

async function run(yaml: string) {
  const { playbook, diagnostics } = parsePlaybook('play.yaml', yaml);
  if (!playbook) throw new Error(diagnostics.map((d) => d.message).join('\n'));
  const play = playbook.plays[0]!;
  const host = new FakeHost({ facts: 'fresh' });
  hosts.push(host);
  const events: TaskEvent[] = [];
  const outcome = await runHost(
    testHostJob(play, host, { playStart() {}, taskStart() {}, taskDone: (e) => events.push(e), hostDone() {}, warn() {}, finish() {} }),
  );
  return { outcome, events, outcomes: events.map((e) => [e.task, e.outcome]) };
}

const GROUP = `- hosts: all
  tasks:
    - ensure_bridge: { name: br9 }
    - ensure_bridge: { name: brm }
      confirm_group: mgmt
    - ensure_port: { bridge: brm, interface: mgmt0, migrate: true }
      confirm_group: mgmt
    - ensure_ip: { dev: brm, address: 198.18.176.99/24 }
`;

describe('confirm_group', () => {
  it("applies the group's tasks as ONE guarded step: one guard, every change, the facts before the first task", async () => {
    guard.outcome = 'changed';
    const r = await run(GROUP);
    expect(guard.calls).toHaveLength(1);
    const g = guard.calls[0]!;
    expect(g.changes.map((c) => c.summary)).toEqual([
      'create bridge brm (stp off, forward delay 15 s, up)',
      'migrate mgmt0 into brm: move 198.18.176.17/24, route default via 198.18.176.1 to brm, then add mgmt0 to brm',
    ]);
    // The snapshot is from before the group's first task (brm did not exist), after the task before it (br9).
    expect(g.before.links.brm).toBeUndefined();
    expect(g.before.links.br9).toBeDefined();
    expect(g.devices.sort()).toEqual(['brm', 'mgmt0']);
    expect(g.what).toMatch(/^confirm_group 'mgmt' \('ensure_bridge brm', 'ensure_port mgmt0 → brm'; /);
    expect(r.outcomes.map(([, o]) => o)).toEqual(['changed', 'changed', 'changed', 'changed']);
    // The task after the group plans on the group's effects (the address goes to brm, where the session now is).
    expect(r.outcome.facts!.session!.dev).toBe('brm');
  });

  it('a rolled-back group reports each of its tasks rolled_back, stops the host, and the facts go back', async () => {
    guard.outcome = 'rolled_back';
    const r = await run(GROUP);
    expect(guard.calls).toHaveLength(1);
    expect(r.outcomes).toEqual([
      ['ensure_bridge br9', 'changed'],
      ['ensure_bridge brm', 'rolled_back'],
      ['ensure_port mgmt0 → brm', 'rolled_back'],
    ]);
    expect(r.events[2]!.message).toMatch(/guarded as one step: confirm_group 'mgmt', tasks 'ensure_bridge brm', 'ensure_port mgmt0 → brm'/);
    expect(r.outcome.recap).toMatchObject({ rolled_back: 2 });
  });

  it('a task of the group that fails to plan: nothing of the group is sent', async () => {
    guard.outcome = 'changed';
    const r = await run(`- hosts: all
  tasks:
    - ensure_bridge: { name: brm }
      confirm_group: mgmt
    - ensure_port: { bridge: brm, interface: nosuch0 }
      confirm_group: mgmt
`);
    expect(guard.calls).toHaveLength(0);
    expect(r.outcomes.map(([, o]) => o)).toEqual(['failed', 'failed']);
    expect(r.events.find((e) => e.task === 'ensure_bridge brm')!.message).toMatch(/^not applied: a later task of its confirm_group failed/);
  });

  it('a handler in a confirm_group is applied too (a group of its own)', async () => {
    guard.outcome = 'changed';
    const r = await run(`- hosts: all
  tasks:
    - ensure_bridge: { name: br9 }
      notify: move
  handlers:
    - name: move
      ensure_port: { bridge: br9, interface: mgmt0, migrate: true }
      confirm_group: mgmt
`);
    expect(guard.calls).toHaveLength(1);
    expect(guard.calls[0]!.changes.map((c) => c.summary)[0]).toMatch(/^migrate mgmt0 into br9/);
    expect(r.outcomes).toEqual([
      ['ensure_bridge br9', 'changed'],
      ['move', 'changed'],
    ]);
  });

  it('is checked when the playbook is read: a group name, and never on a command', () => {
    const { diagnostics } = parsePlaybook(
      'play.yaml',
      `- hosts: all
  tasks:
    - command: { cmd: ip link show }
      confirm_group: mgmt
    - ensure_bridge: { name: br0 }
      confirm_group: "two words"
`,
    );
    expect(diagnostics.map((d) => d.message)).toEqual([
      'a command task is always guarded on its own and cannot be part of a confirm_group; use confirm: true',
      "expected a group name (letters, digits, '_', '.', '-'), found the string 'two words'",
    ]);
  });
});
