// state: absent for every task type undoes what bridged.yaml and nat-network.yaml made.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  addresses,
  BRIDGED,
  convergeBoth,
  inventory,
  isUp,
  kvmnet,
  link,
  netInfo,
  netList,
  resetHost,
  show,
  summaryOf,
  taskEvents,
  writePlaybook,
  type LabHost,
} from './helpers.js';

const HOST: LabHost = 'hv2';

const ABSENT = `- name: take it all away
  hosts: all
  tasks:
    - name: no bridged-network
      ensure_libvirt_net: { name: bridged-network, state: absent }
    - name: eth1 not a port of br0
      ensure_port: { bridge: br0, interface: eth1, state: absent }
    - name: no address on br0
      ensure_ip: { dev: br0, address: 192.168.0.90/24, state: absent }
    - name: no br0
      ensure_bridge: { name: br0, state: absent }
    - name: no net10
      ensure_libvirt_net: { name: net10, state: absent }
`;

describe('state: absent', () => {
  beforeAll(async () => {
    await resetHost(HOST);
    await convergeBoth([HOST]);
    expect((await link(HOST, 'eth1'))?.master).toBe('br0');
    expect(await netInfo(HOST, 'net10')).toMatchObject({ active: true });
  });

  it('removes the network, the port, the address, the bridge and net10', async () => {
    const playbook = writePlaybook('absent', ABSENT);
    const r = await kvmnet(['run', playbook, '-i', inventory(), '--limit', HOST, '--output', 'json']);
    expect(r.code, show(r)).toBe(0);
    expect(taskEvents(r, HOST).map((e) => [e.task, e.outcome])).toEqual([
      ['no bridged-network', 'changed'],
      ['eth1 not a port of br0', 'changed'],
      ['no address on br0', 'changed'],
      ['no br0', 'changed'],
      ['no net10', 'changed'],
    ]);

    expect(await netInfo(HOST, 'bridged-network')).toBeUndefined();
    expect(await netInfo(HOST, 'net10')).toBeUndefined();
    const eth1 = await link(HOST, 'eth1');
    expect(eth1).toBeDefined();
    expect(eth1?.master).toBeUndefined();
    expect(await link(HOST, 'br0')).toBeUndefined();
    expect(await link(HOST, 'br10')).toBeUndefined();
    expect(await addresses(HOST, 'br0')).toEqual([]);
    // nat-network.yaml's `default` is not the playbook's business: still there, still running.
    expect((await netList(HOST)).map((n) => [n.name, n.state])).toEqual([['default', 'active']]);
    expect(isUp(await link(HOST, 'virbr0'))).toBe(true);

    const again = await kvmnet(['run', playbook, '-i', inventory(), '--limit', HOST, '--output', 'json']);
    expect(again.code, show(again)).toBe(0);
    expect(summaryOf(again).hosts).toMatchObject([{ host: HOST, changed: 0, ok: 5 }]);
  });

  it('ensure_ip absent removes only that address, ensure_port absent only that port', async () => {
    // After the test above the host has only `default` running: no reset needed (and stopping a
    // NAT network costs seconds of iptables work on a loaded machine).
    const r0 = await kvmnet(['run', BRIDGED, '-i', inventory(), '--limit', HOST]);
    expect(r0.code, show(r0)).toBe(0);
    const partial = writePlaybook(
      'absent-partial',
      `- hosts: all
  tasks:
    - ensure_ip: { dev: br0, address: 192.168.0.90/24, state: absent }
    - ensure_port: { bridge: br0, interface: eth1, state: absent }
`,
    );
    const r = await kvmnet(['run', partial, '-i', inventory(), '--limit', HOST]);
    expect(r.code, show(r)).toBe(0);
    const br0 = await link(HOST, 'br0');
    expect(br0?.linkinfo?.info_kind).toBe('bridge');
    expect(await addresses(HOST, 'br0')).toEqual([]);
    expect((await link(HOST, 'eth1'))?.master).toBeUndefined();
    expect(await netInfo(HOST, 'bridged-network')).toMatchObject({ active: true });
  });
});
