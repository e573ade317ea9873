// persist: ifupdown2: Proxmox-syntax stanzas rendered from the running state, on facts captured from
// a VM lab host (test/fixtures/facts/vm/vlan-bridge: 802.3ad bond0 of eth1+eth2, bond0.20 with an
// address, VLAN-aware br0 with eth3 carrying 30, 99 PVID untagged, 200-202, and dummy0 on VLAN 30).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseFacts } from '../../src/facts/parse.js';
import { ALL_FRAGMENTS } from '../../src/facts/needs.js';
import type { Facts } from '../../src/model/facts.js';
import { changeLines, changeTouches, type Plan } from '../../src/model/plan.js';
import { classifyPath } from '../../src/persist/paths.js';
import { fileChanges } from '../../src/persist/plan.js';
import { ifupdown2Device, ifupdown2File, ifupdown2Path, ifupdown2Wants, isIfupdown2Path, vidList } from '../../src/persist/ifupdown2-files.js';
import { withIfupdown2Files } from '../../src/persist/ifupdown2-plan.js';
import { deviceNamingArgs } from '../../src/persist/task-devices.js';
import { managedDrift } from '../../src/persist/managed-drift.js';
import { persistenceDrift } from '../../src/tasks/persistence-drift.js';
import { vmFactsOutput } from './support/vm-fixture.js';

function vlanBridge(): Facts {
  const out = vmFactsOutput('vlan-bridge').replace(
    '@@kvmnet:virsh@@',
    `@@kvmnet:bridge-vlan@@\n${readFileSync(new URL('../fixtures/facts/vm/vlan-bridge/bridge-vlan.json', import.meta.url), 'utf8')}\n@@kvmnet:virsh@@`,
  );
  return parseFacts(out, '', ALL_FRAGMENTS).facts;
}

const HEADER = '# Written by kvmnet; changes made here are overwritten on its next run.\n';

describe('ifupdown2 stanzas from the running state', () => {
  const f = vlanBridge();

  it('a bond with its members, a VLAN with an address, a VLAN-aware bridge, its ports and their VLAN sets', () => {
    expect(ifupdown2File(f, 'bond0', 'hv1')).toBe(
      `${HEADER}auto bond0\niface bond0\n    bond-slaves eth1 eth2\n    bond-mode 802.3ad\n    bond-miimon 100\n    bond-lacp-rate fast\n    bond-xmit-hash-policy layer3+4\n`,
    );
    expect(ifupdown2File(f, 'eth1', 'hv1')).toBe(`${HEADER}auto eth1\niface eth1\n`);
    expect(ifupdown2File(f, 'bond0.20', 'hv1')).toBe(
      `${HEADER}auto bond0.20\niface bond0.20\n    vlan-raw-device bond0\n    vlan-id 20\n    address 198.19.220.1/24\n`,
    );
    // Guests' taps stay in the bridge on an admin's ifreload, and out of ifquery --check's way.
    expect(ifupdown2File(f, 'br0', 'hv1')).toBe(
      `${HEADER}auto br0\niface br0\n    bridge-ports dummy0 eth3\n    bridge-ports-condone-regex ^vnet[0-9]+$\n    bridge-stp off\n    bridge-fd 15\n    bridge-vlan-aware yes\n`,
    );
    // PVID 99 is untagged by ifupdown2 itself; the rest tagged, ranges folded.
    expect(ifupdown2File(f, 'eth3', 'hv1')).toBe(`${HEADER}auto eth3\niface eth3\n    bridge-vids 30 200-202\n    bridge-pvid 99\n`);
    expect(ifupdown2File(f, 'dummy0', 'hv1')).toBe(`${HEADER}auto dummy0\niface dummy0\n    link-type dummy\n    bridge-pvid 30\n`);
    expect(vidList([202, 30, 200, 201, 5, 6])).toBe('5-6 30 200-202');
  });

  it('a default PVID other than 1, an MTU; what ifupdown2 cannot say is refused', () => {
    const g = structuredClone(f);
    g.links.br0!.bridge!.defaultPvid = 0;
    g.links.bond0!.mtu = 9000;
    expect(ifupdown2File(g, 'br0', 'hv1')).toContain('    bridge-vlan-aware yes\n    post-up ip link set dev br0 type bridge vlan_default_pvid 0\n');
    expect(ifupdown2File(g, 'bond0', 'hv1')).toMatch(/\n {4}mtu 9000\n$/);
    // A bridge without ports and without VLAN filtering: no `bridge-ports none` (ifup -s refuses it).
    const empty = structuredClone(f);
    empty.links.br0!.bridge!.vlanFiltering = false;
    for (const l of Object.values(empty.links)) if (l.master === 'br0') delete l.master;
    expect(ifupdown2File(empty, 'br0', 'hv1')).toBe(
      `${HEADER}auto br0\niface br0\n    bridge-ports-condone-regex ^vnet[0-9]+$\n    bridge-stp off\n    bridge-fd 15\n    bridge-vlan-aware no\n`,
    );
    g.links.eth3!.vlans = g.links.eth3!.vlans!.map((v) => (v.id === 30 ? { ...v, untagged: true } : v));
    expect(() => ifupdown2File(g, 'eth3', 'hv1')).toThrow(
      /eth3 \(port of the VLAN-aware bridge br0\) sends VLAN 30 untagged besides its PVID, which ifupdown2 cannot configure/,
    );
    g.links.eth3!.vlans = g.links.eth3!.vlans.filter((v) => !v.pvid);
    expect(() => ifupdown2File(g, 'eth3', 'hv1')).toThrow(/has no PVID/);
  });

  it('paths: a dot in the name (ifupdown2 globs), never taken for an ifupdown file', () => {
    expect(ifupdown2Path('bond0.20')).toBe('/etc/network/interfaces.d/kvmnet-bond0.20.ifupdown2');
    expect(isIfupdown2Path(ifupdown2Path('bond0.20'))).toBe(true);
    expect(ifupdown2Device(ifupdown2Path('bond0.20'))).toBe('bond0.20');
    expect(classifyPath(ifupdown2Path('bond0'))).toBeUndefined();
    expect(isIfupdown2Path('/etc/network/interfaces.d/kvmnet-bond0')).toBe(false);
  });

  it('the files of the devices and their bond or bridge; a device gone loses its file', () => {
    expect(ifupdown2Wants(f, ['eth3'], 'hv1').map((w) => w.path)).toEqual([ifupdown2Path('eth3'), ifupdown2Path('br0')]);
    const gone = structuredClone(f);
    delete gone.links['bond0.20'];
    const before = { ...f, persisted: { [ifupdown2Path('bond0.20')]: ifupdown2File(f, 'bond0.20', 'hv1') } };
    expect(ifupdown2Wants(gone, ['bond0.20'], 'hv1', before)).toEqual([{ path: ifupdown2Path('bond0.20'), content: null }]);
    expect(ifupdown2Wants(gone, ['bond0.20'], 'hv1', f)).toEqual([]);
  });
});

