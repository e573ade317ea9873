// playbooks/nat-network.yaml: net10 (NAT, its own bridge br10, DHCP) and libvirt's `default`,
// both active and autostarted. Read back with virsh net-info / net-dumpxml and ip.
import { beforeAll, describe, expect, it } from 'vitest';
import { addresses, inventory, isUp, kvmnet, LAB_HOSTS, link, NAT, netInfo, netXml, resetHosts, show, summaryOf } from './helpers.js';

describe('nat-network.yaml converges fresh hosts', () => {
  beforeAll(async () => {
    await resetHosts(LAB_HOSTS);
  });

  it('runs with exit 0: net10 defined+started+autostarted, default started+autostarted', async () => {
    const r = await kvmnet(['run', NAT, '-i', inventory(), '--output', 'json']);
    expect(r.code, show(r)).toBe(0);
    expect(summaryOf(r).hosts.map((h) => [h.host, h.changed, h.failed, h.unreachable])).toEqual(LAB_HOSTS.map((h) => [h, 2, 0, 0]));
  });

  describe.each(LAB_HOSTS)('%s', (host) => {
    it('has net10 as specified, active and autostarted', async () => {
      expect(await netInfo(host, 'net10')).toMatchObject({ active: true, autostart: true, persistent: true, bridge: 'br10' });
      const x = await netXml(host, 'net10');
      expect(x.forward?.mode).toBe('nat');
      expect(x.forward?.nat?.port).toEqual({ start: '1024', end: '65535' });
      expect(x.bridge).toMatchObject({ name: 'br10', stp: 'on', delay: '0' });
      expect(x.ip).toHaveLength(1);
      expect(x.ip?.[0]).toMatchObject({ address: '192.168.30.1', netmask: '255.255.255.0' });
      expect(x.ip?.[0]?.dhcp?.range).toEqual([{ start: '192.168.30.50', end: '192.168.30.200' }]);
    });

    it('has br10 in the kernel: a bridge with STP on, carrying 192.168.30.1/24', async () => {
      const br10 = await link(host, 'br10');
      expect(br10?.linkinfo?.info_kind).toBe('bridge');
      expect(br10?.linkinfo?.info_data?.stp_state).toBe(1);
      expect(isUp(br10)).toBe(true);
      expect(await addresses(host, 'br10')).toEqual(['192.168.30.1/24']);
    });

    it('has default active and autostarted (still on virbr0)', async () => {
      expect(await netInfo(host, 'default')).toMatchObject({ active: true, autostart: true, persistent: true, bridge: 'virbr0' });
      const x = await netXml(host, 'default');
      expect(x.forward?.mode).toBe('nat');
      expect(x.ip?.[0]?.dhcp?.range).toEqual([{ start: '192.168.122.2', end: '192.168.122.254' }]);
    });
  });
});
