// ensure_libvirt_net's vlan, portgroups and virtualport: validation with positions, the XML they
// render against what libvirt 9.0 stored (test/fixtures/netxml/ovs-vlans.xml, captured by
// scripts/lab-capture-netvlans.sh), live portgroup changes and their check, and `kvmnet facts`.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkTaskArgs, parsePlaybook } from '../../src/config/playbook.js';
import { parseFacts } from '../../src/facts/parse.js';
import type { Facts } from '../../src/model/facts.js';
import { changeLines } from '../../src/model/plan.js';
import { applyOps, verifyOps } from '../../src/ops/index.js';
import { isSubset, parseXml } from '../../src/render/netxml.js';
import { ensureLibvirtNet } from '../../src/tasks/ensure-libvirt-net.js';
import { classifyNetworkChange, describeOp, netUpdateOp } from '../../src/tasks/libvirt-net-live.js';
import { ALL_FRAGMENTS } from '../../src/facts/needs.js';
import { planOf } from './support/plan-task.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/netxml/${name}`, import.meta.url), 'utf8');
const STORED = fixture('ovs-vlans.xml');

const OVS = {
  name: 'ovs-net',
  forward: 'bridge',
  bridge: { name: 'ovsbr0' },
  virtualport: 'openvswitch',
  vlan: { tags: [10, 20], native: 10 },
  portgroups: [{ name: 'web', default: true, vlan: { tags: [30] } }, { name: 'trunk', vlan: { tags: [40, 41], trunk: true } }, { name: 'plain' }],
};

const render = (args: object): string => {
  const parsed = ensureLibvirtNet.schema.parse(args);
  return ensureLibvirtNet.prepare!(parsed, { vars: {}, where: 'test', playbookDir: '.' }).desiredXml!;
};

