// The topology picture's graph, built from facts captured on real lab hosts (test/fixtures/facts).
import { describe, expect, it } from 'vitest';
import type { Facts } from '../../src/model/facts.js';
import type { HostTopology } from '../../src/graph/topology.js';
import { captured, edited, topo } from './support/graph-facts.js';

const ids = (t: HostTopology, kind: string) =>
  t.nodes
    .filter((n) => n.kind === kind)
    .map((n) => n.id)
    .sort();
const edges = (t: HostTopology) => t.edges.map((e) => `${e.from} -> ${e.to}`).sort();
const marked = (t: HostTopology) =>
  [...t.nodes.filter((n) => n.ssh).map((n) => n.id), ...t.edges.filter((e) => e.ssh).map((e) => `${e.from} -> ${e.to}`)].sort();
const problems = (t: HostTopology) => t.problems.map((p) => `${p.code} @ ${p.node}`).sort();

describe('topology from captured facts', () => {
  const cases: Array<{
    fixture: string;
    nics: string[];
    bridges: string[];
    networks: string[];
    guests: string[];
    edges: string[];
    ssh: string[];
    problems: string[];
  }> = [
    {
      fixture: 'fresh',
      nics: ['link:eth1', 'link:eth2', 'link:mgmt0'],
      bridges: [],
      networks: ['net:default'],
      guests: [],
      edges: ['ssh -> link:mgmt0'],
      ssh: ['link:mgmt0', 'ssh', 'ssh -> link:mgmt0'],
      problems: ['network-inactive @ net:default', 'network-not-autostarted @ net:default'],
    },
    {
      fixture: 'converged',
      nics: ['link:eth1', 'link:eth2', 'link:mgmt0'],
      bridges: ['link:br0', 'link:br10', 'link:virbr0'],
      networks: ['net:bridged-network', 'net:default', 'net:net10'],
      guests: [],
      edges: ['link:br0 -> net:bridged-network', 'link:br10 -> net:net10', 'link:eth1 -> link:br0', 'link:virbr0 -> net:default', 'ssh -> link:mgmt0'],
      ssh: ['link:mgmt0', 'ssh', 'ssh -> link:mgmt0'],
      // bridged.yaml ran without `persist:`: br0 is gone after a reboot, and bridged-network with it.
      problems: ['bridge-not-persisted @ link:br0'],
    },
    {
      fixture: 'with-guest',
      nics: ['link:eth1', 'link:eth2', 'link:mgmt0'],
      bridges: ['link:br0', 'link:br10', 'link:virbr0'],
      networks: ['net:bridged-network', 'net:default', 'net:net10'],
      // The guest's tap (vnet0, a port of br10) is drawn as the guest's interface, not as a NIC.
      guests: ['guest:guest1/vnet0'],
      edges: [
        'link:br0 -> net:bridged-network',
        'link:br10 -> net:net10',
        'link:eth1 -> link:br0',
        'link:virbr0 -> net:default',
        'net:net10 -> guest:guest1/vnet0',
        'ssh -> link:mgmt0',
      ],
      ssh: ['link:mgmt0', 'ssh', 'ssh -> link:mgmt0'],
      problems: ['bridge-not-persisted @ link:br0'],
    },
    {
      fixture: 'persist-ifupdown',
      nics: ['link:eth1', 'link:eth2', 'link:mgmt0'],
      bridges: ['link:br0'],
      networks: ['net:default'],
      guests: [],
      edges: ['link:eth1 -> link:br0', 'link:eth2 -> link:br0', 'ssh -> link:mgmt0'],
      ssh: ['link:mgmt0', 'ssh', 'ssh -> link:mgmt0'],
      problems: ['network-inactive @ net:default', 'network-not-autostarted @ net:default'],
    },
  ];
  it.each(cases)('$fixture', (c) => {
    const t = topo(captured(c.fixture));
    expect(ids(t, 'nic')).toEqual(c.nics);
    expect(ids(t, 'bridge')).toEqual(c.bridges);
    expect(ids(t, 'network')).toEqual(c.networks);
    expect(ids(t, 'guest')).toEqual(c.guests);
    expect(edges(t)).toEqual(c.edges);
    expect(marked(t)).toEqual(c.ssh);
    expect(problems(t)).toEqual(c.problems);
  });

  it('libvirtd down: links are drawn, libvirt is said to be unavailable, no network problems', () => {
    const t = topo(captured('no-libvirtd'));
    expect(t.libvirtUnavailable).toMatch(/libvirt-sock/);
    expect(ids(t, 'network')).toEqual([]);
    expect(ids(t, 'nic')).toContain('link:mgmt0');
    expect(t.problems).toEqual([]);
  });

  it('describes what a tutorial checks by hand: STP, MTU, addresses, forward mode, DHCP, guest model and MAC', () => {
    const t = topo(captured('with-guest'));
    const node = (id: string) => t.nodes.find((n) => n.id === id)!;
    expect(node('link:br0').detail).toEqual(['STP on · delay 15 s', 'MTU 1500']);
    expect(node('link:br0').perHost).toEqual(['192.168.0.90/24']);
    expect(node('net:net10').detail).toEqual(['nat on br10', 'ip 192.168.30.1/24', 'DHCP 192.168.30.50-192.168.30.200', 'active · autostart']);
    expect(node('guest:guest1/vnet0')).toMatchObject({ detail: ['virtio'], perHost: ['guest1', '52:54:00:e5:07:e7'], attachedTo: 'net:net10' });
  });
});

