// `kvmnet facts`: where the persisted files and the runtime state disagree (what a reboot changes).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseFacts } from '../../src/facts/parse.js';
import type { Facts } from '../../src/model/facts.js';
import { persistedBridges } from '../../src/tasks/ensure-bridge.js';
import { persistedPorts } from '../../src/tasks/ensure-port.js';
import { persistenceDrift } from '../../src/tasks/persistence-drift.js';
import { factsSummary } from '../../src/report/facts-view.js';

const fixture = (name: string): Facts => parseFacts(readFileSync(new URL(`../fixtures/facts/${name}.stdout`, import.meta.url), 'utf8'), '').facts;

describe('persistence drift', () => {
  it('names every disagreement of a host changed by hand after a persist: networkd run', () => {
    expect(persistenceDrift(fixture('persist-networkd-drift'))).toEqual([
      'br9: persisted (networkd) but not present at runtime',
      'eth2: port of br0 at runtime but not persisted',
      'br0: address 2001:db8::1/64 persisted (networkd) but not present at runtime',
      'br0: address 10.9.9.1/24 at runtime but not persisted',
    ]);
  });

  it('finds nothing when runtime and files agree (ifupdown), or on a fresh host', () => {
    expect(persistenceDrift(fixture('persist-ifupdown'))).toEqual([]);
    expect(persistenceDrift(fixture('persist-fresh-no-ifupdown-dir'))).toEqual([]);
  });

  it('reads back what the ifupdown files say', () => {
    const files = fixture('persist-ifupdown').persisted!;
    expect(persistedBridges(files)).toEqual([{ name: 'br0', format: 'ifupdown', stp: true, mtu: 1400, ports: ['eth1', 'eth2'] }]);
    expect(persistedPorts(files)).toEqual([
      { iface: 'eth1', bridge: 'br0', format: 'ifupdown' },
      { iface: 'eth2', bridge: 'br0', format: 'ifupdown' },
    ]);
    // The addresses they give are checked against the runtime: none missing, none extra.
    expect(persistenceDrift(fixture('persist-ifupdown'))).toEqual([]);
  });

  it('a bridge only at runtime: flagged, naming the libvirt network that needs it; libvirt-made bridges and guest taps are not', () => {
    const facts = fixture('persist-ifupdown');
    facts.persisted = {};
    facts.links.virbr0 = { name: 'virbr0', kind: 'bridge', up: true, operstate: 'UP', mtu: 1500, bridge: { stp: true, forwardDelay: 2 } };
    facts.links.vnet0 = { name: 'vnet0', kind: 'tun', master: 'br0', up: true, operstate: 'UP', mtu: 1500 };
    if (!facts.libvirt.available) throw new Error('fixture has libvirt');
    facts.libvirt.networks['bridged-network'] = {
      name: 'bridged-network',
      active: true,
      persistent: true,
      autostart: true,
      bridge: 'br0',
      forwardMode: 'bridge',
    };
    facts.libvirt.networks.default = { name: 'default', active: true, persistent: true, autostart: false, bridge: 'virbr0', forwardMode: 'nat' };
    expect(persistenceDrift(facts)).toEqual(['br0: bridge at runtime but not persisted by kvmnet (libvirt network bridged-network needs it after a reboot)']);
  });

  it('settings and port membership that differ', () => {
    const facts = fixture('persist-ifupdown');
    facts.links.br0!.bridge = { stp: false, forwardDelay: 4 };
    facts.links.br0!.mtu = 1500;
    delete facts.links.eth2!.master;
    delete facts.links.eth1;
    expect(persistenceDrift(facts)).toEqual([
      'br0: stp on persisted (ifupdown), off at runtime',
      'br0: mtu 1400 persisted (ifupdown), 1500 at runtime',
      'eth1: persisted (ifupdown) as a port of br0 but not present at runtime',
      'eth2: persisted (ifupdown) as a port of br0, but not a port at runtime',
    ]);
  });

  it('a drop-in without its .network is not counted (networkd never reads it)', () => {
    const facts = fixture('persist-fresh-no-ifupdown-dir');
    facts.persisted = { '/etc/systemd/network/10-kvmnet-br0.network.d/address-10.0.0.1.conf': '[Network]\nAddress=10.0.0.1/8\n' };
    expect(persistenceDrift(facts)).toEqual([]);
  });

  it('is part of `kvmnet facts --output json`', () => {
    const s = factsSummary(fixture('persist-networkd-drift'));
    expect(s.persisted_files).toHaveLength(6);
    expect(s.persistence_drift).toHaveLength(4);
    expect(factsSummary({ ...fixture('persist-ifupdown'), persisted: undefined }).persisted_files).toBeNull();
  });
});