describe('validation: every problem at its place, with what libvirt expects', () => {
  const task = (fields: string) => `- hosts: all\n  tasks:\n    - ensure_libvirt_net:\n        name: n1\n${fields}`;
  const ovs = '        forward: bridge\n        bridge: {name: ovsbr0}\n        virtualport: openvswitch\n';
  const cases: Array<{ name: string; yaml: string; line: number; col: number; message: RegExp }> = [
    {
      name: 'a VLAN id above 4094',
      yaml: task(`${ovs}        vlan: {tags: [10, 5000]}\n`),
      line: 8,
      col: 27,
      message: /a VLAN id is 1–4094 \(found number 5000\)/,
    },
    { name: 'VLAN id 0', yaml: task(`${ovs}        portgroups: [{name: a, vlan: {tags: [0]}}]\n`), line: 8, col: 46, message: /a VLAN id is 1–4094/ },
    {
      name: 'two default portgroups',
      yaml: task(`${ovs}        portgroups:\n          - {name: a, default: true}\n          - {name: b, default: true}\n`),
      line: 10,
      col: 23,
      message: /only one portgroup can be the default, found 'a' and 'b'/,
    },
    {
      name: 'a portgroup name twice',
      yaml: task(`${ovs}        portgroups:\n          - {name: a}\n          - {name: a}\n`),
      line: 10,
      col: 14,
      message: /portgroup 'a' is given twice/,
    },
    {
      name: 'native not among the tags',
      yaml: task(`${ovs}        vlan: {tags: [10, 20], native: 30}\n`),
      line: 8,
      col: 32,
      message: /the native VLAN must be one of tags \(10, 20\), found 30/,
    },
    {
      name: 'trunk: false with two tags',
      yaml: task(`${ovs}        vlan: {tags: [10, 20], trunk: false}\n`),
      line: 8,
      col: 32,
      message: /trunk: false allows one tag only/,
    },
    {
      name: 'native_mode without native',
      yaml: task(`${ovs}        vlan: {tags: [10], native_mode: tagged}\n`),
      line: 8,
      col: 28,
      message: /native_mode needs native/,
    },
    {
      name: 'vlan on a NAT network',
      yaml: task('        forward: nat\n        ip: {address: 198.18.5.1, prefix: 24}\n        vlan: {tags: [10]}\n'),
      line: 7,
      col: 9,
      message: /a nat network cannot carry VLAN tags: its guests are on a bridge libvirt makes itself/,
    },
    {
      name: 'vlan on a Linux host bridge (libvirt 9.0 refuses it)',
      yaml: task('        forward: bridge\n        bridge: {name: br0}\n        portgroups: [{name: v10, vlan: {tags: [10]}}]\n'),
      line: 7,
      col: 34,
      message:
        /libvirt 9\.0 \(Debian 12\) refuses them at net-define \("unsupported configuration: <vlan> element specified for network NAME, whose type doesn't support vlan configuration"\)/,
    },
    {
      name: 'virtualport without forward: bridge',
      yaml: task('        forward: route\n        ip: {address: 198.18.5.1, prefix: 24}\n        virtualport: openvswitch\n'),
      line: 7,
      col: 9,
      message: /virtualport: openvswitch needs forward: bridge/,
    },
    {
      name: 'forward_pf on a NAT network',
      yaml: task('        forward: nat\n        ip: {address: 198.18.5.1, prefix: 24}\n        forward_pf: eth0\n'),
      line: 7,
      col: 9,
      message: /forward_pf only applies to forward: passthrough or hostdev, found forward: nat/,
    },
    {
      name: 'passthrough without a pool',
      yaml: task('        forward: passthrough\n'),
      line: 5,
      col: 9,
      message: /forward: passthrough needs one of forward_interfaces \(the VFs\) or forward_pf/,
    },
    {
      name: 'hostdev without a PF',
      yaml: task('        forward: hostdev\n        vlan: {tags: [10]}\n'),
      line: 5,
      col: 9,
      message: /forward: hostdev needs forward_pf/,
    },
    {
      name: 'passthrough with an address',
      yaml: task('        forward: passthrough\n        forward_pf: eth0\n        ip: {address: 198.18.5.1, prefix: 24}\n'),
      line: 7,
      col: 9,
      message: /forward: passthrough gives guests host devices directly: no ip/,
    },
  ];
  it.each(cases)('$name', (c) => {
    const { playbook, diagnostics } = parsePlaybook('bad.yaml', c.yaml);
    expect(playbook).toBeUndefined();
    const errors = diagnostics.filter((d) => d.severity === 'error');
    const hit = errors.find((d) => c.message.test(d.message));
    expect(hit, `no error matching ${c.message}; got: ${JSON.stringify(errors)}`).toBeDefined();
    expect({ line: hit!.line, col: hit!.col }).toEqual({ line: c.line, col: c.col });
  });

  it('SR-IOV networks (passthrough, hostdev) with VLANs are valid', () => {
    for (const pool of ['        forward: passthrough\n        forward_interfaces: [eth10, eth11]\n', '        forward: hostdev\n        forward_pf: eth0\n']) {
      expect(parsePlaybook('ok.yaml', task(`${pool}        vlan: {tags: [10]}\n        portgroups: [{name: v20, vlan: {tags: [20]}}]\n`)).diagnostics).toEqual(
        [],
      );
    }
  });

  it('a templated forward mode is judged per host, once rendered', () => {
    expect(parsePlaybook('ok.yaml', task('        forward: "{{ mode }}"\n        forward_pf: eth0\n        vlan: {tags: [10]}\n')).diagnostics).toEqual([]);
    const problems = (a: object) => checkTaskArgs('ensure_libvirt_net', a as Record<string, unknown>, false).issues.map((i) => i.message);
    expect(problems({ name: 'n1', forward: 'nat', ip: { address: '198.18.5.1', prefix: 24 }, vlan: { tags: [10] } })).toEqual([
      expect.stringMatching(/^a nat network cannot carry VLAN tags/),
    ]);
  });

  it('an Open vSwitch network with vlan and portgroups is valid', () => {
    const { diagnostics } = parsePlaybook(
      'ok.yaml',
      task(`${ovs}        vlan: {tags: [10, 20], native: 10}\n        portgroups: [{name: web, default: true, vlan: {tags: [30]}}, {name: plain}]\n`),
    );
    expect(diagnostics).toEqual([]);
  });
});

