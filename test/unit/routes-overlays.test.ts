// Routes, policy rules and VXLANs: their facts parsed from output captured on a lab host
// (test/fixtures/facts/overlay.stdout), their operations (lines, effect, inverse, check) and the
// planners of ensure_route, ensure_rule and ensure_vxlan on those facts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALL_FRAGMENTS } from '../../src/facts/needs.js';
import { parseFacts } from '../../src/facts/parse.js';
import type { Facts } from '../../src/model/facts.js';
import { changeOps, factsAfter } from '../../src/model/plan.js';
import { applyOps, inverseOps, opsLines, opsTouches, verifyOps, type Op } from '../../src/ops/index.js';
import { sshPathTouch } from '../../src/run/ssh-path.js';
import { taskModule } from '../../src/tasks/registry.js';
import { kernelPrefix } from '../../src/tasks/routing-args.js';
import { prefixCovers } from '../../src/model/cidr-match.js';
import { planOf } from './support/plan-task.js';

const captured = readFileSync(new URL('../fixtures/facts/overlay.stdout', import.meta.url), 'utf8');
const facts = (): Facts => parseFacts(captured, '', ALL_FRAGMENTS).facts;
const clone = (f: Facts) => structuredClone(f);

describe('facts of routes, rules and VXLANs (captured on a lab host)', () => {
  const f = facts();
  it('reads routes of other tables, with onlink, mtu and src, and keeps main without a table', () => {
    expect(f.routes.find((r) => r.dst === '10.50.0.0/16')).toMatchObject({
      family: 4,
      gateway: '198.18.28.254',
      dev: 'br28',
      table: '100',
      metric: 5,
      mtu: 1400,
      prefsrc: '198.18.28.1',
    });
    expect(f.routes.find((r) => r.dst === '10.60.0.0/16')).toMatchObject({ gateway: '192.0.2.1', onlink: true });
    expect(f.routes.find((r) => r.dst === '10.60.0.0/16')!.table).toBeUndefined();
    expect(f.routes.find((r) => r.dst === 'fd29::/64')).toMatchObject({ family: 6, table: '100', metric: 1024, gateway: 'fd28::9' });
    // Nothing of the local table, no route twice.
    expect(f.routes.some((r) => r.table === 'local')).toBe(false);
    expect(f.routes.filter((r) => r.dst === 'default')).toHaveLength(1);
  });
  it('reads the rules of both families as ip -j rule lists them', () => {
    expect(f.rules).toContainEqual({ family: 4, priority: 1000, from: '198.18.28.0/24', table: '100' });
    expect(f.rules).toContainEqual({ family: 4, priority: 1001, iif: 'br28', fwmark: '0x10/0xff', table: '100' });
    expect(f.rules).toContainEqual({ family: 6, priority: 1000, from: 'fd28::/64', table: '100' });
    expect(f.rules!.filter((r) => r.family === 4).map((r) => r.priority)).toEqual([0, 1000, 1001, 32766, 32767]);
  });
  it('reads VXLAN settings and the flooding entries', () => {
    expect(f.links.vx28).toMatchObject({
      kind: 'vxlan',
      master: 'br28',
      up: true,
      mtu: 1450,
      vxlan: { vni: 28, local: '198.19.151.11', dev: 'mgmt0', dstport: 4789, learning: false },
      fdbRemotes: ['198.19.151.12', '198.19.151.13'],
    });
    expect(f.links.vx29).toMatchObject({
      kind: 'vxlan',
      up: false,
      vxlan: { vni: 29, group: '239.1.1.29', dev: 'mgmt0', dstport: 4790, learning: true },
      fdbRemotes: ['239.1.1.29'],
    });
    // (the kernel's own all-zero entry of a multicast VXLAN: to its group)
  });
});

