// playbooks/bridged.yaml on every lab host: br0 with STP, eth1 as its port, the address on br0,
// and a libvirt network (forward mode bridge) on br0. Everything is read back from the host.
import { beforeAll, describe, expect, it } from 'vitest';
import { addresses, BRIDGED, inventory, isUp, kvmnet, LAB_HOSTS, link, netInfo, netXml, resetHosts, show, summaryOf } from './helpers.js';

describe('bridged.yaml converges fresh hosts', () => {
  beforeAll(async () => {
    await resetHosts(LAB_HOSTS);
  });

  it('runs with exit 0 and reports 4 changes per host', async () => {
    const r = await kvmnet(['run', BRIDGED, '-i', inventory(), '--output', 'json']);
    expect(r.code, show(r)).toBe(0);
    const summary = summaryOf(r);
    expect(summary.hosts.map((h) => [h.host, h.changed, h.failed, h.unreachable])).toEqual(LAB_HOSTS.map((h) => [h, 4, 0, 0]));
  });

  describe.each(LAB_HOSTS)('%s', (host) => {
    it('has br0, a bridge with STP on, up', async () => {
      const br0 = await link(host, 'br0');
      expect(br0?.linkinfo?.info_kind).toBe('bridge');
      expect(br0?.linkinfo?.info_data?.stp_state).toBe(1);
      expect(isUp(br0)).toBe(true);
    });

    it('has eth1 as a port of br0, up', async () => {
      const eth1 = await link(host, 'eth1');
      expect(eth1?.master).toBe('br0');
      expect(eth1?.linkinfo?.info_slave_kind).toBe('bridge');
      expect(isUp(eth1)).toBe(true);
    });

    it('has 192.168.0.90/24 on br0', async () => {
      expect(await addresses(host, 'br0')).toContain('192.168.0.90/24');
    });

    it('has bridged-network active, autostarted, persistent, forward mode bridge on br0', async () => {
      expect(await netInfo(host, 'bridged-network')).toMatchObject({ active: true, autostart: true, persistent: true, bridge: 'br0' });
      const x = await netXml(host, 'bridged-network');
      expect(x.name).toBe('bridged-network');
      expect(x.forward?.mode).toBe('bridge');
      expect(x.bridge?.name).toBe('br0');
    });
  });
});
