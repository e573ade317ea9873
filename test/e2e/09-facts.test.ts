// `kvmnet facts --output json` after a converge shows what the host really has.
import { beforeAll, describe, expect, it } from 'vitest';
import { BRIDGED, inventory, jsonEvents, kvmnet, LAB_HOSTS, labHost, link, resetHosts, show, type LabHost } from './helpers.js';

const HOSTS: LabHost[] = ['hv1', 'hv2'];

describe('kvmnet facts', () => {
  beforeAll(async () => {
    await resetHosts(HOSTS);
    // bridged.yaml only: nat-network.yaml's networks are covered by 02 and cost seconds of
    // iptables work per start and stop on a loaded machine.
    const r = await kvmnet(['run', BRIDGED, '-i', inventory(), '--limit', HOSTS.join(',')]);
    expect(r.code, show(r)).toBe(0);
  });

  it('shows br0 with port eth1, its address, and the libvirt networks', async () => {
    const r = await kvmnet(['facts', '-i', inventory(), '--limit', HOSTS.join(','), '--output', 'json']);
    expect(r.code, show(r)).toBe(0);
    const byHost = Object.fromEntries(jsonEvents(r.stdout).map((f) => [f.host as string, f as Record<string, any>]));
    expect(Object.keys(byHost).sort()).toEqual(HOSTS);

    for (const h of HOSTS) {
      const f = byHost[h]!;
      // Cross-check against the kernel: the same bridge, the same port.
      expect((await link(h, 'eth1'))?.master).toBe('br0');
      const br0 = (f.bridges as Array<Record<string, unknown>>).find((b) => b.name === 'br0');
      expect(br0).toMatchObject({ name: 'br0', up: true, stp: true, ports: ['eth1'] });
      expect(f.addresses).toEqual(
        expect.arrayContaining([
          { dev: 'br0', address: '192.168.0.90/24' },
          { dev: 'mgmt0', address: `${labHost(h).address}/24` },
        ]),
      );
      expect(f.ssh).toMatchObject({ address: labHost(h).address, interface: 'mgmt0' });
      expect(f.libvirt).toBe('available');
      const nets = Object.fromEntries((f.networks as Array<Record<string, unknown>>).map((n) => [n.name, n]));
      expect(Object.keys(nets).sort()).toEqual(['bridged-network', 'default']);
      expect(nets['bridged-network']).toMatchObject({ state: 'active', autostart: true, persistent: true, bridge: 'br0', forward: 'bridge' });
      expect(nets.default).toMatchObject({ state: 'inactive', autostart: false, persistent: true, bridge: 'virbr0', forward: 'nat' });
    }
  });

  it('text output lists the same bridge and networks', async () => {
    const r = await kvmnet(['facts', '-i', inventory(), '--limit', HOSTS[0]!]);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/^\s+br0\s+up\s+on\s+.*\beth1\s*$/m);
    expect(r.stdout).toMatch(/^\s+bridged-network\s+active\s+yes\s+yes\s+br0\s+bridge\s*$/m);
    expect(r.stdout).toMatch(/^\s+default\s+inactive\s+no\s+yes\s+virbr0\s+nat\s*$/m);
  });

  it('covers every lab host when not limited', async () => {
    const r = await kvmnet(['facts', '-i', inventory(), '--output', 'json']);
    expect(r.code, show(r)).toBe(0);
    expect(
      jsonEvents(r.stdout)
        .map((f) => f.host)
        .sort(),
    ).toEqual([...LAB_HOSTS]);
  });
});
