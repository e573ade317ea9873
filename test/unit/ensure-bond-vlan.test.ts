// ensure_bond and ensure_vlan on facts captured from VM lab hosts (real kernel, test/fixtures/facts/vm):
// the facts they read, create, no-op, members one by one, a mode change as a planned re-create,
// refusals, and what the SSH-path guard makes of their changes.
import { describe, expect, it } from 'vitest';
import { checkTaskArgs } from '../../src/config/playbook.js';
import type { Facts } from '../../src/model/facts.js';
import { applyChanges, changeLines, type Plan } from '../../src/model/plan.js';
import { sshPathTouch } from '../../src/run/ssh-path.js';
import { settleMsOf } from '../../src/run/confirm.js';
import { ensureBond, lacpGoneAfterS } from '../../src/tasks/ensure-bond.js';
import { ensureVlan } from '../../src/tasks/ensure-vlan.js';
import { planOf } from './support/plan-task.js';
import { vmFixture } from './support/vm-fixture.js';

const bond = (a: object, f: Facts) => planOf('ensure_bond', a, f);
const vlan = (a: object, f: Facts) => planOf('ensure_vlan', a, f);
const commands = (p: Plan) => changeLines(p.changes);
const apply = (p: Plan, f: Facts) => applyChanges(p.changes, f);
const LACP = { name: 'bond0', mode: '802.3ad', members: ['eth1', 'eth2'], lacp_rate: 'fast', xmit_hash_policy: 'layer3+4' };

/** The 802.3ad capture with bond0 (and the VLAN on it) gone, as `ensure_bond state: absent` leaves it. */
function withoutBond(): Facts {
  const f = vmFixture('802.3ad');
  apply(bond({ name: 'bond0', state: 'absent' }, f), f);
  return f;
}

describe('bond facts (ip -j -d link + /proc/net/bonding)', () => {
  it('active-backup: mode, miimon, primary, active member, members', () => {
    const f = vmFixture('active-backup');
    expect(f.links.bond0!.bond).toEqual({
      mode: 'active-backup',
      miimon: 100,
      lacpRate: 'slow',
      xmitHashPolicy: 'layer2',
      primary: 'eth1',
      activeMember: 'eth1',
    });
    expect(f.links.eth1!.bondMember).toMatchObject({ state: 'ACTIVE', mii: 'UP', speed: '1000 Mbps' });
    expect(f.links.eth2!.bondMember).toMatchObject({ state: 'BACKUP', mii: 'UP' });
  });
  it('active-backup after eth1 lost its cable: eth2 active, eth1 MII down', () => {
    const f = vmFixture('active-backup-failover');
    expect(f.links.bond0!.bond!.activeMember).toBe('eth2');
    expect(f.links.eth1!.bondMember).toMatchObject({ state: 'BACKUP', mii: 'DOWN' });
  });
  it('802.3ad: LACP rate, hash policy, the aggregator and the partner (the lab switch)', () => {
    const b = vmFixture('802.3ad').links.bond0!.bond!;
    expect(b).toMatchObject({
      mode: '802.3ad',
      lacpRate: 'fast',
      xmitHashPolicy: 'layer3+4',
      aggregator: { id: 1, ports: 2, partnerMac: '02:6b:00:8a:fe:14' },
    });
    const down = vmFixture('802.3ad-member-down');
    expect(down.links.bond0!.bond!.aggregator).toEqual({ id: 1, ports: 1, partnerMac: '02:6b:00:8a:fe:14' });
    expect(down.links.eth2!.bondMember).toMatchObject({ mii: 'DOWN', aggregatorId: 1 });
  });
  it('VLANs: id, protocol and parent', () => {
    const f = vmFixture('bond-vlan');
    expect(f.links['bond0.20']).toMatchObject({ kind: 'vlan', lower: 'bond0', vlan: { id: 20, protocol: '802.1Q' } });
  });
  it('kvmnet facts shows bonds (mode, members, active member, partner) and VLANs', () => {
    const f = vmFixture('802.3ad-member-down');
    expect(ensureBond.factsView!.sections(f)[0]!.rows).toEqual([
      ['bond0', 'up', '802.3ad (fast)', '100', 'eth1,eth2(down)', '-', '02:6b:00:8a:fe:14 agg 1 (1 ports)'],
    ]);
    expect(ensureBond.factsView!.sections(vmFixture('active-backup-failover'))[0]!.rows[0]).toEqual([
      'bond0',
      'up',
      'active-backup',
      '100',
      'eth1(down),eth2',
      'eth2',
      '-',
    ]);
    const json = ensureBond.factsView!.json(vmFixture('802.3ad')) as { bonds: Array<Record<string, unknown>> };
    expect(json.bonds[0]).toMatchObject({
      name: 'bond0',
      mode: '802.3ad',
      partner: '02:6b:00:8a:fe:14',
      members: [
        { name: 'eth1', mii: 'UP', aggregator: 1 },
        { name: 'eth2', mii: 'UP', aggregator: 1 },
      ],
    });
    expect(ensureVlan.factsView!.sections(vmFixture('bond-vlan'))[0]!.rows).toEqual([['bond0.20', 'bond0', '20', 'up', '1500', '-', '198.19.220.1/24']]);
  });
  it('a host without bonds or VLANs has none, and no extra fields', () => {
    const f = withoutBond();
    expect(ensureBond.factsView!.json(f)).toEqual({ bonds: [] });
    expect(f.links.eth1!.bondMember).toBeUndefined();
  });
});

