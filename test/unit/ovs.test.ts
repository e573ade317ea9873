// ensure_ovs_bridge: Open vSwitch facts parsed from output captured on a VM lab host running
// Debian's openvswitch-switch (test/fixtures/facts/ovs.stdout), its operations and its planner.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALL_FRAGMENTS } from '../../src/facts/needs.js';
import { parseFacts } from '../../src/facts/parse.js';
import type { Facts } from '../../src/model/facts.js';
import { changeOps } from '../../src/model/plan.js';
import { applyOps, inverseOps, opsLines, verifyOps, type Op } from '../../src/ops/index.js';
import { sshPathTouch } from '../../src/run/ssh-path.js';
import { planOf } from './support/plan-task.js';
import { parseOvs } from '../../src/tasks/ensure-ovs-bridge.js';
import { taskModule } from '../../src/tasks/registry.js';

const captured = readFileSync(new URL('../fixtures/facts/ovs.stdout', import.meta.url), 'utf8');
const facts = (): Facts => parseFacts(captured, '', ALL_FRAGMENTS).facts;

describe('Open vSwitch facts (captured on a VM lab host)', () => {
  it("bridges with their ports and tags, without the bridge's own internal port; ports have master ovs-system", () => {
    const f = facts();
    expect(f.ovs).toEqual({ bridges: { ovsbr0: { ports: { eth1: { tag: 100 }, eth2: { tag: null } } }, ovsbr1: { ports: {} } } });
    expect(f.links.eth1).toMatchObject({ master: 'ovs-system', up: true });
    expect(f.links.ovsbr0).toBeDefined();
  });
  it('a host without a running Open vSwitch has no ovs facts', () => {
    const other = readFileSync(new URL('../fixtures/facts/overlay.stdout', import.meta.url), 'utf8');
    expect(parseFacts(other, '', ALL_FRAGMENTS).facts.ovs).toBeUndefined();
  });
});

describe('ovs operations', () => {
  it('lines, effect, inverse and check', () => {
    const before = facts();
    const ops: Op[] = [
      { op: 'ovs.add-br', name: 'ovsbr2' },
      { op: 'ovs.set-tag', port: 'eth1', tag: 200 },
      { op: 'ovs.set-tag', port: 'eth2', tag: null },
      { op: 'ovs.del-port', bridge: 'ovsbr0', port: 'eth2' },
      { op: 'ovs.add-port', bridge: 'ovsbr2', port: 'eth2', tag: 7 },
    ];
    expect(opsLines(ops)).toEqual([
      'ovs-vsctl --may-exist add-br ovsbr2',
      "ovs-vsctl set port eth1 'tag=200'",
      'ovs-vsctl clear port eth2 tag',
      'ovs-vsctl --if-exists del-port ovsbr0 eth2',
      "ovs-vsctl --may-exist add-port ovsbr2 eth2 'tag=7'",
    ]);
    const after = structuredClone(before);
    applyOps(ops, after);
    expect(after.ovs!.bridges).toEqual({ ovsbr0: { ports: { eth1: { tag: 200 } } }, ovsbr1: { ports: {} }, ovsbr2: { ports: { eth2: { tag: 7 } } } });
    expect(after.links.ovsbr2).toMatchObject({ kind: 'openvswitch', up: false });
    expect(inverseOps(ops, before).undo).toEqual([
      { op: 'ovs.del-port', bridge: 'ovsbr2', port: 'eth2' },
      { op: 'ovs.add-port', bridge: 'ovsbr0', port: 'eth2', tag: null },
      { op: 'ovs.set-tag', port: 'eth1', tag: 100 },
      { op: 'ovs.del-br', name: 'ovsbr2' },
    ]);
    expect(verifyOps(ops, after, after)).toEqual([]);
    expect(verifyOps(ops, after, before)).toEqual([
      'OVS bridge ovsbr2 is absent, expected present',
      'OVS port eth1 is on ovsbr0 tag 100, expected on ovsbr0 tag 200',
      'OVS port eth2 is on ovsbr0 untagged, expected on ovsbr2 tag 7',
    ]);
    // Deleting a bridge is undone with its ports and tags.
    expect(inverseOps([{ op: 'ovs.del-br', name: 'ovsbr0' }], before).undo).toEqual([
      { op: 'ovs.add-br', name: 'ovsbr0' },
      { op: 'ovs.add-port', bridge: 'ovsbr0', port: 'eth1', tag: 100 },
      { op: 'ovs.add-port', bridge: 'ovsbr0', port: 'eth2', tag: null },
    ]);
  });
});

