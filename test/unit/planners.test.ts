// Every planner on facts captured from real lab hosts: create, no-op, modify, absent, refusals.
import { describe, expect, it } from 'vitest';
import { RefusedError } from '../../src/errors.js';
import type { Facts } from '../../src/model/facts.js';
import { applyChanges, changeLines, type Change, type Plan } from '../../src/model/plan.js';
import { sshPathTouch } from '../../src/run/ssh-path.js';
import { planOf } from './support/plan-task.js';
import { hostFixture } from './support/host-fixture.js';

const bridge = (a: object, f: Facts) => planOf('ensure_bridge', a, f);
const port = (a: object, f: Facts) => planOf('ensure_port', a, f);
const ip = (a: object, f: Facts) => planOf('ensure_ip', a, f);
const net = (a: object, f: Facts, desiredXml?: string) => planOf('ensure_libvirt_net', a, f, 'hv1', { desiredXml });
const commands = (p: Plan) => changeLines(p.changes);
const apply = (p: Plan, f: Facts) => applyChanges(p.changes, f);
/** The definition a change sends to net-define. */
const definedXml = (c: Change | undefined) => c?.ops.flatMap((o) => (o.op === 'net.define' ? [o.xml] : []))[0];

const BRIDGED_XML = '<network><name>bridged-network</name><forward mode="bridge"/><bridge name="br0"/></network>';
const NET10_XML = `<network>
  <name>net10</name>
  <forward mode="nat"><nat><port start="1024" end="65535"/></nat></forward>
  <bridge name="br10" stp="on" delay="0"/>
  <ip address="192.168.30.1" netmask="255.255.255.0"><dhcp><range start="192.168.30.50" end="192.168.30.200"/></dhcp></ip>
</network>`;

describe('ensure_bridge', () => {
  it('creates a missing bridge with STP and brings it up', () => {
    const p = bridge({ name: 'br0', stp: true }, hostFixture('fresh'));
    expect(commands(p)).toEqual(['ip link add br0 type bridge stp_state 1', 'ip link set br0 up']);
  });
  it('is a no-op on the captured bridged host (stp on, delay 15 s)', () => {
    const p = bridge({ name: 'br0', stp: true, forward_delay: 15 }, hostFixture('bridged'));
    expect(p.changes).toEqual([]);
    expect(p.noop).toMatch(/bridge br0 exists as wanted/);
  });
  it('compares the forward delay the kernel clamps with STP on (0 reads back as 2 s)', () => {
    // br10 was created by libvirt with stp on, delay 0: ip reports forward_delay 200 (cs).
    const f = hostFixture('nat');
    expect(f.links.br10!.bridge).toEqual({ stp: true, forwardDelay: 2 });
    expect(bridge({ name: 'br10', stp: true, forward_delay: 0 }, f).changes).toEqual([]);
  });
  it('changes stp and mtu in place', () => {
    const p = bridge({ name: 'br0', stp: false, mtu: 9000 }, hostFixture('bridged'));
    expect(commands(p)).toEqual(['ip link set br0 type bridge stp_state 0', 'ip link set br0 mtu 9000']);
  });
  it('deletes with state absent only when no libvirt network uses it', () => {
    expect(() => bridge({ name: 'br0', state: 'absent' }, hostFixture('bridged'))).toThrow(/used by libvirt network bridged-network/);
    const f = hostFixture('fresh');
    apply(bridge({ name: 'br9' }, f), f);
    expect(commands(bridge({ name: 'br9', state: 'absent' }, f))).toEqual(['ip link del br9']);
    expect(bridge({ name: 'nope', state: 'absent' }, hostFixture('fresh')).noop).toBe('bridge nope does not exist');
  });
  it('refuses to turn a non-bridge into a bridge', () => {
    expect(() => bridge({ name: 'eth1' }, hostFixture('fresh'))).toThrow(/eth1 exists on hv1 but is a veth/);
  });
});