describe('operations', () => {
  it('route.replace: every value quoted, table, onlink, mtu and src on the line; del keyed by dst, metric, table', () => {
    const route = {
      family: 4 as const,
      dst: '10.70.0.0/16',
      dev: 'br28',
      gateway: '198.18.28.9',
      table: '100',
      onlink: true,
      mtu: 1400,
      prefsrc: '198.18.28.1',
      metric: 7,
    };
    expect(
      opsLines([
        { op: 'route.replace', route },
        { op: 'route.del', route },
      ]),
    ).toEqual([
      'ip route replace 10.70.0.0/16 via 198.18.28.9 dev br28 metric 7 table 100 src 198.18.28.1 onlink mtu 1400',
      'ip route del 10.70.0.0/16 via 198.18.28.9 dev br28 metric 7 table 100',
    ]);
    expect(opsLines([{ op: 'route.replace', route: { family: 6, dst: 'fd30::/64', dev: "we'ird", table: 'main' } }])).toEqual([
      "ip -6 route replace fd30::/64 dev 'we'\\''ird'",
    ]);
  });
  it('route.replace: effect, inverse (the replaced route comes back), check', () => {
    const before = facts();
    const op: Op = { op: 'route.replace', route: { family: 4, dst: '10.50.0.0/16', dev: 'br28', gateway: '198.18.28.253', table: '100', metric: 5 } };
    const after = clone(before);
    applyOps([op], after);
    expect(after.routes.filter((r) => r.dst === '10.50.0.0/16')).toEqual([
      { family: 4, dst: '10.50.0.0/16', dev: 'br28', gateway: '198.18.28.253', table: '100', metric: 5 },
    ]);
    const { undo } = inverseOps([op], before);
    expect(undo).toEqual([
      { op: 'route.replace', route: expect.objectContaining({ gateway: '198.18.28.254', mtu: 1400, prefsrc: '198.18.28.1', table: '100' }) },
    ]);
    expect(verifyOps([op], after, after)).toEqual([]);
    expect(verifyOps([op], after, before)[0]).toMatch(
      /route 10.50.0.0\/16 via 198.18.28.253 dev br28 table 100 is via 198.18.28.254 .* mtu 1400, expected via 198.18.28.253/,
    );
    // A new route's inverse deletes it; a deleted one's brings it back.
    const added: Op = { op: 'route.replace', route: { family: 4, dst: '10.80.0.0/16', dev: 'br28' } };
    expect(inverseOps([added], before).undo).toEqual([{ op: 'route.del', route: added.route }]);
    const del: Op = { op: 'route.del', route: { family: 4, dst: '10.60.0.0/16', dev: 'br28', gateway: '192.0.2.1' } };
    expect(inverseOps([del], before).undo).toEqual([{ op: 'route.replace', route: expect.objectContaining({ dst: '10.60.0.0/16', onlink: true }) }]);
  });
  it('rule.add / rule.del: lines, effect, inverse, check', () => {
    const before = facts();
    const rule = { family: 4 as const, priority: 1100, from: '198.18.29.0/24', to: '10.0.0.0/8', oif: 'br28', fwmark: '0x20', table: '200' };
    const add: Op = { op: 'rule.add', rule };
    expect(opsLines([add, { op: 'rule.del', rule: { ...rule, family: 6 } }])).toEqual([
      'ip rule add from 198.18.29.0/24 to 10.0.0.0/8 oif br28 fwmark 0x20 priority 1100 table 200',
      'ip -6 rule del from 198.18.29.0/24 to 10.0.0.0/8 oif br28 fwmark 0x20 priority 1100 table 200',
    ]);
    const after = clone(before);
    applyOps([add], after);
    expect(after.rules!.map((r) => r.priority)).toEqual([0, 1000, 1001, 1100, 32766, 32767, 0, 1000, 32766]);
    expect(inverseOps([add], before).undo).toEqual([{ op: 'rule.del', rule }]);
    expect(verifyOps([add], after, before)).toEqual([
      'rule 1100: from 198.18.29.0/24 to 10.0.0.0/8 oif br28 fwmark 0x20 lookup 200 is absent, expected present',
    ]);
    expect(verifyOps([add], after, after)).toEqual([]);
    const existing = before.rules!.find((r) => r.priority === 1000 && r.family === 4)!;
    const del: Op = { op: 'rule.del', rule: { ...existing, table: existing.table! } };
    expect(inverseOps([del], before).undo).toEqual([{ op: 'rule.add', rule: del.rule }]);
  });
  it('fdb.append / fdb.del: the all-zero MAC entry, effect, inverse, check', () => {
    const before = facts();
    const add: Op = { op: 'fdb.append', dev: 'vx28', dst: '198.19.151.14' };
    const del: Op = { op: 'fdb.del', dev: 'vx28', dst: '198.19.151.12' };
    expect(opsLines([add, del])).toEqual([
      'bridge fdb append 00:00:00:00:00:00 dev vx28 dst 198.19.151.14',
      'bridge fdb del 00:00:00:00:00:00 dev vx28 dst 198.19.151.12',
    ]);
    const after = clone(before);
    applyOps([add, del], after);
    expect(after.links.vx28!.fdbRemotes).toEqual(['198.19.151.13', '198.19.151.14']);
    expect(inverseOps([add, del], before).undo).toEqual([
      { op: 'fdb.append', dev: 'vx28', dst: '198.19.151.12' },
      { op: 'fdb.del', dev: 'vx28', dst: '198.19.151.14' },
    ]);
    expect(verifyOps([add, del], after, before)).toEqual([
      'vx28: flooding entry to 198.19.151.14 is absent, expected present',
      'vx28: flooding entry to 198.19.151.12 is present, expected absent',
    ]);
    expect(opsTouches([add], before)).toEqual([{ kind: 'link', name: 'vx28', op: 'settings' }]);
  });
  it('link.add vxlan: line, effect (MTU from the underlay), check of its settings, re-created with its entries by a rollback', () => {
    const before = facts();
    const op: Op = { op: 'link.add', name: 'vx30', kind: 'vxlan', vxlan: { vni: 30, local: '198.19.151.11', dev: 'mgmt0', dstport: 4789, learning: true } };
    expect(opsLines([op])).toEqual(['ip link add vx30 type vxlan id 30 local 198.19.151.11 dev mgmt0 dstport 4789 learning']);
    const after = clone(before);
    applyOps([op], after);
    expect(after.links.vx30).toMatchObject({ kind: 'vxlan', mtu: 1450, fdbRemotes: [] });
    const wrong = clone(after);
    wrong.links.vx30!.vxlan = { ...wrong.links.vx30!.vxlan!, learning: false };
    expect(verifyOps([op], after, wrong)).toEqual([
      'vx30 VXLAN is vni 30 local 198.19.151.11 dev mgmt0 dstport 4789 nolearning, expected vni 30 local 198.19.151.11 dev mgmt0 dstport 4789 learning',
    ]);
    // Deleting vx28 is undone by re-creating it, into br28, with its flooding entries.
    const undo = inverseOps([{ op: 'link.del', name: 'vx28' }], before).undo;
    expect(undo).toContainEqual({
      op: 'link.add',
      name: 'vx28',
      kind: 'vxlan',
      vxlan: { vni: 28, local: '198.19.151.11', dev: 'mgmt0', dstport: 4789, learning: false },
    });
    expect(undo).toContainEqual({ op: 'link.master', name: 'vx28', master: 'br28' });
    expect(undo).toContainEqual({ op: 'link.mac', name: 'vx28', mac: 'be:44:7e:84:f1:a9' });
    expect(undo).toContainEqual({ op: 'fdb.append', dev: 'vx28', dst: '198.19.151.13' });
  });
});