describe('ensure_bond', () => {
  it('creates a bond, adds the members (down, then enslaved) and brings it up', () => {
    const f = withoutBond();
    const p = bond(LACP, f);
    expect(commands(p)).toEqual([
      'ip link add bond0 type bond mode 802.3ad miimon 100 lacp_rate fast xmit_hash_policy layer3+4',
      'ip link set eth1 down',
      'ip link set eth1 master bond0',
      'ip link set eth1 up',
      'ip link set eth2 down',
      'ip link set eth2 master bond0',
      'ip link set eth2 up',
      'ip link set bond0 up',
    ]);
    expect(p.changes[0]!.summary).toBe('create bond bond0 (mode 802.3ad, miimon 100, lacp_rate fast, xmit_hash_policy layer3+4)');
    // What it plans is what it reads back: the same task on the resulting facts is a no-op.
    apply(p, f);
    expect(bond(LACP, f).changes).toEqual([]);
  });
  it('is a no-op on the captured 802.3ad bond, naming the LACP partner', () => {
    const p = bond(LACP, vmFixture('802.3ad'));
    expect(p.changes).toEqual([]);
    expect(p.noop).toBe('bond bond0 exists as wanted (802.3ad, members eth1, eth2, LACP partner 02:6b:00:8a:fe:14)');
  });
  it('is a no-op on the captured active-backup bond with its primary', () => {
    const p = bond({ name: 'bond0', mode: 'active-backup', members: ['eth1', 'eth2'], primary: 'eth1' }, vmFixture('active-backup'));
    expect(p.noop).toBe('bond bond0 exists as wanted (active-backup, members eth1, eth2, active eth1)');
  });
  it('changes members one by one, the new one first, without taking the bond down', () => {
    const p = bond({ name: 'bond0', mode: 'active-backup', members: ['eth1', 'eth3'], primary: 'eth1' }, vmFixture('active-backup'));
    expect(p.changes.map((c) => c.summary)).toEqual(['add eth3 to bond0', 'release eth2 from bond0']);
    expect(commands(p)).not.toContain('ip link set bond0 down');
    expect(p.diff!.before).toContain('bond0 members: eth1 eth2');
    expect(p.diff!.after).toContain('bond0 members: eth1 eth3');
  });
  it('changes miimon, the hash policy and the primary in place', () => {
    const p = bond({ name: 'bond0', mode: 'active-backup', members: ['eth1', 'eth2'], primary: 'eth2', miimon: 50 }, vmFixture('active-backup'));
    expect(commands(p)).toEqual(['ip link set bond0 type bond miimon 50', 'ip link set bond0 type bond primary eth2']);
    expect(commands(bond({ ...LACP, xmit_hash_policy: 'layer2+3' }, vmFixture('802.3ad')))).toEqual(['ip link set bond0 type bond xmit_hash_policy layer2+3']);
  });
  it('a mode change is a planned re-create in place, shown as such in the diff', () => {
    const f = vmFixture('bond-vlan');
    const p = bond({ name: 'bond0', mode: 'active-backup', members: ['eth1', 'eth2'] }, f);
    expect(p.changes[0]!.summary).toBe(
      're-create bond bond0 in place (mode 802.3ad → active-backup): take bond0 down, release eth1, eth2, set the mode, re-add eth1, eth2, bring it up',
    );
    expect(commands(p)).toEqual([
      'ip link set bond0 down',
      'ip link set eth1 nomaster',
      'ip link set eth2 nomaster',
      'ip link set bond0 type bond mode active-backup',
      'ip link set eth1 down',
      'ip link set eth1 master bond0',
      'ip link set eth1 up',
      'ip link set eth2 down',
      'ip link set eth2 master bond0',
      'ip link set eth2 up',
      'ip link set bond0 up',
    ]);
    expect(p.diff!.before.split('\n')[0]).toBe('bond0: bond mode 802.3ad miimon 100 lacp_rate fast xmit_hash_policy layer3+4 mtu 1500 up');
    expect(p.diff!.after.split('\n')[0]).toBe('bond0: bond mode active-backup miimon 100 mtu 1500 up');
    expect(p.diff!.notes).toEqual(['bond0 is re-created in place: it is down, without members, while its mode changes']);
    // The VLAN on it survives (not deleted): only the bond goes down and up.
    apply(p, f);
    expect(f.links['bond0.20']).toBeDefined();
    expect(bond({ name: 'bond0', mode: 'active-backup', members: ['eth1', 'eth2'] }, f).changes).toEqual([]);
  });
  it('a mode change with a member swapped re-adds only the members that stay', () => {
    const p = bond({ name: 'bond0', mode: 'balance-xor', members: ['eth1', 'eth3'] }, vmFixture('802.3ad'));
    expect(p.changes.map((c) => c.summary)).toEqual([
      're-create bond bond0 in place (mode 802.3ad → balance-xor): take bond0 down, release eth1, eth2, set the mode, re-add eth1, bring it up',
      'add eth3 to bond0',
    ]);
  });
  it('a lacp_rate change takes the bond down and up (the kernel allows it only then), members stay', () => {
    const p = bond({ ...LACP, lacp_rate: 'slow' }, vmFixture('802.3ad'));
    expect(commands(p)).toEqual(['ip link set bond0 down', 'ip link set bond0 type bond lacp_rate slow', 'ip link set bond0 up']);
  });
  it('state: absent deletes the bond (the kernel takes the VLANs on it along)', () => {
    const f = vmFixture('bond-vlan');
    const p = bond({ name: 'bond0', state: 'absent' }, f);
    expect(commands(p)).toEqual(['ip link del bond0']);
    expect(p.changes[0]!.summary).toBe('delete bond bond0 (releases eth1, eth2; the kernel deletes bond0.20 on it too)');
    apply(p, f);
    expect(f.links.bond0).toBeUndefined();
    expect(f.links['bond0.20']).toBeUndefined();
    expect(f.links.eth1!.master).toBeUndefined();
    expect(bond({ name: 'bond0', state: 'absent' }, f).noop).toBe('bond bond0 does not exist');
  });

  describe('refusals', () => {
    it('a member that carries the SSH session, without migrate', () => {
      expect(() => bond({ name: 'bond1', mode: 'active-backup', members: ['mgmt0'] }, withoutBond())).toThrow(
        'mgmt0 carries this SSH session on hv1 (198.18.138.11); making it a member of bond1 would cut the host off, because its address stays on mgmt0. Set migrate: true to move its addresses and routes to bond1 in the same step',
      );
    });
    it('a member that is a bridge port', () => {
      expect(() => bond({ name: 'bond0', mode: '802.3ad', members: ['eth1', 'eth2', 'eth3'] }, vmFixture('vlan-bridge'))).toThrow(
        /eth3 is a port of bridge br0 on hv1; a bond member cannot be a bridge port/,
      );
    });
    it('a member that does not exist, or is not a NIC', () => {
      expect(() => bond({ name: 'bond0', mode: '802.3ad', members: ['eth9'] }, vmFixture('802.3ad'))).toThrow(
        /member eth9 of bond bond0 does not exist on hv1/,
      );
      expect(() => bond({ name: 'bond1', mode: '802.3ad', members: ['br0'] }, vmFixture('vlan-bridge'))).toThrow(/br0 is a bridge; only network interfaces/);
    });
    it('a name that is another kind of link', () => {
      expect(() => bond({ name: 'br0', mode: '802.3ad' }, vmFixture('vlan-bridge'))).toThrow('br0 exists on hv1 but is a bridge; refusing to replace it');
    });
    it('deleting the bond that carries the session', () => {
      expect(() => bond({ name: 'bond0', state: 'absent' }, vmFixture('bond-vlan', { sshAddress: '198.19.220.1' }))).toThrow(
        /bond bond0 carries this SSH session on hv1 \(198.19.220.1 on bond0.20\)/,
      );
    });
    it('arguments that do not fit the mode', () => {
      const problems = (a: object) => checkTaskArgs('ensure_bond', a as Record<string, unknown>, true).issues.map((i) => `${i.path.join('.')}: ${i.message}`);
      expect(problems({ name: 'bond0', mode: 'active-backup', lacp_rate: 'fast' })).toEqual([
        'lacp_rate: lacp_rate only applies to mode 802.3ad (mode is active-backup)',
      ]);
      expect(problems({ name: 'bond0', mode: '802.3ad', primary: 'eth1' })).toEqual([
        'primary: primary only applies to modes active-backup, balance-tlb, balance-alb (mode is 802.3ad)',
      ]);
      expect(problems({ name: 'bond0', mode: 'active-backup', members: ['eth1', 'eth2'], primary: 'eth3' })).toEqual([
        'primary: primary eth3 is not one of the members (eth1, eth2)',
      ]);
      expect(problems({ name: 'bond0', members: ['eth1'] })).toEqual([
        'mode: ensure_bond needs a mode with state: present (one of 802.3ad, active-backup, balance-xor, balance-alb, balance-tlb, broadcast, balance-rr)',
      ]);
      expect(problems({ name: 'bond0', mode: 'lacp' })[0]).toMatch(/^mode: expected one of/);
      expect(problems({ name: 'bond0', mode: '{{ bond_mode }}', lacp_rate: 'fast' })).toEqual([]);
    });
  });

  describe('the SSH path', () => {
    // The session on bond0.20 (a VLAN of the bond): bond0 and its members are on the path.
    const onBond = () => vmFixture('bond-vlan', { sshAddress: '198.19.220.1', routes: '[]' });
    it('a mode change of the bond under the session is refused by the guard unless confirmed', () => {
      const f = onBond();
      const p = bond({ name: 'bond0', mode: 'active-backup', members: ['eth1', 'eth2'] }, f);
      expect(sshPathTouch(p.changes, f)).toMatch(/^takes down bond0, and the SSH session runs over bond0.20, bond0, eth1, eth2 \(198.19.220.1 on bond0.20\)/);
      expect(p.consent).toBeUndefined();
    });
    it('leaving 802.3ad is confirmed only after the switch would have dropped the bond as partner (3 missed LACPDUs)', () => {
      const f = onBond();
      expect(f.links.bond0!.bond!.lacpRate).toBe('fast');
      const p = bond({ name: 'bond0', mode: 'balance-rr', members: ['eth1', 'eth2'] }, f);
      expect(p.changes[0]!.settleS).toBe(4);
      expect(settleMsOf(p.changes)).toBe(4000);
      expect(lacpGoneAfterS({ mode: '802.3ad', miimon: 100, lacpRate: 'slow', aggregator: { id: 1, ports: 2, partnerMac: '02:6b:00:8a:fe:14' } })).toBe(91);
      // No partner, nothing to wait for; nor for changes that keep LACP going.
      expect(lacpGoneAfterS({ mode: '802.3ad', miimon: 100, aggregator: { id: 1, ports: 1, partnerMac: '00:00:00:00:00:00' } })).toBeUndefined();
      expect(settleMsOf(bond({ ...LACP, members: ['eth1'] }, f).changes)).toBe(1500);
    });
    it('releasing a member of that bond is guarded; adding one is not on the path', () => {
      const f = onBond();
      expect(sshPathTouch(bond({ ...LACP, members: ['eth1'] }, f).changes, f)).toMatch(/^re-parents eth2/);
      expect(sshPathTouch(bond({ ...LACP, members: ['eth1', 'eth2', 'eth3'] }, f).changes, f)).toBeUndefined();
    });
    it('migrate: the SSH NIC hands its addresses and routes to the bond in one guarded step', () => {
      const f = withoutBond();
      const p = bond({ name: 'bond1', mode: 'active-backup', members: ['mgmt0'], migrate: true }, f);
      expect(p.consent).toBe('migrate: true');
      expect(commands(p)).toEqual([
        'ip link add bond1 type bond mode active-backup miimon 100',
        'ip address replace 198.18.138.11/24 dev bond1',
        'ip link set mgmt0 down',
        'ip link set mgmt0 master bond1',
        'ip link set mgmt0 up',
        'ip link set bond1 up',
        'ip address del 198.18.138.11/24 dev mgmt0',
        'ip route replace default via 198.18.138.1 dev bond1',
      ]);
      expect(sshPathTouch(p.changes, f)).toBeDefined();
      apply(p, f);
      expect(f.session!.dev).toBe('bond1');
      expect(f.addrs.find((a) => a.address === '198.18.138.11')!.dev).toBe('bond1');
      expect(bond({ name: 'bond1', mode: 'active-backup', members: ['mgmt0'], migrate: true }, f).changes).toEqual([]);
    });
  });
});

