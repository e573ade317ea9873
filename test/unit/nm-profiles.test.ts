// persist: networkmanager: keyfile profiles rendered from the running state, on facts captured from
// a VM lab host (test/fixtures/facts/vm/vlan-bridge: 802.3ad bond0 of eth1+eth2, bond0.20 with an
// address, VLAN-aware br0 with eth3 carrying 30, 99 PVID untagged, 200-202).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseFacts } from '../../src/facts/parse.js';
import type { Facts } from '../../src/model/facts.js';
import { fileChanges } from '../../src/persist/plan.js';
import { nmPortVlans, nmProfile, nmProfilePath, nmProfileWants } from '../../src/persist/nm-profiles.js';
import { taskDevices } from '../../src/persist/task-devices.js';
import { ALL_FRAGMENTS } from '../../src/facts/needs.js';
import { changeLines, changeTouches } from '../../src/model/plan.js';
import { vmFactsOutput } from './support/vm-fixture.js';

function vlanBridge(): Facts {
  const out = vmFactsOutput('vlan-bridge').replace(
    '@@kvmnet:virsh@@',
    `@@kvmnet:bridge-vlan@@\n${readFileSync(new URL('../fixtures/facts/vm/vlan-bridge/bridge-vlan.json', import.meta.url), 'utf8')}\n@@kvmnet:virsh@@`,
  );
  return parseFacts(out, '', ALL_FRAGMENTS).facts;
}

