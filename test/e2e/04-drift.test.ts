// Drift repair: what someone changed by hand (a deleted bridge) or in the playbook (a template
// edit) is put right by the next run, and --diff shows the edit.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  addresses,
  BRIDGED,
  inHost,
  inventory,
  isUp,
  kvmnet,
  link,
  NAT,
  netInfo,
  netXml,
  resetHost,
  show,
  summaryOf,
  taskEvents,
  writePlaybook,
  type LabHost,
} from './helpers.js';

const HOST: LabHost = 'hv1';

describe('drift repair', () => {
  beforeAll(async () => {
    await resetHost(HOST);
  });

  it('a bridge deleted by hand is recreated, eth1 re-enslaved and the address re-added', async () => {
    const first = await kvmnet(['run', BRIDGED, '-i', inventory(), '--limit', HOST]);
    expect(first.code, show(first)).toBe(0);
    const oldIndex = (await link(HOST, 'br0'))?.ifindex;
    expect(oldIndex).toBeTypeOf('number');

    await inHost(HOST, ['ip', 'link', 'del', 'br0']);
    expect(await link(HOST, 'br0')).toBeUndefined();
    expect((await link(HOST, 'eth1'))?.master).toBeUndefined();

    const r = await kvmnet(['run', BRIDGED, '-i', inventory(), '--limit', HOST, '--output', 'json']);
    expect(r.code, show(r)).toBe(0);
    // bridge, port, address; the libvirt network (forward mode bridge) stayed defined and active.
    expect(summaryOf(r).hosts).toMatchObject([{ host: HOST, changed: 3, failed: 0 }]);
    expect(taskEvents(r, HOST).map((e) => e.outcome)).toEqual(['changed', 'changed', 'changed', 'ok']);

    const br0 = await link(HOST, 'br0');
    expect(br0?.linkinfo?.info_kind).toBe('bridge');
    expect(br0?.ifindex).not.toBe(oldIndex);
    expect(br0?.linkinfo?.info_data?.stp_state).toBe(1);
    expect(isUp(br0)).toBe(true);
    const eth1 = await link(HOST, 'eth1');
    expect(eth1?.master).toBe('br0');
    expect(isUp(eth1)).toBe(true);
    expect(await addresses(HOST, 'br0')).toEqual(['192.168.0.90/24']);
    expect(await netInfo(HOST, 'bridged-network')).toMatchObject({ active: true, autostart: true, bridge: 'br0' });
  });

  it('an edited DHCP range is applied to net10 live (no restart), and --diff shows the old and new range', async () => {
    const first = await kvmnet(['run', NAT, '-i', inventory(), '--limit', HOST]);
    expect(first.code, show(first)).toBe(0);
    const before = await netInfo(HOST, 'net10');
    expect(before).toMatchObject({ active: true, autostart: true });
    const oldBr10 = (await link(HOST, 'br10'))?.ifindex;
    expect((await netXml(HOST, 'net10')).ip?.[0]?.dhcp?.range).toEqual([{ start: '192.168.30.50', end: '192.168.30.200' }]);

    const original = readFileSync(NAT, 'utf8');
    expect(original).toContain('end: 192.168.30.200');
    const edited = writePlaybook('nat-edited', original.replace('end: 192.168.30.200', 'end: 192.168.30.150'));

    const r = await kvmnet(['run', edited, '-i', inventory(), '--limit', HOST, '--diff']);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/^\s*-\s*<range start="192\.168\.30\.50" end="192\.168\.30\.200"\/>/m);
    expect(r.stdout).toMatch(/^\s*\+\s*<range start="192\.168\.30\.50" end="192\.168\.30\.150"\/>/m);
    expect(r.stdout).toMatch(/update network net10 live, guests keep their link/);
    expect(r.stdout).toContain('live update, guests keep their link');

    // Live and persistent definitions both carry the new range; the network runs again, still autostarted, same UUID.
    expect((await netXml(HOST, 'net10')).ip?.[0]?.dhcp?.range).toEqual([{ start: '192.168.30.50', end: '192.168.30.150' }]);
    expect((await netXml(HOST, 'net10', { inactive: true })).ip?.[0]?.dhcp?.range).toEqual([{ start: '192.168.30.50', end: '192.168.30.150' }]);
    expect(await netInfo(HOST, 'net10')).toMatchObject({ active: true, autostart: true, persistent: true, bridge: 'br10', uuid: before?.uuid });
    // Not restarted (virsh net-update --live --config): br10 is the same bridge as before.
    const br10 = await link(HOST, 'br10');
    expect(br10?.ifindex).toBeTypeOf('number');
    expect(br10?.ifindex).toBe(oldBr10);

    const again = await kvmnet(['run', edited, '-i', inventory(), '--limit', HOST, '--output', 'json']);
    expect(again.code, show(again)).toBe(0);
    expect(summaryOf(again).hosts).toMatchObject([{ host: HOST, changed: 0 }]);
  });
});
