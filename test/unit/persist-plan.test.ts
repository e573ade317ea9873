// Planning persistence: the files each task wants, how tasks combine, idempotence, refusals.
// Facts are parsed from output captured on lab hosts (test/fixtures/facts).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RefusedError } from '../../src/errors.js';
import { parseFacts } from '../../src/facts/parse.js';
import type { Facts } from '../../src/model/facts.js';
import { applyChanges, changeLines, type Plan } from '../../src/model/plan.js';
import { fileChanges } from '../../src/persist/plan.js';
import { planOf } from './support/plan-task.js';

const fixture = (name: string): Facts => parseFacts(readFileSync(new URL(`../fixtures/facts/${name}.stdout`, import.meta.url), 'utf8'), '').facts;
/** A fresh lab host (no kvmnet files), with /etc/network/interfaces.d present as on every lab host. */
const fresh = (): Facts => ({ ...fixture('persist-fresh-no-ifupdown-dir'), persistDirs: ['/etc/systemd/network', '/etc/network/interfaces.d'] });

type T = 'ensure_bridge' | 'ensure_port' | 'ensure_ip';
function planTask(type: T, args: Record<string, unknown>, facts: Facts): Plan {
  return planOf(type, args, facts);
}
/** Plans and applies the effects (what the runner does in check mode too). */
function run(type: T, args: Record<string, unknown>, facts: Facts): Plan {
  const p = planTask(type, args, facts);
  applyChanges(p.changes, facts);
  return p;
}
const summaries = (p: Plan) => p.changes.map((c) => c.summary);
const NWD = '/etc/systemd/network';
const IFD = '/etc/network/interfaces.d';

