// Guests get VLANs through libvirt: ensure_libvirt_net's vlan and portgroups on an Open vSwitch
// network (the kind libvirt 9.0 tags guests on; it defines and starts one without Open vSwitch
// installed, so a namespace lab host proves the definitions), and SR-IOV passthrough/hostdev
// networks (defined; the passthrough one started over a lab NIC). Asserted with `virsh net-dumpxml`,
// the running and the persistent definition both, and the network's uuid (a live change keeps the
// network up, a restart or redefinition would show in net-info). The Linux-bridge combination,
// which libvirt 9.0 refuses, is refused by `validate` before any host is contacted.
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inHost, inventory, kvmnet, netInfo, resetHosts, show, summaryOf, taskEvents, virsh, writePlaybook, type LabHost } from './helpers.js';

const HOSTS: LabHost[] = ['hv1', 'hv2'];

const playbook = (portgroups: string) => `- hosts: ${HOSTS.join(',')}
  tasks:
    - ensure_libvirt_net:
        name: ovs-net
        forward: bridge
        bridge: { name: ovsbr0 }
        virtualport: openvswitch
        vlan: { tags: [10, 20], native: 10 }
        portgroups:
${portgroups}
        autostart: true
`;
const FIRST = playbook(`          - { name: web, default: true, vlan: { tags: [30] } }
          - { name: trunk, vlan: { tags: [40, 41], trunk: true } }
          - { name: plain }`);
const SECOND = playbook(`          - { name: web, default: true, vlan: { tags: [31] } }
          - { name: trunk, vlan: { tags: [40, 41], trunk: true } }
          - { name: db, vlan: { tags: [50], native: 50, native_mode: tagged, trunk: true } }`);

interface Vlan {
  trunk?: string;
  tag: Array<{ id: string; nativeMode?: string }>;
}
interface Portgroup {
  name: string;
  default?: string;
  vlan?: Vlan;
}
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseAttributeValue: false,
  isArray: (tag) => tag === 'tag' || tag === 'portgroup',
});

async function dump(host: LabHost, inactive: boolean): Promise<{ uuid: string; vlan?: Vlan; virtualport?: { type: string }; portgroup?: Portgroup[] }> {
  const out = await virsh(host, ['net-dumpxml', ...(inactive ? ['--inactive'] : []), 'ovs-net']);
  return (parser.parse(out) as { network: never }).network;
}

const groups = (pgs: Portgroup[] | undefined) =>
  (pgs ?? []).map((p) => ({
    name: p.name,
    default: p.default ?? 'no',
    trunk: p.vlan?.trunk ?? 'no',
    tags: (p.vlan?.tag ?? []).map((t) => `${t.id}${t.nativeMode ? `:${t.nativeMode}` : ''}`),
  }));