describe('ensure_vlan', () => {
  it('is a no-op on the captured VLAN', () => {
    expect(vlan({ parent: 'bond0', id: 20 }, vmFixture('bond-vlan')).noop).toBe('VLAN bond0.20 exists as wanted (id 20 on bond0, mtu 1500, up)');
  });
  it('creates a VLAN on the bond, named <parent>.<id> by default', () => {
    const f = vmFixture('802.3ad');
    const p = vlan({ parent: 'bond0', id: 30, mtu: 1400 }, f);
    expect(commands(p)).toEqual(['ip link add link bond0 name bond0.30 type vlan id 30', 'ip link set bond0.30 mtu 1400', 'ip link set bond0.30 up']);
    apply(p, f);
    expect(vlan({ parent: 'bond0', id: 30, mtu: 1400 }, f).changes).toEqual([]);
    expect(commands(vlan({ parent: 'bond0', id: 40, name: 'mgmt40' }, f))[0]).toBe('ip link add link bond0 name mgmt40 type vlan id 40');
  });
  it('on a bond the same run creates (the facts earlier tasks leave)', () => {
    const f = withoutBond();
    apply(bond(LACP, f), f);
    expect(commands(vlan({ parent: 'bond0', id: 10 }, f))[0]).toBe('ip link add link bond0 name bond0.10 type vlan id 10');
  });
  it('another id under the same name is a planned re-create that says what goes', () => {
    const p = vlan({ parent: 'bond0', id: 21, name: 'bond0.20' }, vmFixture('bond-vlan'));
    expect(p.changes.map((c) => c.summary)).toEqual([
      're-create VLAN bond0.20: it is id 20 on bond0, wanted id 21 on bond0 (its addresses 198.19.220.1/24 go with it)',
      'create VLAN bond0.20 (id 21 on bond0, up)',
    ]);
    expect(p.diff!.after).toContain('bond0.20: 802.1Q id 21 on bond0');
  });
  it('changes mtu and up state in place; state: absent deletes', () => {
    expect(commands(vlan({ parent: 'bond0', id: 20, mtu: 1400, up: false }, vmFixture('bond-vlan')))).toEqual([
      'ip link set bond0.20 mtu 1400',
      'ip link set bond0.20 down',
    ]);
    expect(commands(vlan({ parent: 'bond0', id: 20, state: 'absent' }, vmFixture('bond-vlan')))).toEqual(['ip link del bond0.20']);
    expect(vlan({ parent: 'bond0', id: 20, state: 'absent' }, vmFixture('802.3ad')).noop).toBe('VLAN bond0.20 does not exist');
  });
  it('a port of a bridge may be a VLAN parent too (tagged frames go to the VLAN before the bridge sees them)', () => {
    const f = vmFixture('vlan-bridge');
    expect(f.links.eth3?.master).toBe('br0');
    expect(commands(vlan({ parent: 'eth3', id: 20, up: true }, f))).toEqual(['ip link add link eth3 name eth3.20 type vlan id 20', 'ip link set eth3.20 up']);
  });
  it('the bond-in-a-bridge-plus-VLAN layout (nmstate): bond0 a port of br100 and the parent of its VLANs plans and then plans nothing', () => {
    const f = vmFixture('bond-vlan');
    apply(planOf('ensure_bridge', { name: 'br100' }, f), f);
    apply(planOf('ensure_port', { bridge: 'br100', interface: 'bond0' }, f), f);
    expect(f.links.bond0?.master).toBe('br100');
    // the VLAN captured on bond0 stays as it is, a new one is made beside the bridge
    expect(vlan({ parent: 'bond0', id: 20 }, f).noop).toMatch(/bond0\.20/);
    const p = vlan({ parent: 'bond0', id: 30 }, f);
    expect(commands(p)).toEqual(['ip link add link bond0 name bond0.30 type vlan id 30', 'ip link set bond0.30 up']);
    apply(p, f);
    expect(vlan({ parent: 'bond0', id: 30 }, f).changes).toEqual([]);
  });
  it('refusals: no parent, a bond member as parent, the same id twice on a parent, MTU above the parent, the session VLAN', () => {
    expect(() => vlan({ parent: 'bond9', id: 20 }, vmFixture('bond-vlan'))).toThrow(/parent bond9 of VLAN bond9.20 does not exist on hv1/);
    expect(() => vlan({ parent: 'eth1', id: 20 }, vmFixture('bond-vlan'))).toThrow('eth1 is a member of bond bond0 on hv1; put the VLAN on bond0 instead');
    expect(() => vlan({ parent: 'bond0', id: 20, name: 'v20' }, vmFixture('bond-vlan'))).toThrow(/VLAN 20 already exists on bond0 as bond0.20/);
    expect(() => vlan({ parent: 'bond0', id: 30, mtu: 9000 }, vmFixture('bond-vlan'))).toThrow(/mtu 9000 of bond0.30 is above its parent bond0's \(1500\)/);
    expect(() => vlan({ parent: 'bond0', id: 20, state: 'absent' }, vmFixture('bond-vlan', { sshAddress: '198.19.220.1' }))).toThrow(
      /carries this SSH session/,
    );
  });
  it('migrate: the management address moves from the bond onto its VLAN in one step (addresses first, then the routes)', () => {
    const f = withoutBond();
    // The session's NIC into a new bond (migrate), then onto a VLAN of it: the plans of one confirm_group.
    const b = bond({ name: 'bond1', mode: 'active-backup', members: ['mgmt0'], migrate: true }, f);
    apply(b, f);
    const p = vlan({ parent: 'bond1', id: 10, migrate: true }, f);
    expect(p.consent).toBe('migrate: true');
    expect(commands(p)).toEqual([
      'ip link add link bond1 name bond1.10 type vlan id 10',
      'ip link set bond1.10 up',
      'ip address replace 198.18.138.11/24 dev bond1.10',
      'ip address del 198.18.138.11/24 dev bond1',
      'ip route replace default via 198.18.138.1 dev bond1.10',
    ]);
    expect(sshPathTouch(p.changes, f)).toMatch(/removes 198\.18\.138\.11 from bond1, the address the SSH session uses/);
    apply(p, f);
    expect(f.session!.dev).toBe('bond1.10');
    expect(f.routes.find((r) => r.dst === 'default')!.dev).toBe('bond1.10');
    expect(vlan({ parent: 'bond1', id: 10, migrate: true }, f).changes).toEqual([]);
    // And on to a bridge on the VLAN (the same confirm_group may hold these two tasks too).
    const br = planOf('ensure_bridge', { name: 'brm' }, f);
    apply(br, f);
    const port = planOf('ensure_port', { bridge: 'brm', interface: 'bond1.10', migrate: true }, f);
    expect(port.changes.map((c) => c.summary)).toEqual([
      'migrate bond1.10 into brm: move 198.18.138.11/24, route default via 198.18.138.1 to brm, then add bond1.10 to brm',
    ]);
    apply(port, f);
    expect(f.session!.dev).toBe('brm');
    // Without migrate the address stays on the parent; with migrate and up: false, it would be lost.
    const g = withoutBond();
    apply(bond({ name: 'bond1', mode: 'active-backup', members: ['mgmt0'], migrate: true }, g), g);
    expect(commands(vlan({ parent: 'bond1', id: 10 }, g))).toHaveLength(2);
    expect(() => vlan({ parent: 'bond1', id: 10, migrate: true, up: false }, g)).toThrow(/would be down/);
  });
  it('argument checks: id range, a default name over 15 bytes', () => {
    const problems = (a: object) => checkTaskArgs('ensure_vlan', a as Record<string, unknown>, true).issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(problems({ parent: 'bond0', id: 4095 })[0]).toMatch(/^id: /);
    expect(problems({ parent: 'bond0', id: 0 })[0]).toMatch(/^id: /);
    expect(problems({ parent: 'enp129s0f0np0', id: 100 })).toEqual([
      'parent: the default name enp129s0f0np0.100 is not usable (an interface name is at most 15 bytes, this one is 17): give a name',
    ]);
    expect(problems({ parent: 'enp129s0f0np0', id: 100, name: 'vlan100' })).toEqual([]);
  });
});

describe('playbooks/bonded-vlans.yaml (two NICs → bond0 → VLANs → bridges → libvirt networks)', () => {
  it('passes validate against the example inventory: every task rendered for every host', async () => {
    const { loadInventory } = await import('../../src/config/inventory.js');
    const { loadPlaybook } = await import('../../src/config/playbook.js');
    const { validatePlaybook } = await import('../../src/run/validate.js');
    const { formatDiagnostic } = await import('../../src/errors.js');
    const { playbook, diagnostics } = loadPlaybook('playbooks/bonded-vlans.yaml');
    expect(diagnostics.map(formatDiagnostic)).toEqual([]);
    const { inventory } = loadInventory(['inventory']);
    const report = validatePlaybook(playbook!, inventory, {});
    expect([...report.diagnostics, ...report.renderDiagnostics].map(formatDiagnostic)).toEqual([]);
    expect(report.hosts.size).toBe(4);
    expect(playbook!.plays[0]!.tasks.map((t) => t.type)).toEqual(['ensure_bond', 'ensure_vlan', 'ensure_bridge', 'ensure_port', 'ensure_libvirt_net']);
  });
});
