// Which network manager owns a host and its devices, read from MANAGERS_SCRIPT output captured on
// real hosts (test/fixtures/managers/README.md); what `persist: auto` makes of it, and the
// NetworkManager guard.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { splitSections, parseFacts } from '../../src/facts/parse.js';
import { deviceOwners, hostManager, nmManages, parseManagers } from '../../src/persist/managers.js';
import { resolvePersist } from '../../src/persist/desired.js';
import { refuseNmManaged } from '../../src/persist/nm-guard.js';
import type { Facts, ManagerFacts } from '../../src/model/facts.js';
import type { Plan } from '../../src/model/plan.js';
import { RefusedError } from '../../src/errors.js';

const captured = (name: string): ManagerFacts => {
  const text = readFileSync(new URL(`../fixtures/managers/${name}.txt`, import.meta.url), 'utf8');
  const section = splitSections(text).find((s) => s.key === 'managers');
  if (!section) throw new Error(`${name}: no managers section`);
  return parseManagers(section.body);
};

const factsWith = (managers: ManagerFacts): Facts => {
  const facts = parseFacts(readFileSync(new URL('../fixtures/facts/fresh.stdout', import.meta.url), 'utf8'), '').facts;
  return { ...facts, managers };
};

const linkPlan = (dev: string): Plan => ({ changes: [{ summary: `set ${dev} master bond0`, ops: [{ op: 'link.master', name: dev, master: 'bond0' }] }] });

describe('network managers, from captured output', () => {
  it('a machine without systemd or ifupdown: nothing found, and persist: auto says why', () => {
    const m = captured('controller-no-systemd');
    expect(m).toEqual({ systemd: false, active: {}, ifupdown: null, netplan: [], nmDevices: {}, networkdLinks: {}, ifupdownStanzas: [] });
    expect(hostManager(m)).toEqual({ reason: 'the host runs no systemd and has no ifupdown' });
    expect(() => resolvePersist('auto', factsWith(m), 'hv1')).toThrow(/persist: auto on hv1: the host runs no systemd and has no ifupdown/);
  });

  it('a systemd-networkd host: networkd runs, its links are listed with their setup state', () => {
    const m = captured('networkd-converging');
    expect(m.systemd).toBe(true);
    expect(m.active).toEqual({ networkd: true, networkmanager: false, networking: false });
    expect(m.networkdLinks.mgmt0).toEqual({ operational: 'routable', setup: 'unmanaged' });
    expect(m.networkdLinks['bond0.20']).toEqual({ operational: 'carrier', setup: 'pending' });
    expect(hostManager(m)).toEqual({ manager: 'networkd' });
    expect(resolvePersist('auto', factsWith(m), 'hv1')).toBe('networkd');
    // Explicit formats and none are left as they are.
    expect(resolvePersist('ifupdown', factsWith(m), 'hv1')).toBe('ifupdown');
    expect(resolvePersist(undefined, factsWith(m), 'hv1')).toBeUndefined();
    const owners = Object.fromEntries(deviceOwners(m, ['lo', 'mgmt0', 'bond0.20']));
    expect(owners).toEqual({ mgmt0: 'no manager', 'bond0.20': 'systemd-networkd (pending)' });
    // No NetworkManager: nothing is refused.
    expect(() => refuseNmManaged(linkPlan('eth1'), factsWith(m), 'hv1', undefined)).not.toThrow();
  });

  it('a NetworkManager host: NIC states from nmcli, a runtime-only change of a managed NIC refused, persist: auto writes its profiles', () => {
    const m = captured('networkmanager');
    expect(m.active).toEqual({ networkd: false, networkmanager: true, networking: false });
    expect(m.nmDevices.eth1).toEqual({ type: 'ethernet', state: 'disconnected', connection: undefined });
    expect(m.nmDevices.lo).toEqual({ type: 'loopback', state: 'connected (externally)', connection: 'lo' });
    expect([nmManages(m, 'eth1'), nmManages(m, 'mgmt0'), nmManages(m, 'lo'), nmManages(m, 'bond0')]).toEqual([true, false, false, false]);
    expect(hostManager(m)).toEqual({ manager: 'networkmanager' });
    expect(Object.fromEntries(deviceOwners(m, ['eth1', 'mgmt0']))).toEqual({ eth1: 'NetworkManager (disconnected)', mgmt0: 'not NetworkManager (unmanaged)' });
    const facts = factsWith(m);
    expect(() => refuseNmManaged(linkPlan('eth1'), facts, 'hv1', 'none')).toThrow(RefusedError);
    expect(() => refuseNmManaged(linkPlan('eth1'), facts, 'hv1', 'none')).toThrow(
      /eth1 is managed by NetworkManager on hv1 \(disconnected\): `set eth1 master bond0`/,
    );
    // A device NetworkManager leaves alone (mgmt0 is unmanaged; bond0 does not exist yet) may change.
    expect(() => refuseNmManaged(linkPlan('mgmt0'), facts, 'hv1', 'none')).not.toThrow();
    expect(() => refuseNmManaged(linkPlan('bond0'), facts, 'hv1', 'none')).not.toThrow();
    // persist: auto means NetworkManager profiles there, and then the guard lets the change through.
    expect(resolvePersist('auto', facts, 'hv1')).toBe('networkmanager');
    expect(() => refuseNmManaged(linkPlan('eth1'), facts, 'hv1', 'networkmanager')).not.toThrow();
  });

  it('nmcli -t values: escaped colons stay in the value', () => {
    const m = parseManagers('systemd\nactive networkmanager active\nnm eth1:ethernet:connected:bond\\:port eth1\nnm mgmt0:ethernet:unmanaged:\n');
    expect(m.nmDevices.eth1).toEqual({ type: 'ethernet', state: 'connected', connection: 'bond:port eth1' });
    expect(m.nmDevices.mgmt0).toEqual({ type: 'ethernet', state: 'unmanaged', connection: undefined });
    expect(nmManages(m, 'eth1')).toBe(true);
    expect(nmManages(m, 'mgmt0')).toBe(false);
  });

  it('netplan files come first for persist: auto; ifupdown stanzas name their devices', () => {
    const m = parseManagers(
      'systemd\nactive networkd active\nnetplan /etc/netplan/01-netcfg.yaml\nrenderer NetworkManager\nstanza auto lo eth0\nstanza iface eth0 inet dhcp\n',
    );
    expect(m.netplan).toEqual([{ file: '/etc/netplan/01-netcfg.yaml', renderer: 'NetworkManager' }]);
    expect(m.ifupdownStanzas).toEqual(['lo', 'eth0']);
    expect(hostManager(m)).toEqual({ manager: 'netplan' });
    expect(resolvePersist('auto', factsWith(m), 'hv1')).toBe('netplan');
    // ifupdown2 is found, and persist: auto writes its stanzas.
    const i2 = parseManagers('systemd\nactive networking active\nifupdown2\nifup\n');
    expect(hostManager(i2)).toEqual({ manager: 'ifupdown2' });
    expect(resolvePersist('auto', factsWith(i2), 'hv1')).toBe('ifupdown2');
  });
});