describe('guest VLANs through libvirt (Open vSwitch network, namespace lab)', () => {
  let first = '';
  let second = '';
  beforeAll(async () => {
    await resetHosts(HOSTS);
    first = writePlaybook('guest-vlans-1', FIRST);
    second = writePlaybook('guest-vlans-2', SECOND);
  });
  // The files after this one find the hosts as the lab made them.
  afterAll(() => resetHosts(HOSTS));

  it('defines and starts the network with its VLAN and portgroups: running and persistent definitions agree', async () => {
    const r = await kvmnet(['run', first, '-i', inventory(), '--output', 'json']);
    expect(r.code, show(r)).toBe(0);
    expect(summaryOf(r).hosts.map((h) => [h.host, h.changed, h.failed])).toEqual(HOSTS.map((h) => [h, 1, 0]));
    for (const host of HOSTS) {
      expect(await netInfo(host, 'ovs-net')).toMatchObject({ active: true, autostart: true, persistent: true });
      for (const inactive of [false, true]) {
        const x = await dump(host, inactive);
        expect(x.virtualport, `${host} inactive=${inactive}`).toEqual({ type: 'openvswitch' });
        expect(x.vlan, `${host} inactive=${inactive}`).toEqual({ trunk: 'yes', tag: [{ id: '10', nativeMode: 'untagged' }, { id: '20' }] });
        expect(groups(x.portgroup), `${host} inactive=${inactive}`).toEqual([
          { name: 'web', default: 'yes', trunk: 'no', tags: ['30'] },
          { name: 'trunk', default: 'no', trunk: 'yes', tags: ['40', '41'] },
          { name: 'plain', default: 'no', trunk: 'no', tags: [] },
        ]);
      }
    }
  });

  it('a second run changes nothing', async () => {
    const r = await kvmnet(['run', first, '-i', inventory(), '--output', 'json']);
    expect(r.code, show(r)).toBe(0);
    expect(summaryOf(r).hosts.map((h) => [h.host, h.ok, h.changed])).toEqual(HOSTS.map((h) => [h, 1, 0]));
  });

  it('--check --diff shows the portgroup changes as a live update and changes nothing', async () => {
    const before = await virsh('hv1', ['net-dumpxml', 'ovs-net']);
    const r = await kvmnet(['run', second, '-i', inventory(), '--limit', 'hv1', '--check', '--diff']);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain(
      'live update, guests keep their link (virsh net-update --live --config: delete portgroup <portgroup name="web" default="yes"><vlan><tag id="30"/></vlan></portgroup>',
    );
    expect(r.stdout).toMatch(/-\s+<tag id="30"\/>\n\s+\+\s+<tag id="31"\/>/);
    expect(r.stdout).toMatch(/-\s+<portgroup name="plain"\/>/);
    expect(await virsh('hv1', ['net-dumpxml', 'ovs-net'])).toBe(before);
  });

  it('changes the portgroups live: the network stays up under the same uuid, both definitions hold the new set', async () => {
    const uuids = await Promise.all(HOSTS.map(async (h) => (await dump(h, false)).uuid));
    const r = await kvmnet(['run', second, '-i', inventory(), '--output', 'json']);
    expect(r.code, show(r)).toBe(0);
    for (const e of taskEvents(r)) expect(e.message).toMatch(/^update network ovs-net live, guests keep their link: /);
    for (const [i, host] of HOSTS.entries()) {
      for (const inactive of [false, true]) {
        const x = await dump(host, inactive);
        expect(x.uuid).toBe(uuids[i]);
        expect(groups(x.portgroup), `${host} inactive=${inactive}`).toEqual([
          { name: 'trunk', default: 'no', trunk: 'yes', tags: ['40', '41'] },
          { name: 'web', default: 'yes', trunk: 'no', tags: ['31'] },
          { name: 'db', default: 'no', trunk: 'yes', tags: ['50:tagged'] },
        ]);
      }
      expect(await netInfo(host, 'ovs-net')).toMatchObject({ active: true });
    }
    const again = await kvmnet(['run', second, '-i', inventory(), '--output', 'json']);
    expect(summaryOf(again).hosts.map((h) => [h.host, h.changed])).toEqual(HOSTS.map((h) => [h, 0]));
  });

  it('kvmnet facts shows the network VLAN and the portgroups', async () => {
    const r = await kvmnet(['facts', '-i', inventory(), '--limit', 'hv1']);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(
      /network vlans and portgroups:\n\s+network\s+portgroup\s+default\s+vlan\n\s+ovs-net\s+-\s+-\s+trunk 10 \(native untagged\), 20\n\s+ovs-net\s+trunk\s+no\s+trunk 40, 41\n\s+ovs-net\s+web\s+yes\s+31\n\s+ovs-net\s+db\s+no\s+trunk 50 \(native tagged\)/,
    );
  });

  it('SR-IOV networks take VLANs too: passthrough (started) and hostdev (defined: the lab has no VFs), changed nothing on a second run', async () => {
    const pb = writePlaybook(
      'guest-vlans-sriov',
      `- hosts: hv1
  tasks:
    - ensure_libvirt_net: { name: sriov-pt, forward: passthrough, forward_interfaces: [eth2], vlan: { tags: [70] }, portgroups: [{ name: v71, vlan: { tags: [71] } }] }
    - ensure_libvirt_net: { name: sriov-hd, forward: hostdev, forward_pf: eth1, vlan: { tags: [80] }, state: defined }
`,
    );
    const r = await kvmnet(['run', pb, '-i', inventory(), '--output', 'json']);
    expect(r.code, show(r)).toBe(0);
    expect(summaryOf(r).hosts.map((h) => [h.host, h.changed])).toEqual([['hv1', 2]]);
    expect(await netInfo('hv1', 'sriov-pt')).toMatchObject({ active: true });
    for (const inactive of [false, true]) {
      const pt = (
        parser.parse(await virsh('hv1', ['net-dumpxml', ...(inactive ? ['--inactive'] : []), 'sriov-pt'])) as {
          network: { forward: { mode: string; interface: { dev: string } }; vlan: Vlan; portgroup: Portgroup[] };
        }
      ).network;
      expect(pt.forward).toMatchObject({ mode: 'passthrough', interface: { dev: 'eth2' } });
      expect(pt.vlan).toEqual({ tag: [{ id: '70' }] });
      expect(groups(pt.portgroup)).toEqual([{ name: 'v71', default: 'no', trunk: 'no', tags: ['71'] }]);
    }
    const hd = (
      parser.parse(await virsh('hv1', ['net-dumpxml', '--inactive', 'sriov-hd'])) as {
        network: { forward: { mode: string; managed: string; pf: { dev: string } }; vlan: Vlan };
      }
    ).network;
    expect(hd.forward).toEqual({ mode: 'hostdev', managed: 'yes', pf: { dev: 'eth1' } });
    expect(hd.vlan).toEqual({ tag: [{ id: '80' }] });
    const again = await kvmnet(['run', pb, '-i', inventory(), '--output', 'json']);
    expect(summaryOf(again).hosts.map((h) => [h.host, h.ok, h.changed])).toEqual([['hv1', 2, 0]]);
  });

  it('validate refuses VLANs on a Linux host bridge with the reason, before contacting any host', async () => {
    const bad = writePlaybook(
      'guest-vlans-linux',
      `- hosts: all\n  tasks:\n    - ensure_libvirt_net:\n        name: br-net\n        forward: bridge\n        bridge: { name: br0 }\n        vlan: { tags: [10] }\n`,
    );
    const r = await kvmnet(['validate', bad, '-i', inventory()]);
    expect(r.code, show(r)).toBe(1);
    expect(r.stderr).toContain(
      `${bad}:7:9: play 1 › task 1 › ensure_libvirt_net.vlan: VLANs on a Linux host bridge: libvirt 9.0 (Debian 12) refuses them at net-define`,
    );
    // What libvirt itself answers, on a lab host, to that definition.
    const xml = "<network><name>br-net</name><forward mode='bridge'/><bridge name='br0'/><vlan><tag id='10'/></vlan></network>";
    const libvirt = await inHost('hv1', ['sh', '-c', `printf '%s' "$1" | virsh net-define /dev/stdin`, 'define', xml], { check: false });
    expect(libvirt.code).not.toBe(0);
    expect(libvirt.stderr).toContain("unsupported configuration: <vlan> element specified for network br-net, whose type doesn't support vlan configuration");
  });
});
