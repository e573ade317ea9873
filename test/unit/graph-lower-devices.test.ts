// The picture draws every lower-device relation of a VM-lab host (real kernel, captured in
// test/fixtures/facts/vm): members → bond (with its mode and LACP partner), bond → its VLAN
// (with the id), ports → bridge (with a VLAN-aware bridge's port VLAN sets), and the SSH path
// follows a VLAN down to its bond and members but never up into another VLAN.
import { ALL_FRAGMENTS } from '../../src/facts/needs.js';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseFacts } from '../../src/facts/parse.js';
import { toDot } from '../../src/graph/dot.js';
import { oneGroupPerHost } from '../../src/graph/shape.js';
import type { FactsSummary } from '../../src/graph/facts-json.js';
import { buildTopology, type HostTopology } from '../../src/graph/topology.js';
import { factsSummary } from '../../src/report/facts-view.js';
import { vmFactsOutput, type VmState } from './support/vm-fixture.js';

const fragments = ALL_FRAGMENTS;

/** The captured host as a run reads it, with `bridge -j vlan show` where the host printed it (a VLAN-aware bridge exists). */
function host(state: VmState, sshAddress?: string): HostTopology {
  let out = vmFactsOutput(state, sshAddress ? { sshAddress } : {});
  const bridgeVlans = readFileSync(new URL(`../fixtures/facts/vm/${state}/bridge-vlan.json`, import.meta.url), 'utf8').trim();
  if (bridgeVlans !== '[]' && bridgeVlans !== '') out = out.replace('@@kvmnet:virsh@@', `@@kvmnet:bridge-vlan@@\n${bridgeVlans}\n@@kvmnet:virsh@@`);
  const summary = JSON.parse(JSON.stringify(factsSummary(parseFacts(out, '', fragments).facts))) as FactsSummary;
  return buildTopology('hv1', summary);
}
const edges = (t: HostTopology) => t.edges.map((e) => `${e.from} -> ${e.to}${e.relation ? ` (${e.relation})` : ''}`).sort();
const detail = (t: HostTopology, id: string) => t.nodes.find((n) => n.id === id)?.detail;

describe('lower devices in the picture, from captured VM-lab facts', () => {
  it('bond-vlan: eth1, eth2 → bond0 (802.3ad, its partner) → bond0.20 (VLAN 20)', () => {
    const t = host('bond-vlan');
    expect(edges(t)).toEqual(['link:bond0 -> link:bond0.20 (lower)', 'link:eth1 -> link:bond0 (port)', 'link:eth2 -> link:bond0 (port)', 'ssh -> link:mgmt0']);
    expect(detail(t, 'link:bond0')).toContain('802.3ad · partner 02:6b:00:8a:fe:14');
    expect(detail(t, 'link:bond0.20')).toContain('VLAN 20 on bond0');
    expect(t.nodes.find((n) => n.id === 'link:bond0.20')?.kind).toBe('vlan');
  });
  it('vlan-bridge: the VLAN-aware br0 with its ports and their VLAN sets, as `bridge -j vlan` has them', () => {
    const t = host('vlan-bridge');
    expect(edges(t)).toEqual([
      'link:bond0 -> link:bond0.20 (lower)',
      'link:dummy0 -> link:br0 (port)',
      'link:eth1 -> link:bond0 (port)',
      'link:eth2 -> link:bond0 (port)',
      'link:eth3 -> link:br0 (port)',
      'ssh -> link:mgmt0',
    ]);
    expect(detail(t, 'link:eth3')).toContain('VLANs 30, 99 PVID untagged, 200-202');
    expect(detail(t, 'link:dummy0')).toContain('VLANs 30 PVID untagged');
    expect(detail(t, 'link:br0')).toContain('VLANs 1 PVID untagged, 30');
  });
  it('a session on the VLAN: the path runs VLAN → bond → members, and the dot output has each edge', () => {
    const t = host('bond-vlan', '198.19.220.1');
    expect(
      t.nodes
        .filter((n) => n.ssh)
        .map((n) => n.id)
        .sort(),
    ).toEqual(['link:bond0', 'link:bond0.20', 'link:eth1', 'link:eth2', 'ssh']);
    const dot = toDot(oneGroupPerHost([t]));
    for (const e of t.edges) expect(dot).toContain(`${e.from}->${e.to}`);
  });
  it('a session on the bond itself does not put its VLANs on the path', () => {
    const f = host('bond-vlan');
    // bond-vlan's bond0 has no address of its own: plant the session on it the way the facts name the device.
    const t = buildTopology('hv1', {
      ...(JSON.parse(JSON.stringify(factsSummary(parseFacts(vmFactsOutput('bond-vlan'), '', fragments).facts))) as FactsSummary),
      ssh: { address: '198.18.138.11', interface: 'bond0' },
    });
    expect(f.nodes.length).toBe(t.nodes.length);
    expect(
      t.nodes
        .filter((n) => n.ssh)
        .map((n) => n.id)
        .sort(),
    ).toEqual(['link:bond0', 'link:eth1', 'link:eth2', 'ssh']);
  });
});
