// Live update or restart: each wanted definition against a definition captured on a lab host
// (test/fixtures/netxml/, by scripts/lab-capture-netxml.sh), and the plans on the facts of a lab
// host with a running guest.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseFacts } from '../../src/facts/parse.js';
import type { Facts } from '../../src/model/facts.js';
import { applyChanges, changeLines, changeTouches } from '../../src/model/plan.js';
import { applyOps, opsLines, verifyOps } from '../../src/ops/index.js';
import { parseXml } from '../../src/render/netxml.js';
import { classifyNetworkChange, describeOp, netUpdateOp, parseVersion } from '../../src/tasks/libvirt-net-live.js';
import { ALL_FRAGMENTS } from '../../src/facts/needs.js';
import { planOf } from './support/plan-task.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/netxml/${name}`, import.meta.url), 'utf8');
const STOCK = fixture('default-stock.xml');
const UPDATED = fixture('default-updated.xml');
const POOL = fixture('pool.xml');

const DEFAULT = (dhcp: string, extra = '', head = '<forward mode="nat"/><bridge name="virbr0" stp="on" delay="0"/>') =>
  `<network><name>default</name>${head}${extra}<ip address="192.168.122.1" netmask="255.255.255.0"><dhcp>${dhcp}</dhcp></ip></network>`;
const STOCK_RANGE = '<range start="192.168.122.2" end="192.168.122.254"/>';
const NARROW_RANGE = '<range start="192.168.122.100" end="192.168.122.150"/>';

/** Touches without repeats (each operation of a change says what it touches). */
const uniq = <T>(xs: T[]): T[] => [...new Map(xs.map((x) => [JSON.stringify(x), x])).values()];

const classify = (wanted: string, actual: string, version: string | null = '9.0.0') => {
  const c = classifyNetworkChange(parseXml(wanted), parseXml(actual), version ?? undefined);
  if (c.way === 'live') return { way: c.way, ops: c.ops.map(describeOp) };
  if (c.way === 'restart') return { way: c.way, parts: c.parts, why: c.why };
  return c;
};

