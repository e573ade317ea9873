// Selecting guests by what the facts found: a task loops over the running guests' interfaces
// (`facts.libvirt.guests`, domiflist of every running domain) and `when` picks by guest, on the
// facts captured from a lab host with guests (test/fixtures/facts/guest-nics-fixtures.md).
import { afterEach, describe, expect, it } from 'vitest';
import { parsePlaybook } from '../../src/config/playbook.js';
import type { TaskEvent } from '../../src/model/result.js';
import { runHost } from '../../src/run/host-pipeline.js';
import type { Reporter } from '../../src/run/reporter.js';
import { FakeHost } from './support/fake-host.js';
import { testHostJob } from './support/host-job.js';

const hosts: FakeHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()));
});

async function checkRun(yaml: string): Promise<TaskEvent[]> {
  const { playbook, diagnostics } = parsePlaybook('play.yaml', yaml);
  if (!playbook) throw new Error(diagnostics.map((d) => d.message).join('\n'));
  const host = new FakeHost({ facts: 'guest-nics' });
  hosts.push(host);
  const events: TaskEvent[] = [];
  const reporter: Reporter = { playStart() {}, taskStart() {}, taskDone: (e) => events.push(e), hostDone() {}, warn() {}, finish() {} };
  await runHost(testHostJob(playbook.plays[0]!, host, reporter, { check: true }));
  return events;
}

describe('a task over the guests the facts found', () => {
  it('loops over every running guest interface; when selects by guest and network', async () => {
    const events = await checkRun(`- hosts: all
  tasks:
    - name: take guests on default off the wire
      ensure_guest_nic: { domain: "{{ item.guest }}", mac: "{{ item.mac }}", network: default, link: down }
      loop: "{{ facts.libvirt.guests }}"
      when: item.source == 'default'
`);
    // hv1-vm's NIC is on lan: skipped by the condition; k29-nicvm's is on default: its link goes down.
    expect(events.map((e) => [e.task.includes('"hv1-vm"') ? 'hv1-vm' : e.task.includes('"k29-nicvm"') ? 'k29-nicvm' : e.task, e.outcome])).toEqual([
      ['hv1-vm', 'skipped'],
      ['k29-nicvm', 'changed'],
    ]);
    expect(events[1]!.changes).toEqual(['update NIC 52:54:00:7b:04:3b of k29-nicvm in place: link up → down']);
  });

  it('a guest picked by name only', async () => {
    const events = await checkRun(`- hosts: all
  tasks:
    - name: hv1-vm's NIC link down
      ensure_guest_nic: { domain: "{{ item.guest }}", mac: "{{ item.mac }}", network: "{{ item.source }}", link: down }
      loop: "{{ facts.libvirt.guests }}"
      when: item.guest == 'hv1-vm'
`);
    expect(events.map((e) => e.outcome)).toEqual(['changed', 'skipped']);
    expect(events[0]!.task).toContain('"hv1-vm"');
  });
});