describe('rendered XML against what libvirt 9.0 stored', () => {
  it('is a subset of the stored definition: a second run changes nothing', () => {
    const desired = parseXml(render(OVS));
    expect(isSubset(desired, parseXml(STORED))).toBe(true);
    expect(classifyNetworkChange(desired, parseXml(STORED), '9.0.0')).toEqual({ way: 'same' });
  });

  it("renders trunk='yes' only when true and default='yes' only on the default (libvirt drops 'no', which would be a change on every run)", () => {
    const xml = render({ ...OVS, vlan: { tags: [10], trunk: false }, portgroups: [{ name: 'a', default: false }] });
    expect(xml).not.toMatch(/trunk=|default=/);
    expect(xml).toMatch(/<tag id="10"\/>/);
  });

  it('a changed portgroup VLAN, a removed and an added portgroup are live net-update operations', () => {
    const wanted = { ...OVS, portgroups: [{ name: 'web', default: true, vlan: { tags: [31] } }, OVS.portgroups[1]!, { name: 'db', vlan: { tags: [50] } }] };
    const c = classifyNetworkChange(parseXml(render(wanted)), parseXml(STORED), '9.0.0');
    expect(c.way === 'live' && c.ops.map(describeOp)).toEqual([
      'delete portgroup <portgroup name="web" default="yes"><vlan><tag id="30"/></vlan></portgroup>',
      'delete portgroup <portgroup name="plain"/>',
      'add portgroup <portgroup name="web" default="yes"><vlan><tag id="31"/></vlan></portgroup>',
      'add portgroup <portgroup name="db"><vlan><tag id="50"/></vlan></portgroup>',
    ]);
  });

  it("the network's own <vlan> cannot change live: a restart, saying why", () => {
    const c = classifyNetworkChange(parseXml(render({ ...OVS, vlan: { tags: [10, 20, 21], native: 10 } })), parseXml(STORED), '9.0.0');
    expect(c).toMatchObject({ way: 'restart', parts: ['<vlan>'] });
  });
});

describe("the net-update read-back compares each portgroup's VLAN tags (definitions read back as captured, or edited)", () => {
  const fragments = ALL_FRAGMENTS;
  /** The facts of the lab host with both definitions of ovs-net set to `xml`. */
  const withDefinition = (xml: string): Facts => {
    const f = parseFacts(fixture('facts-ovs-vlans.stdout'), '', fragments).facts;
    if (f.libvirt.available) f.libvirt.networks['ovs-net']!.xml = xml;
    f.dhcp!['ovs-net']!.liveXml = xml;
    return f;
  };
  /** What the read-back says of the live change from STORED to `wanted` when the host then holds `readBack`. */
  const check = (readBack: string, wanted: object) => {
    const c = classifyNetworkChange(parseXml(render(wanted)), parseXml(STORED), '9.0.0');
    if (c.way !== 'live') throw new Error(`expected a live change, got ${c.way}`);
    const ops = c.ops.map((op) => netUpdateOp('ovs-net', op));
    const expected = withDefinition(STORED);
    applyOps(ops, expected);
    const problems = verifyOps(ops, expected, withDefinition(readBack));
    return problems.length ? problems.join('; ') : 'ok';
  };
  const web31 = { ...OVS, portgroups: [{ name: 'web', default: true, vlan: { tags: [31] } }, OVS.portgroups[1]!, OVS.portgroups[2]!] };

  it('passes when libvirt holds the new portgroup (same name, new tag: the deletion is not looked for)', () => {
    expect(check(STORED.replace("<tag id='30'/>", "<tag id='31'/>"), web31)).toBe('ok');
  });
  it('fails, naming the portgroup, when the tag inside it did not change', () => {
    expect(check(STORED, web31)).toBe(
      'the persistent definition of ovs-net lacks portgroup <portgroup name="web" default="yes"><vlan><tag id="31"/></vlan></portgroup>',
    );
  });
  it('a portgroup without VLAN is found although libvirt never writes it as <portgroup …/>', () => {
    const wanted = { ...OVS, portgroups: [...OVS.portgroups, { name: 'extra' }] };
    expect(check(STORED.replace('</network>', "  <portgroup name='extra'>\n  </portgroup>\n</network>"), wanted)).toBe('ok');
    expect(check(STORED, wanted)).toMatch(/lacks portgroup <portgroup name="extra"\/>/);
  });
});