describe('ensure_port', () => {
  it('brings the interface up, then enslaves it', () => {
    const f = hostFixture('fresh');
    apply(bridge({ name: 'br0', stp: true }, f), f);
    expect(commands(port({ bridge: 'br0', interface: 'eth1' }, f))).toEqual(['ip link set eth1 up', 'ip link set eth1 master br0']);
  });
  it('is a no-op when already a port', () => {
    expect(port({ bridge: 'br0', interface: 'eth1' }, hostFixture('bridged')).noop).toBe('eth1 is already a port of br0 and up');
  });
  it('plans correctly after a bridge that only exists in check mode (facts updated in memory)', () => {
    const f = hostFixture('fresh');
    expect(() => port({ bridge: 'br0', interface: 'eth1' }, f)).toThrow(/bridge br0 does not exist/);
    apply(bridge({ name: 'br0' }, f), f);
    expect(port({ bridge: 'br0', interface: 'eth1' }, f).changes).toHaveLength(2);
  });
  it('releases with state absent', () => {
    expect(commands(port({ bridge: 'br0', interface: 'eth1', state: 'absent' }, hostFixture('bridged')))).toEqual(['ip link set eth1 nomaster']);
    expect(port({ bridge: 'br0', interface: 'eth2', state: 'absent' }, hostFixture('bridged')).noop).toBe('eth2 is not a port of br0');
  });
  it('refuses an interface that does not exist, naming those that do', () => {
    expect(() => port({ bridge: 'br0', interface: 'eth9' }, hostFixture('bridged'))).toThrow(
      /interface eth9 does not exist on hv1 \(interfaces there: .*eth1, eth2/,
    );
  });
  it('refuses a bridge owned by a libvirt NAT network', () => {
    expect(() => port({ bridge: 'virbr0', interface: 'eth2' }, hostFixture('nat'))).toThrow(/virbr0 belongs to libvirt network 'default' \(forward mode nat\)/);
    expect(() => port({ bridge: 'br10', interface: 'eth2' }, hostFixture('nat'))).toThrow(/belongs to libvirt network 'net10'/);
  });
  it('refuses the interface that carries the SSH session, pointing to migrate', () => {
    const f = hostFixture('bridged');
    expect(f.session!.dev).toBe('mgmt0');
    expect(() => port({ bridge: 'br0', interface: 'mgmt0' }, f)).toThrow(/mgmt0 carries this SSH session.*migrate: true/);
  });
  it('migrates the management interface: addresses and default route move to the bridge', () => {
    const f = hostFixture('bridged');
    const p = port({ bridge: 'br0', interface: 'mgmt0', migrate: true }, f);
    expect(p.consent).toBe('migrate: true');
    expect(sshPathTouch(p.changes, f)).toMatch(/re-parents mgmt0/);
    const cmds = commands(p);
    const addr = f.addrs.find((a) => a.dev === 'mgmt0' && a.family === 4)!;
    const gw = f.routes.find((r) => r.dst === 'default')!.gateway!;
    expect(cmds).toContain(`ip address replace ${addr.address}/${addr.prefix} dev br0`);
    expect(cmds).toContain('ip link set mgmt0 master br0');
    expect(cmds).toContain(`ip route replace default via ${gw} dev br0`);
    expect(cmds.indexOf(`ip address replace ${addr.address}/${addr.prefix} dev br0`)).toBeLessThan(cmds.indexOf('ip link set mgmt0 master br0'));
    apply(p, f);
    expect(f.session!.dev).toBe('br0');
    expect(f.addrs.filter((a) => a.dev === 'mgmt0' && a.scope === 'global')).toEqual([]);
  });
  it('force on the SSH interface is allowed but marked as touching the management path', () => {
    const f = hostFixture('bridged');
    const p = port({ bridge: 'br0', interface: 'mgmt0', force: true }, f);
    expect(commands(p)).toEqual(['ip link set mgmt0 master br0']);
    expect(p.consent).toBe('force: true');
    expect(sshPathTouch(p.changes, f)).toMatch(/re-parents mgmt0, and the SSH session runs over mgmt0/);
  });
});

describe('ensure_ip', () => {
  it('adds a missing address, no-op when present', () => {
    const f = hostFixture('fresh');
    apply(bridge({ name: 'br0' }, f), f);
    expect(commands(ip({ dev: 'br0', address: '192.168.0.90/24' }, f))).toEqual(['ip address add 192.168.0.90/24 dev br0']);
    expect(ip({ dev: 'br0', address: '192.168.0.90/24' }, hostFixture('bridged')).noop).toBe('192.168.0.90/24 is already on br0');
  });
  it('replaces an address whose prefix differs', () => {
    expect(commands(ip({ dev: 'br0', address: '192.168.0.90/16' }, hostFixture('bridged')))).toEqual([
      'ip address del 192.168.0.90/24 dev br0',
      'ip address add 192.168.0.90/16 dev br0',
    ]);
  });
  it('exclusive removes the other global addresses of the family', () => {
    const f = hostFixture('bridged');
    expect(commands(ip({ dev: 'br0', address: '192.168.0.91/24', exclusive: true }, f))).toEqual([
      'ip address add 192.168.0.91/24 dev br0',
      'ip address del 192.168.0.90/24 dev br0',
    ]);
  });
  it('removes with state absent, refusing the SSH session address', () => {
    const f = hostFixture('bridged');
    expect(commands(ip({ dev: 'br0', address: '192.168.0.90/24', state: 'absent' }, f))).toEqual(['ip address del 192.168.0.90/24 dev br0']);
    const session = f.addrs.find((a) => a.dev === 'mgmt0' && a.family === 4)!;
    expect(() => ip({ dev: 'mgmt0', address: `${session.address}/${session.prefix}`, state: 'absent' }, f)).toThrow(/the address this SSH session uses/);
  });
  it('refuses a device that does not exist', () => {
    expect(() => ip({ dev: 'br0', address: '10.0.0.1/24' }, hostFixture('fresh'))).toThrow(/device br0 does not exist/);
  });
});

describe('ensure_libvirt_net', () => {
  it('defines, starts and autostarts a missing network (XML on stdin)', () => {
    const p = net({ name: 'bridged-network', autostart: true }, hostFixture('fresh'), BRIDGED_XML);
    expect(p.changes.map((c) => c.summary)).toEqual([
      'define network bridged-network',
      'start network bridged-network',
      'enable autostart of network bridged-network',
    ]);
    expect(definedXml(p.changes[0])).toBe(BRIDGED_XML);
  });
  it('what libvirt added (uuid, mac, stp, delay) is not a change', () => {
    expect(net({ name: 'bridged-network', autostart: true }, hostFixture('bridged'), BRIDGED_XML).noop).toMatch(/defined as wanted \(active, autostarted\)/);
    expect(net({ name: 'net10', autostart: true }, hostFixture('nat'), NET10_XML).changes).toEqual([]);
  });
  it('without the libvirt version, a changed DHCP range redefines and restarts the active network, and the diff says so', () => {
    const p = net({ name: 'net10', autostart: true }, hostFixture('nat'), NET10_XML.replace('192.168.30.200', '192.168.30.150'));
    expect(p.changes.map((c) => c.summary)).toEqual(['redefine network net10', 'network net10 restarted (no running guests attached)']);
    expect(commands(p).slice(1)).toEqual(['virsh -q net-destroy net10', 'virsh -q net-start net10']);
    expect(p.diff!.before).toContain('end="192.168.30.200"');
    expect(p.diff!.after).toContain('end="192.168.30.150"');
    expect(p.diff!.before).not.toContain('uuid');
    expect(p.diff!.notes![0]).toMatch(/^restart: net10 is active .*no running guests attached/);
  });
  it('with libvirt 9.0.0 the same change is a live update: no restart', () => {
    const f = hostFixture('nat');
    if (f.libvirt.available) f.libvirt.version = '9.0.0';
    const p = net({ name: 'net10', autostart: true }, f, NET10_XML.replace('192.168.30.200', '192.168.30.150'));
    expect(p.changes.map((c) => c.summary)).toEqual([
      'update network net10 live, guests keep their link: delete ip-dhcp-range <range start="192.168.30.50" end="192.168.30.200"/>; add ip-dhcp-range <range start="192.168.30.50" end="192.168.30.150"/>',
    ]);
    expect(commands(p).join('\n')).not.toMatch(/net-destroy|net-define/);
    expect(p.diff!.notes![0]).toMatch(/^live update, guests keep their link/);
  });
  it('starts an inactive network and enables autostart without redefining it', () => {
    const p = net({ name: 'default', autostart: true }, hostFixture('fresh'));
    expect(p.changes.map((c) => c.summary)).toEqual(['start network default', 'enable autostart of network default']);
  });
  it('state absent destroys and undefines', () => {
    expect(commands(net({ name: 'net10', state: 'absent' }, hostFixture('nat')))).toEqual(['virsh -q net-destroy net10', 'virsh -q net-undefine net10']);
    expect(net({ name: 'net10', state: 'absent' }, hostFixture('fresh')).noop).toBe('network net10 is not defined');
  });
  it('fails clearly when libvirtd is not running', () => {
    const f = hostFixture('no-libvirtd');
    expect(() => net({ name: 'default' }, f)).toThrow(/libvirtd is not running on hv1: .*Connection refused/);
  });
  it('refuses a definition whose name differs from the task', () => {
    expect(() => net({ name: 'other' }, hostFixture('fresh'), BRIDGED_XML)).toThrow(RefusedError);
  });
});

describe('redefining an existing network keeps its uuid', () => {
  it('the XML sent to net-define carries the current uuid (libvirt refuses a second network of that name otherwise)', () => {
    const f = hostFixture('nat');
    const uuid = /<uuid>([^<]+)<\/uuid>/.exec(f.libvirt.available ? f.libvirt.networks.net10!.xml! : '')![1]!;
    const p = net({ name: 'net10' }, f, NET10_XML.replace('192.168.30.200', '192.168.30.150'));
    expect(definedXml(p.changes[0])).toContain(`<uuid>${uuid}</uuid>`);
    expect(definedXml(p.changes[0])).toContain('end="192.168.30.150"');
  });
  it('a uuid the user wrote is kept as written', () => {
    const own = NET10_XML.replace('<name>net10</name>', '<name>net10</name><uuid>11111111-2222-3333-4444-555555555555</uuid>').replace(
      '192.168.30.200',
      '192.168.30.150',
    );
    expect(definedXml(net({ name: 'net10' }, hostFixture('nat'), own).changes[0])).toContain('11111111-2222-3333-4444-555555555555');
  });
});