describe('persist: networkd', () => {
  it('creates the bridge and writes its .netdev and .network; a second plan is a no-op that says the files are in place', () => {
    const facts = fresh();
    const first = run('ensure_bridge', { name: 'br0', stp: true, forward_delay: 4, mtu: 9000, persist: 'networkd' }, facts);
    expect(summaries(first)).toEqual([
      'create bridge br0 (stp on, forward delay 4 s, mtu 9000, up)',
      `write ${NWD}/10-kvmnet-br0.netdev`,
      `write ${NWD}/10-kvmnet-br0.network`,
    ]);
    expect(facts.persisted![`${NWD}/10-kvmnet-br0.netdev`]).toMatchInlineSnapshot(`
      "# Written by kvmnet; changes made here are overwritten on its next run.
      # ensure_bridge br0
      [NetDev]
      Name=br0
      Kind=bridge
      MTUBytes=9000

      [Bridge]
      STP=yes
      ForwardDelaySec=4
      "
    `);
    expect(facts.persisted![`${NWD}/10-kvmnet-br0.network`]).toMatchInlineSnapshot(`
      "# Written by kvmnet; changes made here are overwritten on its next run.
      # ensure_bridge br0; its addresses (ensure_ip) are drop-ins in 10-kvmnet-br0.network.d/
      [Match]
      Name=br0

      [Network]
      ConfigureWithoutCarrier=yes
      "
    `);
    const again = planTask('ensure_bridge', { name: 'br0', stp: true, forward_delay: 4, mtu: 9000, persist: 'networkd' }, facts);
    expect(again.changes).toEqual([]);
    expect(again.noop).toMatch(/^bridge br0 exists as wanted .*; persisted \(networkd\): 10-kvmnet-br0\.netdev, 10-kvmnet-br0\.network in place$/);
  });

  it('a bridge that is down stays down after a reboot', () => {
    const facts = fresh();
    run('ensure_bridge', { name: 'br0', up: false, persist: 'networkd' }, facts);
    expect(facts.persisted![`${NWD}/10-kvmnet-br0.network`]).toContain('[Link]\nActivationPolicy=down\n');
    expect(facts.persisted![`${NWD}/10-kvmnet-br0.netdev`]).not.toContain('[Bridge]');
  });

  it('runtime already right but the files missing: the task still changes (the files), with a file diff', () => {
    // The ifupdown fixture: br0 with stp on, forward delay 4, mtu 1400, eth1/eth2, addresses; no networkd files.
    const facts = fixture('persist-ifupdown');
    const p = planTask('ensure_bridge', { name: 'br0', stp: true, forward_delay: 4, mtu: 1400, persist: 'networkd' }, facts);
    expect(summaries(p)).toEqual([`write ${NWD}/10-kvmnet-br0.netdev`, `write ${NWD}/10-kvmnet-br0.network`]);
    expect(p.noop).toBeUndefined();
    expect(p.diff!.before).toMatchInlineSnapshot(`
      "file /etc/systemd/network/10-kvmnet-br0.netdev
          (absent)
      file /etc/systemd/network/10-kvmnet-br0.network
          (absent)"
    `);
    expect(p.diff!.after.split('\n').slice(0, 4)).toEqual([
      'file /etc/systemd/network/10-kvmnet-br0.netdev',
      '    # Written by kvmnet; changes made here are overwritten on its next run.',
      '    # ensure_bridge br0',
      '    [NetDev]',
    ]);
  });

  it('a hand-edited file is put back (update), and the diff shows both versions', () => {
    const facts = fresh();
    facts.links.br0 = { name: 'br0', kind: 'bridge', up: true, operstate: 'UP', mtu: 1500 };
    facts.links.eth1 = { ...facts.links.eth1!, master: 'br0', up: true };
    facts.persisted = { [`${NWD}/10-kvmnet-eth1.network`]: '[Match]\nName=eth1\n\n[Network]\nBridge=br1\n' };
    const p = planTask('ensure_port', { bridge: 'br0', interface: 'eth1', persist: 'networkd' }, facts);
    expect(summaries(p)).toEqual([`update ${NWD}/10-kvmnet-eth1.network`]);
    expect(p.diff!.before).toContain('    Bridge=br1');
    expect(p.diff!.after).toContain('    Bridge=br0');
  });

  it('with runtime changes too, the diff describes the devices and then the files', () => {
    const facts = fresh();
    run('ensure_bridge', { name: 'br0', persist: 'networkd' }, facts);
    const p = planTask('ensure_port', { bridge: 'br0', interface: 'eth1', persist: 'networkd' }, facts);
    expect(summaries(p)).toEqual(['bring eth1 up', 'add eth1 to br0', `write ${NWD}/10-kvmnet-eth1.network`]);
    expect(p.diff).toMatchInlineSnapshot(`
      {
        "after": "eth1: veth mtu 1500 up master br0
      eth1: no addresses
      file /etc/systemd/network/10-kvmnet-eth1.network
          # Written by kvmnet; changes made here are overwritten on its next run.
          # ensure_port eth1 -> br0
          [Match]
          Name=eth1

          [Network]
          Bridge=br0",
        "before": "eth1: veth mtu 1500 down
      eth1: no addresses
      file /etc/systemd/network/10-kvmnet-eth1.network
          (absent)",
      }
    `);
  });

  it('persist: none (the default) touches no file, even when kvmnet files exist', () => {
    const facts = fixture('persist-networkd-drift');
    for (const args of [
      { name: 'br0', stp: false },
      { name: 'br0', stp: false, persist: 'none' },
    ]) {
      const p = planTask('ensure_bridge', args, facts);
      expect(summaries(p)).toEqual(['set br0 stp on → off']);
    }
  });

  it('several ensure_ip on one device: one drop-in each, none overwrites another', () => {
    const facts = fresh();
    run('ensure_bridge', { name: 'br0', persist: 'networkd' }, facts);
    const a = run('ensure_ip', { dev: 'br0', address: '192.168.0.90/24', persist: 'networkd' }, facts);
    const b = run('ensure_ip', { dev: 'br0', address: '2001:DB8:0::1/64', persist: 'networkd' }, facts);
    const c = run('ensure_ip', { dev: 'br0', address: '10.0.0.1/8', persist: 'networkd' }, facts);
    expect([a, b, c].map((p) => summaries(p).at(-1))).toEqual([
      `write ${NWD}/10-kvmnet-br0.network.d/address-192.168.0.90.conf`,
      `write ${NWD}/10-kvmnet-br0.network.d/address-2001:db8::1.conf`,
      `write ${NWD}/10-kvmnet-br0.network.d/address-10.0.0.1.conf`,
    ]);
    expect(changeLines([a.changes.at(-1)!])[0]).toBe(`mkdir -p ${NWD}/10-kvmnet-br0.network.d`);
    expect(facts.persisted![`${NWD}/10-kvmnet-br0.network.d/address-2001:db8::1.conf`]).toMatchInlineSnapshot(`
      "# Written by kvmnet; changes made here are overwritten on its next run.
      # ensure_ip 2001:db8::1/64 on br0
      [Network]
      Address=2001:db8::1/64
      "
    `);
    for (const address of ['192.168.0.90/24', '2001:db8::1/64', '10.0.0.1/8']) {
      const p = planTask('ensure_ip', { dev: 'br0', address, persist: 'networkd' }, facts);
      expect(p.changes, address).toEqual([]);
      expect(p.noop).toMatch(/persisted \(networkd\): address-.*\.conf in place$/);
    }
  });

  it('a new prefix for the same address rewrites its file; exclusive removes the other files of the family', () => {
    const facts = fresh();
    run('ensure_bridge', { name: 'br0', persist: 'networkd' }, facts);
    for (const address of ['192.168.0.90/24', '10.0.0.1/8', '2001:db8::1/64']) run('ensure_ip', { dev: 'br0', address, persist: 'networkd' }, facts);
    const p = run('ensure_ip', { dev: 'br0', address: '192.168.0.90/25', exclusive: true, persist: 'networkd' }, facts);
    expect(summaries(p)).toEqual([
      'remove 192.168.0.90/24 from br0 (prefix /24 → /25)',
      'add 192.168.0.90/25 to br0',
      'remove 10.0.0.1/8 from br0 (exclusive)',
      `update ${NWD}/10-kvmnet-br0.network.d/address-192.168.0.90.conf`,
      `remove ${NWD}/10-kvmnet-br0.network.d/address-10.0.0.1.conf`,
    ]);
    expect(
      Object.keys(facts.persisted!)
        .filter((k) => k.includes('address-'))
        .sort(),
    ).toEqual([`${NWD}/10-kvmnet-br0.network.d/address-192.168.0.90.conf`, `${NWD}/10-kvmnet-br0.network.d/address-2001:db8::1.conf`]);
    expect(changeLines([p.changes.at(-1)!])).toEqual([
      `rm -f ${NWD}/10-kvmnet-br0.network.d/address-10.0.0.1.conf`,
      `rmdir ${NWD}/10-kvmnet-br0.network.d 2>/dev/null || :`,
    ]);
  });

  it('state: absent of an address removes its file (whatever its prefix)', () => {
    const facts = fresh();
    run('ensure_bridge', { name: 'br0', persist: 'networkd' }, facts);
    run('ensure_ip', { dev: 'br0', address: '192.168.0.90/24', persist: 'networkd' }, facts);
    const p = run('ensure_ip', { dev: 'br0', address: '192.168.0.90/16', state: 'absent', persist: 'networkd' }, facts);
    expect(summaries(p)).toEqual(['remove 192.168.0.90/24 from br0', `remove ${NWD}/10-kvmnet-br0.network.d/address-192.168.0.90.conf`]);
    expect(planTask('ensure_ip', { dev: 'br0', address: '192.168.0.90/16', state: 'absent', persist: 'networkd' }, facts).noop).toBe(
      '192.168.0.90/16 is not on br0; persisted (networkd): no address-192.168.0.90.conf',
    );
  });

  it('refuses an address on a device whose .network kvmnet does not write (another file may own it)', () => {
    const facts = fresh();
    expect(() => planTask('ensure_ip', { dev: 'eth2', address: '10.1.1.1/24', persist: 'networkd' }, facts)).toThrow(RefusedError);
    expect(() => planTask('ensure_ip', { dev: 'eth2', address: '10.1.1.1/24', persist: 'networkd' }, facts)).toThrow(
      /networkd applies only the first \.network file/,
    );
  });

  it('deleting the bridge removes its files, its address drop-ins and the files of its ports, not those of other bridges', () => {
    const facts = fresh();
    run('ensure_bridge', { name: 'br0', persist: 'networkd' }, facts);
    run('ensure_bridge', { name: 'br1', persist: 'networkd' }, facts);
    run('ensure_port', { bridge: 'br0', interface: 'eth1', persist: 'networkd' }, facts);
    run('ensure_port', { bridge: 'br1', interface: 'eth2', persist: 'networkd' }, facts);
    run('ensure_ip', { dev: 'br0', address: '192.168.0.90/24', persist: 'networkd' }, facts);
    const p = run('ensure_bridge', { name: 'br0', state: 'absent', persist: 'networkd' }, facts);
    expect(summaries(p)).toEqual([
      'delete bridge br0',
      `remove ${NWD}/10-kvmnet-br0.netdev`,
      `remove ${NWD}/10-kvmnet-br0.network`,
      `remove ${NWD}/10-kvmnet-br0.network.d/address-192.168.0.90.conf`,
      `remove ${NWD}/10-kvmnet-eth1.network`,
    ]);
    expect(Object.keys(facts.persisted!).sort()).toEqual([`${NWD}/10-kvmnet-br1.netdev`, `${NWD}/10-kvmnet-br1.network`, `${NWD}/10-kvmnet-eth2.network`]);
    expect(planTask('ensure_bridge', { name: 'br0', state: 'absent', persist: 'networkd' }, facts).noop).toBe(
      'bridge br0 does not exist; persisted (networkd): no 10-kvmnet-br0.netdev, 10-kvmnet-br0.network',
    );
  });

  it('ensure_port absent removes the file only when it makes the interface a port of that bridge', () => {
    const facts = fresh();
    run('ensure_bridge', { name: 'br0', persist: 'networkd' }, facts);
    run('ensure_port', { bridge: 'br0', interface: 'eth1', persist: 'networkd' }, facts);
    expect(summaries(planTask('ensure_port', { bridge: 'br1', interface: 'eth1', state: 'absent', persist: 'networkd' }, facts))).toEqual([]);
    expect(summaries(run('ensure_port', { bridge: 'br0', interface: 'eth1', state: 'absent', persist: 'networkd' }, facts))).toEqual([
      'release eth1 from br0',
      `remove ${NWD}/10-kvmnet-eth1.network`,
    ]);
  });
});