describe('ensure_ovs_bridge', () => {
  it('as it is: no change; ports kept exactly as listed, tags set, new ports brought up', () => {
    const f = facts();
    // eth2 is a port but down: listed, it is brought up; nothing else changes.
    expect(
      planOf('ensure_ovs_bridge', { name: 'ovsbr0', ports: [{ name: 'eth1', tag: 100 }, { name: 'eth2' }], up: false }, f).changes.map((c) => c.summary),
    ).toEqual(['bring eth2 up']);
    expect(planOf('ensure_ovs_bridge', { name: 'ovsbr0', up: false }, f).noop).toBe('OVS bridge ovsbr0 is as wanted (eth1 tag 100, eth2 untagged)');
    const p = planOf('ensure_ovs_bridge', { name: 'ovsbr0', ports: [{ name: 'eth1', tag: 101 }], up: false }, f);
    expect(p.changes.map((c) => c.summary)).toEqual(['OVS port eth1: tag 100 → tag 101', 'remove eth2 from OVS bridge ovsbr0 (not listed)']);
    const made = planOf(
      'ensure_ovs_bridge',
      { name: 'ovsbr9', ports: [{ name: 'eth2', tag: 5 }] },
      { ...f, ovs: { bridges: { ovsbr0: { ports: { eth1: { tag: 100 } } }, ovsbr1: { ports: {} } } } },
    );
    expect(opsLines(changeOps(made.changes))).toEqual([
      'ovs-vsctl --may-exist add-br ovsbr9',
      "ovs-vsctl --may-exist add-port ovsbr9 eth2 'tag=5'",
      'ip link set eth2 up',
      'ip link set ovsbr9 up',
    ]);
  });
  it('refuses a host without Open vSwitch, a port of another bridge, a missing port', () => {
    const f = facts();
    expect(() => planOf('ensure_ovs_bridge', { name: 'ovsbr0' }, { ...f, ovs: undefined })).toThrow(/Open vSwitch is not running on hv1/);
    expect(() => planOf('ensure_ovs_bridge', { name: 'ovsbr1', ports: [{ name: 'eth1' }] }, f)).toThrow(/eth1 is a port of OVS bridge ovsbr0 on hv1/);
    expect(() => planOf('ensure_ovs_bridge', { name: 'ovsbr1', ports: [{ name: 'nope0' }] }, f)).toThrow(/port nope0 of OVS bridge ovsbr1 does not exist/);
  });
  it('moving the SSH interface into an OVS bridge is on the SSH path', () => {
    const f = facts();
    const dev = f.session!.dev!;
    f.links[dev]!.master = undefined;
    expect(sshPathTouch(planOf('ensure_ovs_bridge', { name: 'ovsbr1', ports: [{ name: dev }] }, f).changes, f)).toMatch(new RegExp(`re-parents ${dev}`));
  });
});

