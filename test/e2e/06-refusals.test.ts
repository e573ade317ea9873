// Refusals: kvmnet must not plug the NIC that carries its own SSH session into a bridge, nor a
// NIC into a bridge libvirt owns (virbr0 of a NAT network). The host stays as it was.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  addresses,
  expectFresh,
  inHost,
  inventory,
  isUp,
  kvmnet,
  labHost,
  link,
  netInfo,
  resetHost,
  show,
  summaryOf,
  taskEvents,
  virsh,
  writePlaybook,
  type LabHost,
} from './helpers.js';

const HOST: LabHost = 'hv3';

const SESSION_NIC = `- name: plug the management NIC into a bridge
  hosts: all
  tasks:
    - name: bridge br0
      ensure_bridge: { name: br0 }
    - name: mgmt0 into br0
      ensure_port: { bridge: br0, interface: mgmt0 }
`;

const LIBVIRT_BRIDGE = `- name: plug a NIC into libvirt's NAT bridge
  hosts: all
  tasks:
    - name: eth2 into virbr0
      ensure_port: { bridge: virbr0, interface: eth2 }
`;

async function expectManagementIntact(): Promise<void> {
  const mgmt0 = await link(HOST, 'mgmt0');
  expect(mgmt0?.master).toBeUndefined();
  expect(isUp(mgmt0)).toBe(true);
  expect(await addresses(HOST, 'mgmt0')).toEqual([`${labHost(HOST).address}/24`]);
  const routes = await inHost(HOST, ['ip', '-j', 'route', 'show', 'default']);
  expect((JSON.parse(routes.stdout) as Array<{ dev: string }>).map((r) => r.dev)).toEqual(['mgmt0']);
}

describe('refusals', () => {
  beforeAll(async () => {
    await resetHost(HOST);
  });

  it('refuses to add the NIC that carries the SSH session to a bridge (check mode: nothing at all changes)', async () => {
    const playbook = writePlaybook('session-nic', SESSION_NIC);
    const r = await kvmnet(['run', playbook, '-i', inventory(), '--limit', HOST, '--check', '--output', 'json']);
    expect(r.code, show(r)).toBe(2);
    const port = taskEvents(r, HOST).find((e) => e.task === 'mgmt0 into br0');
    expect(port?.outcome).toBe('failed');
    expect(port?.message).toMatch(/SSH session/);
    await expectFresh(HOST);
  });

  it('refuses it in a real run: exit 2, message about the SSH session, mgmt0 untouched', async () => {
    const playbook = writePlaybook('session-nic', SESSION_NIC);
    const r = await kvmnet(['run', playbook, '-i', inventory(), '--limit', HOST]);
    expect(r.code, show(r)).toBe(2);
    expect(r.stdout).toMatch(/mgmt0 into br0 \| failed \|.*SSH session/);
    await expectManagementIntact();
    // The bridge task before it ran (tasks apply in order); the refused port never happened.
    expect((await link(HOST, 'br0'))?.linkinfo?.info_kind).toBe('bridge');
    expect((await link(HOST, 'eth1'))?.master).toBeUndefined();

    // And the host is still reachable over that session's path.
    const facts = await kvmnet(['facts', '-i', inventory(), '--limit', HOST, '--output', 'json']);
    expect(facts.code, show(facts)).toBe(0);
  });

  it('refuses to plug eth2 into virbr0 (owned by the libvirt NAT network default)', async () => {
    await resetHost(HOST);
    await virsh(HOST, ['-q', 'net-start', 'default']);
    expect(await netInfo(HOST, 'default')).toMatchObject({ active: true, bridge: 'virbr0' });

    const playbook = writePlaybook('libvirt-bridge', LIBVIRT_BRIDGE);
    const r = await kvmnet(['run', playbook, '-i', inventory(), '--limit', HOST, '--output', 'json']);
    expect(r.code, show(r)).toBe(2);
    expect(summaryOf(r).hosts).toMatchObject([{ host: HOST, failed: 1, changed: 0 }]);
    const [event] = taskEvents(r, HOST);
    expect(event?.outcome).toBe('failed');
    expect(event?.message).toMatch(/libvirt/);

    const eth2 = await link(HOST, 'eth2');
    expect(eth2?.master).toBeUndefined();
    expect(isUp(eth2)).toBe(false);
    const virbr0Ports = (await inHost(HOST, ['ip', '-j', 'link', 'show', 'master', 'virbr0'])).stdout.trim();
    expect(JSON.parse(virbr0Ports || '[]')).toEqual([]);
    await expectManagementIntact();
  });
});