describe('NetworkManager keyfiles from the running state', () => {
  const f = vlanBridge();

  it('a bond, its member, a VLAN with an address, a VLAN-aware bridge and its port', () => {
    expect(nmProfile(f, 'bond0')).toContain('[bond]\nmode=802.3ad\nmiimon=100\nlacp_rate=fast\nxmit_hash_policy=layer3+4\n');
    expect(nmProfile(f, 'eth1')).toMatch(/type=ethernet\ninterface-name=eth1\nmaster=bond0\nslave-type=bond\n$/);
    expect(nmProfile(f, 'bond0.20')).toContain('[vlan]\nparent=bond0\nid=20\n\n[ipv4]\nmethod=manual\naddress1=198.19.220.1/24\n\n[ipv6]\nmethod=ignore\n');
    expect(nmProfile(f, 'br0')).toContain('[bridge]\nstp=false\nforward-delay=15\nvlan-filtering=true\nvlan-default-pvid=1\n');
    expect(nmProfile(f, 'eth3')).toContain('master=br0\nslave-type=bridge\n\n[bridge-port]\nvlans=30,99 pvid untagged,200-202\n');
    expect(nmPortVlans(f.links.eth3!)).toBe('30,99 pvid untagged,200-202');
    // The same device has the same profile identity on every run.
    expect(/uuid=(\S+)/.exec(nmProfile(f, 'bond0'))![1]).toBe(/uuid=(\S+)/.exec(nmProfile(vlanBridge(), 'bond0'))![1]);
  });

  it('the devices a task is about; a device gone loses its profile; files are written 0600 and unchanged ones are left', () => {
    expect(taskDevices([], { name: 'bond0', members: ['eth1', 'eth2'] })).toEqual(['bond0', 'eth1', 'eth2']);
    expect(taskDevices(['eth3'], { bridge: 'br0', interface: 'eth3' })).toEqual(['eth3']);
    expect(taskDevices([], { parent: 'bond0', id: 20 })).toEqual(['bond0.20']);
    const wants = nmProfileWants(f, ['bond0', 'gone0']);
    expect(wants[1]).toEqual({ path: nmProfilePath('gone0'), content: null });
    const changes = fileChanges(wants, f);
    expect(changes.map((c) => c.summary)).toEqual([`write ${nmProfilePath('bond0')}`]);
    // Written 0600, never readable by others even before the chmod.
    expect(changes[0]!.ops[0]).toMatchObject({ op: 'file.write', mode: '600' });
    expect(changeLines(changes)[1]).toMatch(/^\(umask 077; printf %s /);
    const written: Facts = { ...f, persisted: { [nmProfilePath('bond0')]: nmProfile(f, 'bond0') } };
    expect(fileChanges(nmProfileWants(f, ['bond0']), written)).toEqual([]);
  });
});

describe('persist: networkmanager in a plan', () => {
  it('runtime changes, then the profiles, then load + up of the profiles NetworkManager does not run yet', async () => {
    const { withNmProfiles } = await import('../../src/persist/nm-plan.js');
    const f = vlanBridge();
    f.managers = {
      systemd: true,
      active: { networkmanager: true },
      ifupdown: null,
      netplan: [],
      networkdLinks: {},
      ifupdownStanzas: [],
      nmDevices: {
        bond0: { type: 'bond', state: 'connected', connection: 'kvmnet-bond0' },
        eth1: { type: 'ethernet', state: 'connected (externally)', connection: 'eth1' },
      },
    };
    const empty = { changes: [], noop: 'bond bond0 exists as wanted' } as unknown as import('../../src/model/plan.js').Plan;
    const plan = withNmProfiles(empty, { name: 'bond0', members: ['eth1'] }, f, 'hv1');
    expect(plan.changes.map((c) => c.summary)).toEqual([
      `write ${nmProfilePath('bond0')}`,
      `write ${nmProfilePath('eth1')}`,
      'NetworkManager: load 2 kvmnet profile(s)',
    ]);
    // bond0 already runs kvmnet-bond0: only eth1 is activated.
    expect(changeLines([plan.changes[2]!])).toEqual([
      `nmcli connection load ${nmProfilePath('bond0')} ${nmProfilePath('eth1')}`,
      'nmcli -w 60 connection up id kvmnet-eth1',
    ]);
    // The activation is a link change the SSH-path guard must see.
    expect(changeTouches([plan.changes[2]!], f)).toEqual([{ kind: 'link', name: 'eth1', op: 'settings' }]);
    // Written and running: nothing to do.
    const done = { ...f, persisted: { [nmProfilePath('bond0')]: nmProfile(f, 'bond0'), [nmProfilePath('eth1')]: nmProfile(f, 'eth1') } };
    expect(withNmProfiles(empty, { name: 'bond0', members: ['eth1'] }, done, 'hv1').changes).toEqual([]);
    // eth1 handed to kvmnet (ensure_nm_unmanaged): NetworkManager would never bring a profile of it up.
    const { NM_UNMANAGED_CONF, unmanagedConf } = await import('../../src/persist/nm-unmanaged.js');
    const handed = { ...f, persisted: { [NM_UNMANAGED_CONF]: unmanagedConf(['eth1', 'eth2'])! } };
    expect(() => withNmProfiles(empty, { name: 'bond0', members: ['eth1'] }, handed, 'hv1')).toThrow(
      `persist: networkmanager on hv1: eth1 was handed to kvmnet (ensure_nm_unmanaged, ${NM_UNMANAGED_CONF}): NetworkManager does not manage it and would never bring a profile of it up; use persist: networkd or none for this task`,
    );
  });
});

describe('persist: netplan files from the running state', () => {
  it('a bond with its members, a VLAN with an address; a VLAN-aware bridge or its port is refused', async () => {
    const { netplanFile, netplanWants } = await import('../../src/persist/netplan-files.js');
    const f = vlanBridge();
    expect(netplanFile(f, 'bond0', 'hv1')).toBe(
      '# Written by kvmnet; changes made here are overwritten on its next run.\n' +
        'network:\n  version: 2\n  bonds:\n    bond0:\n      interfaces:\n        - eth1\n        - eth2\n      parameters:\n        mode: 802.3ad\n        mii-monitor-interval: 100\n        lacp-rate: fast\n        transmit-hash-policy: layer3+4\n',
    );
    expect(netplanFile(f, 'bond0.20', 'hv1')).toContain(
      '  vlans:\n    bond0.20:\n      id: 20\n      link: bond0\n      addresses:\n        - 198.19.220.1/24\n',
    );
    expect(netplanFile(f, 'eth1', 'hv1')).toContain('  ethernets:\n    eth1: {}\n');
    // A member's file comes with its bond's (netplan lists members in the bond).
    expect(netplanWants(f, ['eth1'], 'hv1').map((w) => w.path)).toEqual(['/etc/netplan/90-kvmnet-0-eth1.yaml', '/etc/netplan/90-kvmnet-1-bond0.yaml']);
    expect(() => netplanFile(f, 'br0', 'hv1')).toThrow(/br0 is a VLAN-aware bridge, and netplan \(0\.106\) cannot configure VLAN filtering/);
    expect(() => netplanFile(f, 'eth3', 'hv1')).toThrow(/eth3 is a port of the VLAN-aware bridge br0/);
  });
});

describe('drift of NetworkManager profiles and netplan files', () => {
  it('none when the files render as what runs; a changed port set or a deleted device is named', async () => {
    const { managedDrift } = await import('../../src/persist/managed-drift.js');
    const { persistenceDrift } = await import('../../src/tasks/persistence-drift.js');
    const f = vlanBridge();
    const { netplanFile, netplanPath } = await import('../../src/persist/netplan-files.js');
    f.persisted = Object.fromEntries([
      ...['bond0', 'eth1', 'eth2', 'bond0.20', 'br0', 'eth3'].map((d) => [nmProfilePath(d), nmProfile(f, d)]),
      [netplanPath('bond0', 'bond'), netplanFile(f, 'bond0', 'hv1')],
    ]);
    expect(managedDrift(f)).toEqual([]);
    // The task modules' "not persisted by kvmnet" lines are not said of devices with such files.
    expect(persistenceDrift(f).filter((l) => /bond0|eth1|br0/.test(l))).toEqual([]);
    const changed = structuredClone(f);
    changed.links.eth3!.vlans = changed.links.eth3!.vlans!.filter((v) => v.id !== 30);
    delete changed.links['bond0.20'];
    expect(managedDrift(changed)).toEqual([
      `bond0.20: persisted (networkmanager) but not present at runtime`,
      `eth3: its networkmanager file ${nmProfilePath('eth3')} and the running state differ`,
    ]);
  });
});