describe('planted problems are marked where they are', () => {
  const cases: Array<{ name: string; facts: () => Facts; problems: string[]; problemEdges?: string[] }> = [
    {
      name: 'a NIC added to the bridge of a NAT network',
      facts: () => edited('converged', (f) => void (f.links.eth2!.master = 'br10')),
      problems: ['bridge-not-persisted @ link:br0', 'port-in-libvirt-bridge @ link:eth2'],
      problemEdges: ['link:eth2 -> link:br10'],
    },
    {
      name: "a guest's tap on a NAT bridge is not a problem",
      facts: () => edited('with-guest', (f) => void (f.persisted = { '/etc/systemd/network/10-kvmnet-br0.netdev': '[NetDev]\nName=br0\nKind=bridge\n' })),
      problems: [],
    },
    {
      name: 'a bridge with an MTU below its port',
      facts: () => edited('converged', (f) => void (f.links.br0!.mtu = 1400)),
      problems: ['bridge-mtu-below-port @ link:br0', 'bridge-not-persisted @ link:br0'],
    },
    {
      name: 'a bridged network whose bridge does not exist',
      facts: () =>
        edited('converged', (f) => {
          delete f.links.br0;
          delete f.links.eth1!.master;
        }),
      problems: ['bridge-missing @ net:bridged-network'],
    },
    {
      name: 'a network that is active but not autostarted',
      facts: () =>
        edited('converged', (f) => {
          if (f.libvirt.available) f.libvirt.networks.net10!.autostart = false;
        }),
      problems: ['bridge-not-persisted @ link:br0', 'network-not-autostarted @ net:net10'],
    },
    {
      name: 'persistence not known (facts without the persisted files): not flagged',
      facts: () => edited('converged', (f) => void delete f.persisted),
      problems: [],
    },
  ];
  it.each(cases)('$name', (c) => {
    const t = topo(c.facts());
    expect(problems(t)).toEqual(c.problems);
    expect(t.edges.filter((e) => e.problem).map((e) => `${e.from} -> ${e.to}`)).toEqual(c.problemEdges ?? []);
    for (const p of t.problems) expect(t.nodes.find((n) => n.id === p.node)?.problems).toContain(p.message);
  });
});

describe('the SSH path', () => {
  it('covers the device holding the session, its ports below and its master above', () => {
    // The session on br0, which has eth1 as a port (a host whose uplink was migrated into br0).
    const t = topo(
      edited('converged', (f) => {
        f.session = { ...f.session!, dev: 'br0' };
      }),
    );
    expect(marked(t)).toEqual(['link:br0', 'link:eth1', 'link:eth1 -> link:br0', 'ssh', 'ssh -> link:br0']);
  });

  it('a bond member under a bridge: member, bond and bridge are all on the path', () => {
    const t = topo(
      edited('converged', (f) => {
        f.links.bond0 = { name: 'bond0', kind: 'bond', master: 'br0', up: true, operstate: 'UP', mtu: 1500 };
        f.links.eth2!.master = 'bond0';
        f.session = { ...f.session!, dev: 'bond0' };
      }),
    );
    expect(ids(t, 'bond')).toEqual(['link:bond0']);
    expect(marked(t)).toEqual(['link:bond0', 'link:bond0 -> link:br0', 'link:br0', 'link:eth2', 'link:eth2 -> link:bond0', 'ssh', 'ssh -> link:bond0']);
  });
});
