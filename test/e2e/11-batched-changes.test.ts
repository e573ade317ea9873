// A play's changes reach a host as ONE exec. A failure that only the host can find (libvirt
// refuses to start a NAT network on a subnet an interface already uses) is still the failure of
// exactly that task: the tasks before it are applied, the ones after it never run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addresses, inventory, kvmnet, link, netInfo, resetHost, show, summaryOf, taskEvents, writePlaybook, type LabHost } from './helpers.js';

const HOST: LabHost = 'hv3';

const CLASH = `- name: a failure in the middle of a batch
  hosts: all
  tasks:
    - name: bridge br0
      ensure_bridge: { name: br0 }
    - name: address on br0
      ensure_ip: { dev: br0, address: 192.168.0.90/24 }
    - name: NAT network on br0's subnet
      ensure_libvirt_net:
        name: kvmnet-e2e-clash
        forward: nat
        bridge: { name: virbr9 }
        ip: { address: 192.168.0.1, netmask: 255.255.255.0 }
        state: active
    - name: second address on br0
      ensure_ip: { dev: br0, address: 192.168.1.90/24 }
`;

describe('changes batched into one exec', () => {
  beforeAll(() => resetHost(HOST));
  afterAll(() => resetHost(HOST));

  it('a task failing on the host stops there: the ones before applied, the one after never run, 2 execs in all', async () => {
    const r = await kvmnet(['run', writePlaybook('batch-clash', CLASH), '-i', inventory(), '--limit', HOST, '--output', 'json']);
    expect(r.code, show(r)).toBe(2);
    const events = taskEvents(r, HOST);
    expect(
      events.map((e) => [e.task, e.outcome]),
      show(r),
    ).toEqual([
      ['bridge br0', 'changed'],
      ['address on br0', 'changed'],
      ["NAT network on br0's subnet", 'failed'],
    ]);
    // libvirt's own words, on one line, after what kvmnet was doing.
    expect(events[2]!.message).toMatch(/^define network kvmnet-e2e-clash; start network kvmnet-e2e-clash: .*already in use by interface br0/);
    expect(events[2]!.message).not.toContain('\n');
    const summary = summaryOf(r) as ReturnType<typeof summaryOf> & { stats: { connections: number; execs: number } };
    expect(summary.stats).toEqual({ connections: 1, execs: 2, factsTopUps: 0 });

    // Read back without kvmnet: br0 and its first address exist, the network was defined but
    // not started (the define ran, then the start failed), the last task never ran.
    expect((await link(HOST, 'br0'))?.linkinfo?.info_kind).toBe('bridge');
    expect(await addresses(HOST, 'br0')).toEqual(['192.168.0.90/24']);
    expect(await netInfo(HOST, 'kvmnet-e2e-clash')).toMatchObject({ active: false });
  });

  it('the next run picks up where it stopped: only the failed task is still to do', async () => {
    const r = await kvmnet(['run', writePlaybook('batch-clash', CLASH), '-i', inventory(), '--limit', HOST, '--output', 'json', '--check']);
    expect(
      taskEvents(r, HOST).map((e) => [e.task, e.outcome]),
      show(r),
    ).toEqual([
      ['bridge br0', 'ok'],
      ['address on br0', 'ok'],
      ["NAT network on br0's subnet", 'changed'],
      ['second address on br0', 'changed'],
    ]);
  });
});