describe('persist: ifupdown', () => {
  it('one stanza per bridge; ensure_port tasks add their port to its bridge_ports without clobbering each other', () => {
    const facts = fresh();
    run('ensure_bridge', { name: 'br0', stp: true, forward_delay: 0, persist: 'ifupdown' }, facts);
    expect(facts.persisted![`${IFD}/kvmnet-br0`]).toMatchInlineSnapshot(`
      "# Written by kvmnet; changes made here are overwritten on its next run.
      # ensure_bridge br0, with the ports of ensure_port; addresses (ensure_ip) are in kvmnet-br0__ADDRESS files
      auto br0
      iface br0 inet manual
          bridge_ports none
          bridge_stp on
          bridge_fd 0
      "
    `);
    const p1 = run('ensure_port', { bridge: 'br0', interface: 'eth1', persist: 'ifupdown' }, facts);
    const p2 = run('ensure_port', { bridge: 'br0', interface: 'eth2', persist: 'ifupdown' }, facts);
    expect([summaries(p1).at(-1), summaries(p2).at(-1)]).toEqual([`update ${IFD}/kvmnet-br0`, `update ${IFD}/kvmnet-br0`]);
    expect(facts.persisted![`${IFD}/kvmnet-br0`]).toContain('    bridge_ports eth1 eth2\n');
    // Re-running the bridge task keeps the ports; re-running a port task changes nothing.
    expect(planTask('ensure_bridge', { name: 'br0', stp: true, forward_delay: 0, persist: 'ifupdown' }, facts).changes).toEqual([]);
    expect(planTask('ensure_port', { bridge: 'br0', interface: 'eth1', persist: 'ifupdown' }, facts).noop).toBe(
      'eth1 is already a port of br0 and up; persisted (ifupdown): kvmnet-br0 in place',
    );
    // A changed bridge setting rewrites the stanza, still with its ports.
    run('ensure_bridge', { name: 'br0', stp: false, mtu: 9000, persist: 'ifupdown' }, facts);
    expect(facts.persisted![`${IFD}/kvmnet-br0`]).toContain('iface br0 inet manual\n    bridge_ports eth1 eth2\n    bridge_stp off\n    mtu 9000\n');
    expect(summaries(run('ensure_port', { bridge: 'br0', interface: 'eth1', state: 'absent', persist: 'ifupdown' }, facts))).toEqual([
      'release eth1 from br0',
      `update ${IFD}/kvmnet-br0`,
    ]);
    expect(facts.persisted![`${IFD}/kvmnet-br0`]).toContain('    bridge_ports eth2\n');
  });

  it('moving a port takes it out of the other bridge stanza', () => {
    const facts = fresh();
    run('ensure_bridge', { name: 'br0', persist: 'ifupdown' }, facts);
    run('ensure_bridge', { name: 'br1.5', persist: 'ifupdown' }, facts);
    run('ensure_port', { bridge: 'br0', interface: 'eth1', persist: 'ifupdown' }, facts);
    const p = run('ensure_port', { bridge: 'br1.5', interface: 'eth1', persist: 'ifupdown' }, facts);
    expect(summaries(p)).toEqual(['move eth1 from br0 to br1.5', `update ${IFD}/kvmnet-br1_2e5`, `update ${IFD}/kvmnet-br0`]);
    expect(facts.persisted![`${IFD}/kvmnet-br0`]).toContain('bridge_ports none\n');
    expect(facts.persisted![`${IFD}/kvmnet-br1_2e5`]).toContain('auto br1.5\niface br1.5 inet manual\n    bridge_ports eth1\n');
  });

  it('addresses are extra `iface … static` stanzas, one file each; deleting the bridge removes them all', () => {
    const facts = fresh();
    run('ensure_bridge', { name: 'br0', persist: 'ifupdown' }, facts);
    run('ensure_ip', { dev: 'br0', address: '192.168.0.90/24', persist: 'ifupdown' }, facts);
    run('ensure_ip', { dev: 'br0', address: '2001:db8:0:0::1/64', persist: 'ifupdown' }, facts);
    expect(facts.persisted![`${IFD}/kvmnet-br0__192-168-0-90`]).toMatchInlineSnapshot(`
      "# Written by kvmnet; changes made here are overwritten on its next run.
      # ensure_ip 192.168.0.90/24 on br0
      iface br0 inet static
          address 192.168.0.90/24
      "
    `);
    expect(facts.persisted![`${IFD}/kvmnet-br0__2001-db8--1`]).toContain('iface br0 inet6 static\n    address 2001:db8::1/64\n');
    const p = run('ensure_bridge', { name: 'br0', state: 'absent', persist: 'ifupdown' }, facts);
    expect(summaries(p)).toEqual([
      'delete bridge br0',
      `remove ${IFD}/kvmnet-br0`,
      `remove ${IFD}/kvmnet-br0__192-168-0-90`,
      `remove ${IFD}/kvmnet-br0__2001-db8--1`,
    ]);
    expect(facts.persisted).toEqual({});
  });

  it('refuses a port or an address without the bridge stanza, a keyword as port name, and a host without the directory', () => {
    const facts = fresh();
    run('ensure_bridge', { name: 'br0', persist: 'none' }, facts);
    expect(() => planTask('ensure_port', { bridge: 'br0', interface: 'eth1', persist: 'ifupdown' }, facts)).toThrow(/persist the bridge first/);
    expect(() => planTask('ensure_ip', { dev: 'br0', address: '10.0.0.1/8', persist: 'ifupdown' }, facts)).toThrow(/kvmnet-br0 does not exist/);
    facts.links.none = { name: 'none', up: false, operstate: 'DOWN', mtu: 1500 };
    run('ensure_bridge', { name: 'br0', persist: 'ifupdown' }, facts);
    expect(() => planTask('ensure_port', { bridge: 'br0', interface: 'none', persist: 'ifupdown' }, facts)).toThrow(/bridge-utils reads it as a keyword/);
    const noDir = fixture('persist-fresh-no-ifupdown-dir');
    expect(() => planTask('ensure_bridge', { name: 'br0', persist: 'ifupdown' }, noDir)).toThrow(
      /\/etc\/network\/interfaces\.d does not exist on hv1 \(is ifupdown installed\?\)/,
    );
    // Removing needs no directory.
    expect(planTask('ensure_bridge', { name: 'br0', state: 'absent', persist: 'ifupdown' }, noDir).noop).toMatch(/^bridge br0 does not exist/);
  });
});

describe('file commands', () => {
  it('write the exact content through the one quoting function, with no stdin, through a temporary file renamed into place', () => {
    const content = "a 'quoted' line\n$HOME `id` \\n %s %%\n\ttab\n";
    const dir = mkdtempSync(join(tmpdir(), 'kvmnet-persist-'));
    try {
      const path = join(dir, 'network', '10-kvmnet-x.network');
      const [change] = fileChanges([{ path, content }], fresh());
      const lines = changeLines([change!]);
      expect(lines).toEqual([
        `mkdir -p ${dir}/network`,
        expect.stringMatching(/^printf %s '.*' > \S+\/10-kvmnet-x\.network\.kvmnet-tmp$/s),
        `mv -f ${path}.kvmnet-tmp ${path}`,
      ]);
      execFileSync('sh', ['-c', ['set -e', ...lines].join('\n')], { stdio: ['ignore', 'pipe', 'pipe'] });
      expect(readFileSync(path, 'utf8')).toBe(content);
      expect(existsSync(`${path}.kvmnet-tmp`)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