describe('trunks', () => {
  const trunkFacts = (): Facts => {
    const f = facts();
    f.ovs = parseOvs(readFileSync(new URL('../fixtures/facts/ovs-trunks.vsctl', import.meta.url), 'utf8'));
    for (const n of ['eth3', 'eth4']) f.links[n] ??= { ...f.links.eth2!, name: n };
    return f;
  };
  it('are read as ovs-vsctl lists them (one VLAN is a bare number, none an empty set), only where a port has some', () => {
    expect(trunkFacts().ovs).toEqual({
      bridges: {
        ovsbr0: {
          ports: { eth1: { tag: 100 }, eth2: { tag: null, trunks: [10, 20, 30] }, eth3: { tag: null, trunks: [40] }, eth4: { tag: 5, trunks: [50, 51] } },
        },
      },
    });
  });
  it('set-trunks and add-port with trunks: lines, effect, inverse, check', () => {
    const before = trunkFacts();
    const ops: Op[] = [
      { op: 'ovs.set-trunks', port: 'eth2', trunks: [10, 20] },
      { op: 'ovs.set-trunks', port: 'eth3', trunks: [] },
      { op: 'ovs.del-port', bridge: 'ovsbr0', port: 'eth4' },
      { op: 'ovs.add-port', bridge: 'ovsbr0', port: 'eth4', tag: null, trunks: [60, 61] },
    ];
    expect(opsLines(ops)).toEqual([
      "ovs-vsctl set port eth2 'trunks=10,20'",
      'ovs-vsctl clear port eth3 trunks',
      'ovs-vsctl --if-exists del-port ovsbr0 eth4',
      "ovs-vsctl --may-exist add-port ovsbr0 eth4 'trunks=60,61'",
    ]);
    const after = structuredClone(before);
    applyOps(ops, after);
    expect(after.ovs!.bridges.ovsbr0!.ports).toEqual({
      eth1: { tag: 100 },
      eth2: { tag: null, trunks: [10, 20] },
      eth3: { tag: null },
      eth4: { tag: null, trunks: [60, 61] },
    });
    expect(inverseOps(ops, before).undo).toEqual([
      { op: 'ovs.del-port', bridge: 'ovsbr0', port: 'eth4' },
      { op: 'ovs.add-port', bridge: 'ovsbr0', port: 'eth4', tag: 5, trunks: [50, 51] },
      { op: 'ovs.set-trunks', port: 'eth3', trunks: [40] },
      { op: 'ovs.set-trunks', port: 'eth2', trunks: [10, 20, 30] },
    ]);
    expect(verifyOps(ops, after, after)).toEqual([]);
    expect(verifyOps([ops[0]!], after, before)).toEqual(['OVS port eth2 is on ovsbr0 untagged trunks 10,20,30, expected on ovsbr0 untagged trunks 10,20']);
  });
  it('ensure_ovs_bridge: trunks compared as a sorted set; changed in place; a tag inside trunks is a mistake', () => {
    const f = trunkFacts();
    const ports = [
      { name: 'eth1', tag: 100 },
      { name: 'eth2', trunks: [30, 10, 20, 20] },
      { name: 'eth3', trunks: [40] },
      { name: 'eth4', tag: 5, trunks: [51, 50] },
    ];
    expect(planOf('ensure_ovs_bridge', { name: 'ovsbr0', ports, up: false }, f).changes.map((c) => c.summary)).toEqual([
      'bring eth2 up',
      'bring eth3 up',
      'bring eth4 up',
    ]);
    const up = (f2: Facts) => {
      for (const n of ['eth2', 'eth3', 'eth4']) f2.links[n]!.up = true;
      return f2;
    };
    expect(planOf('ensure_ovs_bridge', { name: 'ovsbr0', ports, up: false }, up(trunkFacts())).noop).toBe(
      'OVS bridge ovsbr0 is as wanted (eth1 tag 100, eth3 untagged trunks 40, eth4 tag 5 trunks 50,51, eth2 untagged trunks 10,20,30)',
    );
    const p = planOf(
      'ensure_ovs_bridge',
      { name: 'ovsbr0', ports: [{ name: 'eth1', tag: 100, trunks: [7] }, { name: 'eth2', trunks: [10] }, { name: 'eth3' }, ports[3]!], up: false },
      up(trunkFacts()),
    );
    expect(p.changes.map((c) => c.summary)).toEqual([
      'OVS port eth1: trunks none → 7',
      'OVS port eth2: trunks 10,20,30 → 10',
      'OVS port eth3: trunks 40 → none',
    ]);
    expect(opsLines(changeOps(p.changes))).toEqual([
      "ovs-vsctl set port eth1 'trunks=7'",
      "ovs-vsctl set port eth2 'trunks=10'",
      'ovs-vsctl clear port eth3 trunks',
    ]);
    const problems = taskModule('ensure_ovs_bridge').argProblems!({ name: 'ovsbr0', ports: [{ name: 'eth1', tag: 5, trunks: [5, 6] }] });
    expect(problems).toEqual([{ field: 'ports', at: [0, 'trunks'], message: "VLAN 5 is the port's tag (its native VLAN): leave it out of trunks" }]);
  });
});