describe('live or restart, on definitions captured from a lab host (libvirt 9.0.0)', () => {
  it.each([
    ['the stock definition as written', STOCK, DEFAULT(STOCK_RANGE), { way: 'same' }],
    [
      'a narrower DHCP range: delete + add (libvirt refuses to modify a range)',
      STOCK,
      DEFAULT(NARROW_RANGE),
      {
        way: 'live',
        ops: ['delete ip-dhcp-range <range start="192.168.122.2" end="192.168.122.254"/>', `add ip-dhcp-range ${NARROW_RANGE}`],
      },
    ],
    [
      'a second range added',
      STOCK,
      DEFAULT(`${STOCK_RANGE}<range start="192.168.122.1" end="192.168.122.1"/>`),
      {
        way: 'live',
        ops: ['add ip-dhcp-range <range start="192.168.122.1" end="192.168.122.1"/>'],
      },
    ],
    [
      'a DHCP reservation added, the ranges not mentioned',
      STOCK,
      DEFAULT('<host mac="52:54:00:aa:bb:02" ip="192.168.122.12"/>'),
      {
        way: 'live',
        ops: ['add ip-dhcp-host <host mac="52:54:00:aa:bb:02" ip="192.168.122.12"/>'],
      },
    ],
    [
      'a reservation moved to another address: the old one goes first',
      UPDATED,
      DEFAULT('<host mac="52:54:00:aa:bb:01" name="web1" ip="192.168.122.21"/>'),
      {
        way: 'live',
        ops: [
          'delete ip-dhcp-host <host mac="52:54:00:aa:bb:01" name="web1" ip="192.168.122.11"/>',
          'add ip-dhcp-host <host mac="52:54:00:aa:bb:01" name="web1" ip="192.168.122.21"/>',
        ],
      },
    ],
    ['the existing reservation, written with fewer attributes', UPDATED, DEFAULT('<host mac="52:54:00:aa:bb:01" ip="192.168.122.11"/>'), { way: 'same' }],
    [
      'DNS host, TXT and SRV records changed',
      UPDATED,
      DEFAULT(
        STOCK_RANGE,
        '<dns><host ip="192.168.122.12"><hostname>web2.lab</hostname></host><txt name="example" value="changed"/><srv service="ldap" protocol="tcp" domain="lab" target="web1.lab" port="389" priority="10" weight="10"/></dns>',
      ),
      {
        way: 'live',
        ops: [
          'delete dns-host <host ip="192.168.122.11"><hostname>web1.lab</hostname></host>',
          'delete dns-txt <txt name="example" value="kvmnet lab"/>',
          'add dns-host <host ip="192.168.122.12"><hostname>web2.lab</hostname></host>',
          'add dns-txt <txt name="example" value="changed"/>',
        ],
      },
    ],
    [
      'a portgroup with another VLAN',
      UPDATED,
      DEFAULT(STOCK_RANGE, '<portgroup name="engineering"><vlan><tag id="43"/></vlan></portgroup>'),
      {
        way: 'live',
        ops: [
          'delete portgroup <portgroup name="engineering"><vlan><tag id="42"/></vlan></portgroup>',
          'add portgroup <portgroup name="engineering"><vlan><tag id="43"/></vlan></portgroup>',
        ],
      },
    ],
    [
      'an interface leaves a forward pool',
      POOL,
      '<network><name>pool</name><forward mode="bridge"><interface dev="eth1"/></forward></network>',
      {
        way: 'live',
        ops: ['delete forward-interface <interface dev="eth2"/>'],
      },
    ],
    [
      'another bridge name',
      STOCK,
      DEFAULT(STOCK_RANGE, '', '<forward mode="nat"/><bridge name="virbr9" stp="on" delay="0"/>'),
      {
        way: 'restart',
        parts: ['<bridge>'],
        why: '<bridge> cannot change without a restart',
      },
    ],
    [
      'another forward mode, with a range change too',
      STOCK,
      DEFAULT(NARROW_RANGE, '', '<forward mode="route"/><bridge name="virbr0"/>'),
      {
        way: 'restart',
        parts: ['<forward>'],
        why: '<forward> cannot change without a restart',
      },
    ],
    [
      'a NAT port range',
      STOCK,
      DEFAULT(STOCK_RANGE, '', '<forward mode="nat"><nat><port start="2000" end="65535"/></nat></forward>'),
      {
        way: 'restart',
        parts: ['<forward>'],
        why: '<forward> cannot change without a restart',
      },
    ],
    [
      'another address',
      STOCK,
      DEFAULT(STOCK_RANGE).replace('192.168.122.1"', '192.168.122.254"'),
      {
        way: 'restart',
        parts: ['<ip>'],
        why: '<ip> cannot change without a restart',
      },
    ],
  ])('%s', (_, actual, wanted, expected) => {
    expect(classify(wanted, actual)).toEqual(expected);
  });

  it('the same live change needs a restart where the libvirt version is unknown or too old', () => {
    expect(classify(DEFAULT(NARROW_RANGE), STOCK, null)).toEqual({
      way: 'restart',
      parts: [],
      why: 'the libvirt version on the host is unknown (live updates need 1.2.6 or later)',
    });
    expect(classify(DEFAULT(NARROW_RANGE), STOCK, '1.2.5')).toEqual({
      way: 'restart',
      parts: [],
      why: 'libvirt 1.2.5 cannot update ip-dhcp-range live (needs 1.2.6)',
    });
    expect(classify(DEFAULT(NARROW_RANGE), STOCK, '1.2.6').way).toBe('live');
    expect(parseVersion('/usr/sbin/libvirtd (libvirt) 10.10.0')).toEqual([10, 10, 0]);
  });

  it('net-update operations: one element as an argument, persistent and live, the <ip> index for DHCP sections', () => {
    const c = classifyNetworkChange(parseXml(DEFAULT(NARROW_RANGE)), parseXml(STOCK), '9.0.0');
    if (c.way !== 'live') throw new Error(`expected live, got ${c.way}`);
    expect(opsLines(c.ops.map((op) => netUpdateOp('default', op)))).toEqual([
      `virsh -q net-update default delete ip-dhcp-range '<range start="192.168.122.2" end="192.168.122.254"/>' --parent-index 0 --config --live >/dev/null`,
      `virsh -q net-update default add ip-dhcp-range '<range start="192.168.122.100" end="192.168.122.150"/>' --parent-index 0 --config --live >/dev/null`,
    ]);
  });
});