describe('kvmnet facts on a lab host running the network', () => {
  const fragments = ALL_FRAGMENTS;
  const facts = parseFacts(fixture('facts-ovs-vlans.stdout'), '', fragments).facts;

  it('JSON: the network VLAN and every portgroup with its VLAN', () => {
    const json = ensureLibvirtNet.factsView!.json(facts) as { networks: Array<Record<string, unknown>> };
    expect(json.networks.find((n) => n.name === 'ovs-net')).toMatchObject({
      state: 'active',
      forward: 'bridge',
      vlan: { trunk: true, tags: [{ id: 10, native_mode: 'untagged' }, { id: 20 }] },
      portgroups: [
        { name: 'web', default: true, vlan: { trunk: false, tags: [{ id: 30 }] } },
        { name: 'trunk', default: false, vlan: { trunk: true, tags: [{ id: 40 }, { id: 41 }] } },
        { name: 'plain', default: false, vlan: null },
      ],
    });
  });

  it('text: one row for the network VLAN, one per portgroup', () => {
    const section = ensureLibvirtNet.factsView!.sections(facts).find((s) => s.title === 'network vlans and portgroups')!;
    expect(section.rows).toEqual([
      ['ovs-net', '-', '-', 'trunk 10 (native untagged), 20'],
      ['ovs-net', 'web', 'yes', '30'],
      ['ovs-net', 'trunk', 'no', 'trunk 40, 41'],
      ['ovs-net', 'plain', 'no', '-'],
    ]);
  });

  it("a new network <vlan> with a guest on the network: a restart that leaves the Open vSwitch bridge's ports alone (no ip link set master)", () => {
    const f = parseFacts(fixture('facts-ovs-vlans.stdout'), '', fragments).facts;
    // The lab host has no guest on ovs-net (no Open vSwitch there): one as domiflist would list it.
    if (f.libvirt.available)
      f.libvirt.guests.push({ guest: 'g1', interface: 'vnet0', type: 'bridge', source: 'ovsbr0', model: 'virtio', mac: '52:54:00:00:00:01' });
    const p = planOf('ensure_libvirt_net', { name: 'ovs-net', state: 'active' }, f, 'hv1', {
      desiredXml: render({ ...OVS, vlan: { tags: [10, 20, 21], native: 10 } }),
    });
    expect(p.changes.map((c) => c.summary)).toEqual([
      'redefine network ovs-net',
      "network ovs-net restarted (its Open vSwitch bridge keeps the guests' ports)",
    ]);
    expect(changeLines(p.changes).join('\n')).not.toContain('master');
    expect(p.diff!.notes![0]).toMatch(
      /restart: ovs-net is active and <vlan> cannot change without a restart; the Open vSwitch bridge keeps the guests' ports \(g1 \(vnet0\)\)/,
    );
  });

  it('planning the same definition on those facts is a no-op', () => {
    const p = planOf('ensure_libvirt_net', { name: 'ovs-net', state: 'active' }, facts, 'hv1', { desiredXml: render(OVS) });
    expect(p.changes).toEqual([]);
    expect(p.noop).toMatch(/defined as wanted/);
  });
});