describe('ensure_route', () => {
  it('the route as listed is no change; another gateway is a replace; absent deletes', () => {
    const f = facts();
    expect(
      planOf('ensure_route', { dst: '10.50.0.0/16', via: '198.18.28.254', dev: 'br28', table: 100, metric: 5, mtu: 1400, src: '198.18.28.1' }, f).noop,
    ).toBe('route 10.50.0.0/16 metric 5 table 100 is via 198.18.28.254 dev br28 src 198.18.28.1 mtu 1400');
    expect(planOf('ensure_route', { dst: 'fd29:0::/64', via: 'FD28::9', dev: 'br28', table: '100' }, f).noop).toMatch(
      /^route fd29::\/64 metric 1024 table 100/,
    );
    expect(planOf('ensure_route', { dst: '10.60.0.0/16', via: '192.0.2.1', dev: 'br28', onlink: true }, f).noop).toBeDefined();
    const changed = planOf('ensure_route', { dst: '10.50.0.0/16', via: '198.18.28.253', dev: 'br28', table: 100, metric: 5 }, f);
    expect(changed.changes.map((c) => c.summary)).toEqual([
      'change route 10.50.0.0/16 metric 5 table 100: via 198.18.28.254 dev br28 src 198.18.28.1 mtu 1400 → via 198.18.28.253 dev br28',
    ]);
    expect(changeOps(changed.changes)).toEqual([
      { op: 'route.replace', route: { family: 4, dst: '10.50.0.0/16', dev: 'br28', gateway: '198.18.28.253', metric: 5, table: '100' } },
    ]);
    const gone = planOf('ensure_route', { dst: '10.60.0.0/16', state: 'absent' }, f);
    expect(opsLines(changeOps(gone.changes))).toEqual(['ip route del 10.60.0.0/16 via 192.0.2.1 dev br28']);
    expect(planOf('ensure_route', { dst: '10.61.0.0/16', state: 'absent' }, f).noop).toBe('no route 10.61.0.0/16');
  });
  it("refuses a missing device and the kernel's own route of an address", () => {
    const f = facts();
    expect(() => planOf('ensure_route', { dst: '10.9.0.0/16', dev: 'nope0' }, f)).toThrow(/device nope0 does not exist on hv1/);
    expect(() => planOf('ensure_route', { dst: '198.18.28.0/24', dev: 'br28' }, f)).toThrow(/kernel's own route/);
  });
  it("a route on the session's device, or covering the SSH client, is on the SSH path; one elsewhere is not", () => {
    const f = facts();
    const onPath = (args: object) => sshPathTouch(planOf('ensure_route', args, f).changes, f);
    expect(onPath({ dst: '10.50.0.0/16', via: '198.18.28.253', dev: 'br28', table: 100, metric: 5 })).toBeUndefined();
    expect(onPath({ dst: 'default', via: '198.19.151.2', dev: 'mgmt0' })).toMatch(/changes route default on mgmt0, and the SSH session runs over mgmt0/);
    // The client is reached by mgmt0: a host route to it through br28 would take the session's replies away.
    expect(onPath({ dst: '198.19.151.1', via: '198.18.28.254', dev: 'br28' })).toMatch(/changes route 198.19.151.1 on mgmt0/);
  });
  it('checks its arguments', () => {
    const problems = (args: Record<string, unknown>) => taskModule('ensure_route').argProblems!(args).map((p) => `${p.field}: ${p.message}`);
    expect(problems({ dst: '10.0.0.1/8', dev: 'x' })).toEqual(['dst: 10.0.0.1/8 has host bits set: the network is 10.0.0.0/8']);
    expect(problems({ dst: '10.0.0.0/8', via: 'fd00::1', onlink: true })).toEqual([
      'dev: ensure_route needs dev with state: present',
      'via: via fd00::1 is IPv6, dst 10.0.0.0/8 is IPv4',
    ]);
    expect(problems({ dst: 'default', dev: 'x', onlink: true })).toEqual(['onlink: onlink needs a gateway (via)']);
  });
  it('persists as a networkd [Route] drop-in of the device kvmnet persisted; ifupdown needs a stanza of the device', () => {
    const f = facts();
    f.persisted = { '/etc/systemd/network/10-kvmnet-br28.network': '[Match]\nName=br28\n' };
    const files = taskModule('ensure_route').persistence!.files(
      'networkd',
      taskModule('ensure_route').schema.parse({ dst: '10.50.0.0/16', via: '198.18.28.254', dev: 'br28', table: 100, metric: 5, mtu: 1400, onlink: true }),
      f,
      'hv1',
    );
    expect(files).toEqual([
      {
        path: '/etc/systemd/network/10-kvmnet-br28.network.d/route-10_50_0_0_16-m5-t100.conf',
        content:
          '# Written by kvmnet; changes made here are overwritten on its next run.\n# ensure_route 10.50.0.0/16 via 198.18.28.254 dev br28\n[Route]\nDestination=10.50.0.0/16\nGateway=198.18.28.254\nGatewayOnLink=yes\nMetric=5\nTable=100\nMTUBytes=1400\n',
      },
    ]);
    expect(() =>
      taskModule('ensure_route').persistence!.files('ifupdown', taskModule('ensure_route').schema.parse({ dst: '10.50.0.0/16', dev: 'br28' }), f, 'hv1'),
    ).toThrow(/persist: ifupdown: no stanza brings br28 up on hv1/);
  });
});

describe('ensure_rule', () => {
  it('the rule as listed is no change (a mark in decimal too); another table at that selector is replaced; absent deletes', () => {
    const f = facts();
    expect(planOf('ensure_rule', { priority: 1000, from: '198.18.28.0/24', table: 100 }, f).noop).toBe('rule 1000: from 198.18.28.0/24 lookup 100 is there');
    expect(planOf('ensure_rule', { priority: 1001, iif: 'br28', fwmark: '16/255', table: 100 }, f).noop).toBeDefined();
    expect(planOf('ensure_rule', { priority: 1000, from: 'fd28::/64', table: 100 }, f).noop).toBeDefined();
    const swap = planOf('ensure_rule', { priority: 1000, from: '198.18.28.0/24', table: 200 }, f);
    expect(opsLines(changeOps(swap.changes))).toEqual([
      'ip rule del from 198.18.28.0/24 priority 1000 table 100',
      'ip rule add from 198.18.28.0/24 priority 1000 table 200',
    ]);
    expect(opsLines(changeOps(planOf('ensure_rule', { priority: 1001, iif: 'br28', fwmark: '0x10/0xff', state: 'absent' }, f).changes))).toEqual([
      'ip rule del iif br28 fwmark 0x10/0xff priority 1001 table 100',
    ]);
    expect(planOf('ensure_rule', { priority: 1002, from: '10.0.0.0/8', state: 'absent' }, f).noop).toBe('no rule 1002: from 10.0.0.0/8');
  });
  it("a rule that matches the session's replies is on the SSH path; a marked or other-source one is not", () => {
    const f = facts();
    const onPath = (args: object) => sshPathTouch(planOf('ensure_rule', args, f).changes, f);
    expect(onPath({ priority: 900, to: '198.19.151.0/24', table: 100 })).toMatch(/changes route rule 900: from all to 198.19.151.0\/24 lookup 100 on mgmt0/);
    expect(onPath({ priority: 900, from: '198.18.28.0/24', table: 100 })).toBeUndefined();
    expect(onPath({ priority: 900, fwmark: 16, table: 100 })).toBeUndefined();
  });
  it('persists as a [RoutingPolicyRule] drop-in of the device holding an address of from', () => {
    const f = facts();
    f.persisted = { '/etc/systemd/network/10-kvmnet-br28.network': '[Match]\nName=br28\n' };
    const m = taskModule('ensure_rule');
    expect(m.persistence!.files('networkd', m.schema.parse({ priority: 1000, from: '198.18.28.0/24', table: 100 }), f, 'hv1')).toEqual([
      {
        path: '/etc/systemd/network/10-kvmnet-br28.network.d/rule-1000.conf',
        content:
          '# Written by kvmnet; changes made here are overwritten on its next run.\n# ensure_rule priority 1000\n[RoutingPolicyRule]\nFrom=198.18.28.0/24\nTable=100\nPriority=1000\n',
      },
    ]);
    expect(() => m.persistence!.files('networkd', m.schema.parse({ priority: 1000, to: '10.0.0.0/8', table: 100 }), f, 'hv1')).toThrow(
      /names none kvmnet can tell/,
    );
  });
});

describe('ensure_vxlan', () => {
  const base = { name: 'vx28', vni: 28, local: '198.19.151.11', dev: 'mgmt0', learning: false };
  it('as listed is no change; remotes are kept exactly as listed (local left out); up/mtu', () => {
    const f = facts();
    expect(planOf('ensure_vxlan', { ...base, remotes: ['198.19.151.13', '198.19.151.11', '198.19.151.12'] }, f).noop).toBe(
      'VXLAN vx28 is as wanted (vni 28 local 198.19.151.11 dev mgmt0 dstport 4789 nolearning, 2 remotes)',
    );
    const grown = planOf('ensure_vxlan', { ...base, remotes: ['198.19.151.12', '198.19.151.14'] }, f);
    expect(grown.changes.map((c) => c.summary)).toEqual(['vx28: flood to 198.19.151.14', 'vx28: stop flooding to 198.19.151.13 (not listed)']);
    expect(planOf('ensure_vxlan', { ...base }, f).noop).toBeDefined();
  });
  it('another vni is a re-create that goes back into its bridge with its entries', () => {
    const f = facts();
    const p = planOf('ensure_vxlan', { ...base, vni: 128, remotes: ['198.19.151.12'] }, f);
    expect(p.changes[0]!.summary).toBe(
      're-create VXLAN vx28: it is vni 28 local 198.19.151.11 dev mgmt0 dstport 4789 nolearning, wanted vni 128 local 198.19.151.11 dev mgmt0 dstport 4789 nolearning, remotes 198.19.151.12 (back into br28)',
    );
    expect(opsLines(changeOps(p.changes))).toEqual([
      'ip link del vx28',
      'ip link add vx28 type vxlan id 128 local 198.19.151.11 dev mgmt0 dstport 4789 nolearning',
      // Its MAC as it was (the kernel would give it a random one).
      'ip link set vx28 address be:44:7e:84:f1:a9',
      'ip link set vx28 master br28',
      'bridge fdb append 00:00:00:00:00:00 dev vx28 dst 198.19.151.12',
      'ip link set vx28 up',
    ]);
    expect(factsAfter(p.changes, f).links.vx28).toMatchObject({
      master: 'br28',
      up: true,
      vxlan: { vni: 128 },
      fdbRemotes: ['198.19.151.12'],
      mac: 'be:44:7e:84:f1:a9',
    });
  });
  it('reports an MTU the underlay cannot carry, in the plan and the diff', () => {
    const f = facts();
    const p = planOf('ensure_vxlan', { ...base, mtu: 1500 }, f);
    expect(p.changes[0]!.summary).toMatch(
      /set vx28 mtu 1450 → 1500 \(warning: VXLAN vx28 mtu 1500 \+ 50 bytes of encapsulation is more than the underlay mgmt0's mtu 1500: frames above 1450 bytes will be lost/,
    );
    expect(p.diff!.notes).toHaveLength(1);
    expect(planOf('ensure_vxlan', { ...base, mtu: 1450 }, f).noop).toBeDefined();
  });
  it('checks its arguments and refuses what the host cannot do', () => {
    const problems = (args: Record<string, unknown>) => taskModule('ensure_vxlan').argProblems!(args).map((p) => `${p.field}: ${p.message}`);
    expect(problems({ name: 'vx1', remotes: ['1.2.3.4'], group: '239.1.1.1' })).toEqual([
      'vni: ensure_vxlan needs a vni with state: present',
      'group: give either remotes (unicast) or group (multicast), not both',
      'dev: a multicast group needs the underlay device (dev)',
    ]);
    expect(problems({ name: 'vx1', vni: 1, group: '10.0.0.1', dev: 'eth0' })).toEqual(['group: 10.0.0.1 is not a multicast address (224.0.0.0/4 or ff00::/8)']);
    const f = facts();
    expect(() => planOf('ensure_vxlan', { name: 'br28', vni: 1 }, f)).toThrow(/br28 exists on hv1 but is a bridge/);
    expect(() => planOf('ensure_vxlan', { name: 'vx9', vni: 1, local: '198.19.151.99' }, f)).toThrow(
      /local 198.19.151.99 of VXLAN vx9 is not an address of hv1/,
    );
  });
  it('persists as a networkd .netdev, a .network and [BridgeFDB] entries', () => {
    const f = facts();
    f.persisted = {};
    const m = taskModule('ensure_vxlan');
    const files = m.persistence!.files('networkd', m.schema.parse({ ...base, remotes: ['198.19.151.12'] }), f, 'hv1');
    expect(files.map((x) => x.path)).toEqual([
      '/etc/systemd/network/10-kvmnet-vx28.netdev',
      '/etc/systemd/network/10-kvmnet-vx28.network',
      '/etc/systemd/network/10-kvmnet-vx28.network.d/fdb.conf',
    ]);
    expect(files[0]!.content).toContain('[VXLAN]\nVNI=28\nLocal=198.19.151.11\nDestinationPort=4789\nMacLearning=no\nIndependent=yes\n');
    expect(files[2]!.content).toContain('[BridgeFDB]\nMACAddress=00:00:00:00:00:00\nDestination=198.19.151.12\n');
  });
});

describe('prefixes', () => {
  it('as the kernel lists them, and which address a prefix covers', () => {
    expect(kernelPrefix('10.0.0.5/32')).toBe('10.0.0.5');
    expect(kernelPrefix('2001:DB8:0::/48')).toBe('2001:db8::/48');
    expect(kernelPrefix('10.1.2.3/16')).toBe('10.1.0.0/16');
    expect(prefixCovers('default', '198.19.151.1')).toBe(true);
    expect(prefixCovers('198.19.151.0/24', '198.19.151.1')).toBe(true);
    expect(prefixCovers('198.19.150.0/24', '198.19.151.1')).toBe(false);
    expect(prefixCovers('fd28::/64', 'fd28::1')).toBe(true);
    expect(prefixCovers('fd28::/64', '198.19.151.1')).toBe(false);
  });
});

describe('validate: MTU sense and the mesh playbook', () => {
  it('warns where a VXLAN is written whose MTU + 50 bytes is more than the MTU the play gives its underlay; none when it fits', async () => {
    const { loadInventory } = await import('../../src/config/inventory.js');
    const { parsePlaybook } = await import('../../src/config/playbook.js');
    const { validatePlaybook } = await import('../../src/run/validate.js');
    const { formatDiagnostic } = await import('../../src/errors.js');
    const play = (vxMtu: number) => `- hosts: all
  tasks:
    - ensure_bridge: { name: brul, mtu: 1500 }
    - ensure_vxlan: { name: vx1, vni: 1, dev: brul, mtu: ${vxMtu} }
`;
    const run = (text: string) =>
      validatePlaybook(parsePlaybook('play.yaml', text).playbook!, loadInventory(['hv1,hv2,']).inventory, {}).diagnostics.map(formatDiagnostic);
    expect(run(play(1500))).toEqual([
      'warning: play.yaml:4:7: play 1 › task 2 › ensure_vxlan: VXLAN vx1 mtu 1500 + 50 bytes of encapsulation is more than the mtu 1500 this play gives its underlay brul: frames above 1450 bytes will be lost (2 hosts: hv1, hv2)',
    ]);
    expect(run(play(1450))).toEqual([]);
  });

  it('playbooks/vxlan-mesh.yaml renders every OTHER host of the group as remotes, from the inventory alone', async () => {
    const { readFileSync } = await import('node:fs');
    const { loadInventory } = await import('../../src/config/inventory.js');
    const { parsePlaybook } = await import('../../src/config/playbook.js');
    const { prepareTask } = await import('../../src/run/prepare.js');
    const { inventoryMagicVars } = await import('../../src/config/magic-vars.js');
    const { hostVars } = await import('../../src/config/inventory.js');
    const text = readFileSync(new URL('../../playbooks/vxlan-mesh.yaml', import.meta.url), 'utf8');
    const { playbook } = parsePlaybook('vxlan-mesh.yaml', text);
    const { inventory } = loadInventory([new URL('../fixtures/inventory-mesh.yaml', import.meta.url).pathname]);
    const play = playbook!.plays[0]!;
    const task = play.tasks.find((t) => t.type === 'ensure_vxlan')!;
    const rendered = (host: string) => {
      const vars = { ...inventoryMagicVars(inventory), ...hostVars(inventory, host), ...play.vars, inventory_hostname: host };
      const p = prepareTask(task, vars, host, '.');
      return { local: (p.args as { local: string }).local, remotes: wantedRemotesOf(p.args) };
    };
    expect(rendered('hv1')).toEqual({ local: '198.18.0.11', remotes: ['198.18.0.12', '198.18.0.13'] });
    expect(rendered('hv3')).toEqual({ local: '198.18.0.13', remotes: ['198.18.0.11', '198.18.0.12'] });
    // A host outside the group is not a remote.
    expect(rendered('hv2').remotes).not.toContain('198.18.0.99');
  });
});

import { wantedRemotes } from '../../src/tasks/ensure-vxlan.js';
const wantedRemotesOf = (args: unknown) => wantedRemotes(args as Parameters<typeof wantedRemotes>[0]);

describe('saved plans read routes in no particular order', () => {
  it('a route an effect appended reads the same as the kernel listing it among the others', async () => {
    const { readValue } = await import('../../src/run/read-tracker.js');
    const f = facts();
    const planned = clone(f);
    applyOps([{ op: 'route.replace', route: { family: 4, dst: '10.98.0.0/16', dev: 'br28', gateway: '198.18.28.254', table: '100' } }], planned);
    const listed = clone(planned);
    // The kernel lists table 100's v4 routes before the v6 ones: the new route is not last.
    const added = listed.routes.pop()!;
    listed.routes.splice(
      listed.routes.findIndex((r) => r.table === '100'),
      0,
      added,
    );
    expect(listed.routes).not.toEqual(planned.routes);
    const read = { path: ['routes'], as: 'value' } as unknown as Parameters<typeof readValue>[1];
    expect(readValue(listed, read)).toEqual(readValue(planned, read));
  });
});

describe('the graph', () => {
  it('draws a VXLAN with its VNI and remotes, and marks one whose MTU does not fit its underlay', async () => {
    const { factsSummary } = await import('../../src/report/facts-view.js');
    const { buildTopology } = await import('../../src/graph/topology.js');
    const f = facts();
    const fine = buildTopology('hv1', JSON.parse(JSON.stringify(factsSummary(f))));
    expect(fine.nodes.find((n) => n.id === 'link:vx28')).toMatchObject({
      detail: ['vxlan · VNI 28', 'MTU 1450'],
      perHost: ['→ 198.19.151.12', '→ 198.19.151.13'],
      problems: [],
    });
    f.links.vx28!.mtu = 1480;
    const over = buildTopology('hv1', JSON.parse(JSON.stringify(factsSummary(f))));
    expect(over.nodes.find((n) => n.id === 'link:vx28')!.problems).toEqual([
      "VXLAN vx28 mtu 1480 + 50 bytes of encapsulation is more than the underlay mgmt0's mtu 1500: frames above 1450 bytes will be lost; set mtu: 1450 or raise mgmt0's mtu",
    ]);
  });
  it('draws each VXLAN from the device its packets leave by (dev, or the holder of local), that edge marked when the MTU does not fit', async () => {
    const { factsSummary } = await import('../../src/report/facts-view.js');
    const { buildTopology } = await import('../../src/graph/topology.js');
    const { toDot } = await import('../../src/graph/dot.js');
    const { oneGroupPerHost } = await import('../../src/graph/shape.js');
    const f = facts();
    const underlay = (t: ReturnType<typeof buildTopology>) => t.edges.filter((e) => e.relation === 'underlay');
    const fine = buildTopology('hv1', JSON.parse(JSON.stringify(factsSummary(f))));
    expect(underlay(fine)).toEqual([
      { from: 'link:mgmt0', to: 'link:vx28', relation: 'underlay', ssh: false, problem: false },
      { from: 'link:mgmt0', to: 'link:vx29', relation: 'underlay', ssh: false, problem: false },
    ]);
    // mgmt0 carries the session; the VXLANs over it do not (nor vx28's bridge, through them).
    expect(fine.nodes.filter((n) => n.ssh).map((n) => n.id)).toEqual(['link:mgmt0', 'ssh']);
    expect(toDot(oneGroupPerHost([fine]))).toMatch(/"hv1\/link:mgmt0" -> "hv1\/link:vx28" \[[^\]]*style=dotted\]/);
    // Without dev: the device holding local.
    const g = facts();
    delete g.links.vx28!.vxlan!.dev;
    g.links.vx28!.mtu = 1480;
    const over = buildTopology('hv1', JSON.parse(JSON.stringify(factsSummary(g))));
    expect(underlay(over)[0]).toEqual({ from: 'link:mgmt0', to: 'link:vx28', relation: 'underlay', ssh: false, problem: true });
    expect(over.problems.find((p) => p.code === 'vxlan-mtu-over-underlay')).toMatchObject({ node: 'link:vx28', edge: { from: 'link:mgmt0', to: 'link:vx28' } });
  });
});
