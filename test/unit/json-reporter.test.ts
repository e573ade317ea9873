import { afterEach, describe, expect, it } from 'vitest';
import { parsePlaybook, type PlaySpec } from '../../src/config/playbook.js';
import { changeOps } from '../../src/model/plan.js';
import { JsonReporter } from '../../src/report/json.js';
import { runHost } from '../../src/run/host-pipeline.js';
import { HostRecording } from '../../src/run/saved-plan.js';
import { FakeHost } from './support/fake-host.js';
import { testHostJob } from './support/host-job.js';

describe('JsonReporter', () => {
  it('writes one JSON object per line, each with the time it was written (ISO 8601, ms)', () => {
    const lines: string[] = [];
    const before = Date.now();
    const reporter = new JsonReporter((l) => lines.push(l));
    reporter.warn('careful');
    reporter.batchStart(1, 2, ['hv1']);
    const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map(({ time: _t, ...e }) => e)).toEqual([
      { event: 'warning', message: 'careful' },
      { event: 'batch', batch: 1, batches: 2, hosts: ['hv1'] },
    ]);
    for (const e of events) {
      expect(e.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(Date.parse(e.time as string)).toBeGreaterThanOrEqual(before - 1);
    }
  });
});

// A changed task's event carries its operations exactly as a saved plan (`run --check --out`)
// holds them; on the facts captured from a fresh lab host (test/fixtures/facts/fresh.stdout).
describe('JSON task events of changed tasks carry their operations', () => {
  const hosts: FakeHost[] = [];
  afterEach(async () => {
    for (const h of hosts.splice(0)) await h.close();
  });

  function play(yaml: string): PlaySpec {
    const { playbook, diagnostics } = parsePlaybook('play.yaml', yaml);
    if (!playbook) throw new Error(diagnostics.map((d) => d.message).join('\n'));
    return playbook.plays[0]!;
  }
  const PLAY = `- hosts: all
  tasks:
    - ensure_bridge: { name: br7, stp: false }
    - ensure_ip: { dev: br7, address: 198.18.77.1/24 }
    - ensure_bridge: { name: br7, stp: false }
`;

  async function events(check: boolean): Promise<{ tasks: Array<Record<string, unknown>>; recording: HostRecording; host: FakeHost }> {
    const lines: string[] = [];
    const host = new FakeHost({ facts: 'fresh' });
    hosts.push(host);
    const recording = new HostRecording();
    await runHost(testHostJob(play(PLAY), host, new JsonReporter((l) => lines.push(l)), { check, recording }));
    const tasks = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.event === 'task');
    return { tasks, recording, host };
  }

  it("check mode: the ops of each changed task are the saved plan's; an ok task has none", async () => {
    const { tasks, recording } = await events(true);
    expect(tasks.map((t) => t.outcome)).toEqual(['changed', 'changed', 'ok']);
    const saved = recording.saved().tasks;
    // Through JSON like the plan file, so the comparison is with what a reader of either sees.
    const planned = JSON.parse(JSON.stringify(saved.map((t) => changeOps(t.plan?.changes ?? []))));
    expect(tasks[0]!.ops).toEqual(planned[0]);
    expect(tasks[1]!.ops).toEqual(planned[1]);
    expect(tasks[0]!.ops).toContainEqual(expect.objectContaining({ op: 'link.add', name: 'br7', kind: 'bridge' }));
    expect(tasks[1]!.ops).toEqual([expect.objectContaining({ op: 'addr.add', dev: 'br7', address: '198.18.77.1', prefix: 24, family: 4 })]);
    expect(tasks[2]).not.toHaveProperty('ops');
  });

  it('a real run: the same ops, and they are what the host ran', async () => {
    const { tasks, host } = await events(false);
    expect(tasks.map((t) => t.outcome)).toEqual(['changed', 'changed', 'ok']);
    const ops = [...(tasks[0]!.ops as Array<Record<string, unknown>>), ...(tasks[1]!.ops as Array<Record<string, unknown>>)];
    expect(ops.map((o) => o.op)).toEqual(['link.add', 'link.up', 'addr.add']);
    expect(host.commands).toEqual([
      expect.stringMatching(/^ip link add br7 type bridge .*stp_state 0/),
      'ip link set br7 up',
      expect.stringMatching(/^ip address (add|replace) 198\.18\.77\.1\/24 dev br7/),
    ]);
  });
});