describe('persist: ifupdown2 in a plan', () => {
  const empty = { changes: [], noop: 'bond bond0 exists as wanted' } as unknown as Plan;

  it('the files, then a read-only check (ifup -a -s, ifquery --check); never ifreload', () => {
    const f = vlanBridge();
    const plan = withIfupdown2Files(empty, { name: 'bond0', members: ['eth1', 'eth2'] }, f, 'hv1', 'ensure_bond');
    expect(plan.changes.map((c) => c.summary)).toEqual([
      `write ${ifupdown2Path('bond0')}`,
      `write ${ifupdown2Path('eth1')}`,
      `write ${ifupdown2Path('eth2')}`,
      'ifupdown2: check the configuration and that bond0, eth1, eth2 run as written',
    ]);
    const check = changeLines([plan.changes[3]!]);
    // Each waits while another ifupdown2 holds the lock (see managers.ts).
    expect(check).toHaveLength(2);
    expect(check[0]).toContain('out=$(ifup -a -s 2>&1)');
    expect(check[1]).toContain('out=$(ifquery --check bond0 eth1 eth2 2>&1)');
    expect(check.every((l) => l.includes('Another instance of this program is already running'))).toBe(true);
    expect(changeLines(plan.changes).join('\n')).not.toMatch(/ifreload|ifdown/);
    // Reads only: nothing for the SSH-path guard.
    expect(changeTouches([plan.changes[3]!], f)).toEqual([]);
    // Written and running: nothing to do, not even the check.
    const done = { ...f, persisted: Object.fromEntries(['bond0', 'eth1', 'eth2'].map((d) => [ifupdown2Path(d), ifupdown2File(f, d, 'hv1')])) };
    const again = withIfupdown2Files(empty, { name: 'bond0', members: ['eth1', 'eth2'] }, done, 'hv1', 'ensure_bond');
    expect(again.changes).toEqual([]);
    expect(again.noop).toContain('kvmnet-bond0.ifupdown2, kvmnet-eth1.ifupdown2, kvmnet-eth2.ifupdown2 in place');
    expect(fileChanges([{ path: ifupdown2Path('bond0'), content: 'x' }], done)[0]!.ops[0]).toMatchObject({ op: 'file.write' });
  });

  it("a VXLAN: ifupdown2's own vxlan keys, one vxlan-remoteip per flooding entry; a port of its bridge; a multicast one kept down (facts captured on a lab host)", () => {
    const f = parseFacts(readFileSync(new URL('../fixtures/facts/overlay.stdout', import.meta.url), 'utf8'), '', ALL_FRAGMENTS).facts;
    const remotes = [...f.links.vx28!.fdbRemotes!].sort();
    expect(remotes.length).toBeGreaterThan(1);
    expect(ifupdown2File(f, 'vx28', 'hv1')).toBe(
      `${HEADER}auto vx28\niface vx28\n    vxlan-id 28\n    vxlan-local-tunnelip 198.19.151.11\n${remotes.map((r) => `    vxlan-remoteip ${r}\n`).join('')}` +
        '    vxlan-physdev mgmt0\n    vxlan-port 4789\n    vxlan-learning no\n    mtu 1450\n',
    );
    // The bridge runs with its port's 1450: said, or ifupdown2 would set it to 1500 at boot.
    expect(ifupdown2File(f, 'br28', 'hv1')).toMatch(/\n {4}bridge-ports vx28\n/);
    expect(ifupdown2File(f, 'br28', 'hv1')).toMatch(/\n {4}mtu 1450\n/);
    expect(ifupdown2File(f, 'vx29', 'hv1')).toBe(
      `${HEADER}auto vx29\niface vx29\n    vxlan-id 29\n    vxlan-mcastgrp 239.1.1.29\n    vxlan-physdev mgmt0\n    vxlan-port 4790\n    vxlan-learning yes\n    link-down yes\n    mtu 1450\n`,
    );
    // The entries in any order (ifupdown2 appends them in a Python set's order at boot): the same file.
    const reordered = structuredClone(f);
    reordered.links.vx28!.fdbRemotes = [...remotes].reverse();
    expect(ifupdown2File(reordered, 'vx28', 'hv1')).toBe(ifupdown2File(f, 'vx28', 'hv1'));
    // ifupdown2 3.0's local and remote keys are IPv4 only.
    const v6 = structuredClone(f);
    v6.links.vx28!.fdbRemotes = ['2001:db8::2'];
    v6.links.vx28!.vxlan!.local = '2001:db8::1';
    expect(() => ifupdown2File(v6, 'vx28', 'hv1')).toThrow(/VXLAN vx28 uses IPv6 \(2001:db8::1, 2001:db8::2\), and ifupdown2 3.0's VXLAN keys take IPv4 only/);
  });

  it('a VXLAN port of a VLAN-aware bridge is an access port (ifupdown2 refuses anything else on a VXLAN)', () => {
    const f = parseFacts(readFileSync(new URL('../fixtures/facts/overlay.stdout', import.meta.url), 'utf8'), '', ALL_FRAGMENTS).facts;
    f.links.br28!.bridge!.vlanFiltering = true;
    f.links.vx28!.vlans = [{ id: 28, pvid: true, untagged: true }];
    expect(ifupdown2File(f, 'vx28', 'hv1')).toMatch(/\n {4}vxlan-learning no\n {4}bridge-access 28\n/);
    f.links.vx28!.vlans.push({ id: 30, pvid: false, untagged: false });
    expect(() => ifupdown2File(f, 'vx28', 'hv1')).toThrow(/vx28 \(port of the VLAN-aware bridge br28\) is a VXLAN carrying tagged VLANs 30/);
  });

  it('ensure_vxlan renders the VXLAN and its bridge, never its underlay (dev: often the NIC of the SSH session)', () => {
    const f = parseFacts(readFileSync(new URL('../fixtures/facts/overlay.stdout', import.meta.url), 'utf8'), '', ALL_FRAGMENTS).facts;
    // The host's own /etc/network/interfaces has mgmt0.
    f.managers = {
      systemd: true,
      active: { networking: true },
      ifupdown: 'ifupdown2',
      netplan: [],
      nmDevices: {},
      networkdLinks: {},
      ifupdownStanzas: ['lo', 'mgmt0'],
    };
    const args = deviceNamingArgs('ensure_vxlan', { name: 'vx28', vni: 28, dev: 'mgmt0', remotes: f.links.vx28!.fdbRemotes });
    const runtime = { changes: [{ summary: 'mtu', ops: [{ op: 'link.mtu' as const, name: 'vx28', mtu: 1400 }] }] };
    const plan = withIfupdown2Files(runtime, args, f, 'hv1', 'ensure_vxlan');
    const paths = plan.changes.flatMap((c) => c.ops).flatMap((o) => (o.op === 'file.write' ? [o.path] : []));
    expect(paths.sort()).toEqual([ifupdown2Path('br28'), ifupdown2Path('vx28')]);
    expect(plan.changes.at(-1)!.ops[0]).toMatchObject({ op: 'ifupdown2.check', devs: ['vx28', 'br28'] });
    expect(deviceNamingArgs('ensure_route', { dst: '10.0.0.0/8', dev: 'br28' })).toMatchObject({ dev: 'br28' });
  });

  it('refuses a VXLAN or VLAN whose lower device has no ifupdown2 stanza and something to lose (ifupdown2 would purge it: measured)', () => {
    const f = parseFacts(readFileSync(new URL('../fixtures/facts/overlay.stdout', import.meta.url), 'utf8'), '', ALL_FRAGMENTS).facts;
    f.managers = { systemd: true, active: { networking: true }, ifupdown: 'ifupdown2', netplan: [], nmDevices: {}, networkdLinks: {}, ifupdownStanzas: ['lo'] };
    const mgmt = f.addrs.filter((a) => a.dev === 'mgmt0' && a.scope === 'global').map((a) => `${a.address}/${a.prefix}`);
    expect(mgmt.length).toBeGreaterThan(0);
    expect(() => ifupdown2Wants(f, ['vx28'], 'hv1')).toThrow(
      `persist: ifupdown2 on hv1: VXLAN vx28 sits on mgmt0, which has no ifupdown2 stanza: ifupdown2 would bring mgmt0 up with an empty configuration and remove its addresses (${mgmt.join(', ')}) on the next ifup -a or ifreload -a; configure mgmt0 in /etc/network/interfaces first, or give the VXLAN a local address without dev`,
    );
    // A VLAN on a NIC: nothing to lose, no refusal; with an MTU of 9000, refused.
    const g = vlanBridge();
    g.managers = f.managers;
    expect(ifupdown2Wants(g, ['bond0.20'], 'hv1').map((w) => w.path)).toEqual([ifupdown2Path('bond0.20')]);
    g.links.bond0!.mtu = 9000;
    expect(() => ifupdown2Wants(g, ['bond0.20'], 'hv1')).toThrow(
      /VLAN bond0.20 sits on bond0, which has no ifupdown2 stanza: .* set its MTU 9000 to 1500 on the next ifup -a/,
    );
    // Written in the same plan, or already kvmnet's: no refusal.
    expect(ifupdown2Wants(g, ['bond0.20', 'bond0'], 'hv1').map((w) => w.path)).toContain(ifupdown2Path('bond0'));
    g.persisted = { [ifupdown2Path('bond0')]: '' };
    expect(ifupdown2Wants(g, ['bond0.20'], 'hv1')).toHaveLength(1);
  });

  it("a route and a rule are post-up lines of their device's stanza (facts captured on a lab host with a route in table 100)", () => {
    const f = parseFacts(readFileSync(new URL('../fixtures/facts/overlay.stdout', import.meta.url), 'utf8'), '', ALL_FRAGMENTS).facts;
    const route = { dst: '10.70.0.0/16', gateway: '198.18.28.254', dev: 'br28', table: '100', metric: 5, family: 4 as const };
    const rule = { family: 4 as const, priority: 1005, from: '198.18.28.0/24', table: '100' };
    const runtime = {
      changes: [
        { summary: 'route', ops: [{ op: 'route.replace' as const, route }] },
        { summary: 'rule', ops: [{ op: 'rule.add' as const, rule }] },
      ],
    };
    const plan = withIfupdown2Files(runtime, { dst: route.dst }, f, 'hv1', 'ensure_route');
    const written = plan.changes.flatMap((c) => c.ops).find((o) => o.op === 'file.write' && o.path === ifupdown2Path('br28'));
    expect(written && 'content' in written ? written.content : '').toContain(
      '    post-up ip route replace 10.70.0.0/16 via 198.18.28.254 dev br28 metric 5 table 100\n',
    );
    expect(written && 'content' in written ? written.content : '').toContain(
      '    post-up ip rule del from 198.18.28.0/24 priority 1005 table 100 2>/dev/null || true\n    post-up ip rule add from 198.18.28.0/24 priority 1005 table 100\n',
    );
    expect(plan.changes.at(-1)!.ops[0]).toMatchObject({ op: 'ifupdown2.check' });
  });
});

describe('drift of ifupdown2 files', () => {
  it('none when the files render as what runs; a changed VLAN set or a deleted device is named', () => {
    const f = vlanBridge();
    const devs = ['bond0', 'eth1', 'eth2', 'bond0.20', 'br0', 'eth3', 'dummy0'];
    f.persisted = Object.fromEntries(devs.map((d) => [ifupdown2Path(d), ifupdown2File(f, d, 'hv1')]));
    expect(managedDrift(f)).toEqual([]);
    expect(persistenceDrift(f).filter((l) => devs.some((d) => l.startsWith(`${d}:`)))).toEqual([]);
    const changed = structuredClone(f);
    changed.links.eth3!.vlans = changed.links.eth3!.vlans!.filter((v) => v.id !== 30);
    delete changed.links['bond0.20'];
    expect(managedDrift(changed)).toEqual([
      `bond0.20: persisted (ifupdown2) but not present at runtime`,
      `eth3: its ifupdown2 file ${ifupdown2Path('eth3')} and the running state differ`,
    ]);
  });
});