describe('plans on the facts of a lab host with a running guest (hv1-vm, tap vnet0 in virbr0)', () => {
  const fragments = ALL_FRAGMENTS;
  const facts = (): Facts => parseFacts(fixture('facts-guest.stdout'), '', fragments).facts;
  const plan = (xml: string) => planOf('ensure_libvirt_net', { name: 'default', state: 'active' }, facts(), 'hv1', { desiredXml: xml });

  it('the facts say the libvirt version and the guest tap', () => {
    const f = facts();
    expect(f.libvirt.available && f.libvirt.version).toBe('9.0.0');
    expect(f.libvirt.available && f.libvirt.guests.map((g) => [g.guest, g.interface, g.source])).toEqual([['hv1-vm', 'vnet0', 'default']]);
    expect(f.links.vnet0?.master).toBe('virbr0');
  });

  it('a DHCP range change is one live change that touches only the network', () => {
    const p = plan(DEFAULT(NARROW_RANGE));
    expect(p.changes).toHaveLength(1);
    expect(uniq(changeTouches(p.changes, facts()))).toEqual([{ kind: 'network', name: 'default' }]);
    expect(changeLines(p.changes).join('\n')).not.toMatch(/net-destroy|net-define|net-start/);
    expect(p.diff!.notes).toEqual([expect.stringMatching(/^live update, guests keep their link/)]);
    // Later tasks plan against the updated definition: the same change again is a no-op.
    const f = facts();
    applyChanges(p.changes, f);
    expect(planOf('ensure_libvirt_net', { name: 'default', state: 'active' }, f, 'hv1', { desiredXml: DEFAULT(NARROW_RANGE) }).noop).toMatch(
      /defined as wanted/,
    );
  });

  it('the read-back names each element missing from, or left in, the persistent and the running definition', () => {
    const before = facts();
    const net = (f: Facts) => (f.libvirt.available ? f.libvirt.networks.default! : undefined)!;
    // The running definition, as the facts read it back from an active network: the same as the persistent one here.
    before.dhcp!.default!.liveXml = net(before).xml;
    const ops = plan(DEFAULT(NARROW_RANGE)).changes.flatMap((c) => c.ops);
    const expected = structuredClone(before);
    applyOps(ops, expected);
    const old = 'ip-dhcp-range <range start="192.168.122.2" end="192.168.122.254"/>';
    const narrow = `ip-dhcp-range ${NARROW_RANGE}`;
    // Both definitions updated: it took.
    const took = structuredClone(expected);
    took.dhcp!.default!.liveXml = net(expected).xml;
    expect(verifyOps(ops, expected, took)).toEqual([]);
    // Nothing changed.
    expect(verifyOps(ops, expected, before)).toEqual([
      `the persistent definition of default still has ${old}`,
      `the persistent definition of default lacks ${narrow}`,
    ]);
    // Only the persistent definition changed.
    const configOnly = structuredClone(expected);
    configOnly.dhcp!.default!.liveXml = net(before).xml;
    expect(verifyOps(ops, expected, configOnly)).toEqual([
      `the running definition of default still has ${old}`,
      `the running definition of default lacks ${narrow}`,
    ]);
  });

  it('a restart re-attaches the guest tap: it touches vnet0 and says so', () => {
    const p = plan(DEFAULT(STOCK_RANGE, '', '<forward mode="nat"><nat><port start="2000" end="65535"/></nat></forward>'));
    expect(p.changes.map((c) => c.summary)).toEqual(['redefine network default', 'network default restarted; 1 guest interface re-attached (hv1-vm vnet0)']);
    const restart = p.changes[1]!;
    expect(uniq(changeTouches([restart], facts()))).toEqual([
      { kind: 'network', name: 'default' },
      { kind: 'link', name: 'vnet0', op: 'master' },
    ]);
    expect(changeLines([restart]).slice(0, 2)).toEqual(['virsh -q net-destroy default', 'virsh -q net-start default']);
    expect(changeLines([restart]).join('\n')).toContain("for p in 'vnet0=hv1-vm'; do");
    expect(changeLines([restart]).join('\n')).toContain('ip link set dev "$t" master "$br"');
    expect(p.diff!.notes).toEqual([
      'restart: default is active and <forward> cannot change without a restart; guests attached are cut off briefly and re-attached after the restart: hv1-vm (vnet0)',
    ]);
  });
});
