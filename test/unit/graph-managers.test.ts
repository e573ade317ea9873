// Which network manager owns each device, drawn in the picture: from the facts exec captured on
// the VM lab's NetworkManager host after ensure_nm_unmanaged handed eth1 and eth2 to kvmnet and
// kvmnet made bond0 of them (test/fixtures/facts/nm-fixtures.md).
import { describe, expect, it } from 'vitest';
import { toDot } from '../../src/graph/dot.js';
import { deviceManager } from '../../src/graph/owners.js';
import { oneGroupPerHost } from '../../src/graph/shape.js';
import { captured, topo } from './support/graph-facts.js';

const managerOf = (t: ReturnType<typeof topo>) => Object.fromEntries(t.nodes.filter((n) => n.id.startsWith('link:')).map((n) => [n.name, n.manager ?? '-']));

describe('the graph shows the manager of each device', () => {
  it("on the NetworkManager host: eth3 NetworkManager's, eth1/eth2 handed to kvmnet, mgmt0 kept unmanaged by the lab", () => {
    const t = topo(captured('nm-handed-over'));
    const owners = managerOf(t);
    expect(owners).toMatchObject({
      eth3: 'NetworkManager',
      eth1: 'none (NetworkManager: unmanaged)',
      eth2: 'none (NetworkManager: unmanaged)',
      mgmt0: 'none (NetworkManager: unmanaged)',
    });
    // The line in the node's label, and a class for scripts and styles.
    expect(t.nodes.find((n) => n.name === 'eth3')!.detail).toContain('⚙ NetworkManager');
    const dot = toDot(oneGroupPerHost([t]));
    expect(dot).toMatch(/id="hv1\/link:eth3", class="nic mgr-networkmanager"/);
    expect(dot).toMatch(/id="hv1\/link:eth1", class="nic mgr-none"/);
  });

  it('a host where no manager runs (the netns lab) gets no manager line at all', () => {
    const t = topo(captured('fresh'));
    expect(t.nodes.filter((n) => n.manager)).toEqual([]);
    expect(t.nodes.flatMap((n) => n.detail).filter((d) => d.startsWith('⚙'))).toEqual([]);
  });

  it('networkd and ifupdown owners, from captured managers output', () => {
    const f = captured('nm-handed-over');
    const m = structuredClone(f.managers!);
    // The same words for the other managers (their sections as managers.sh prints them).
    m.active = { networkd: true, networkmanager: false, networking: false };
    m.networkdLinks = { eth1: { operational: 'enslaved', setup: 'configured' }, mgmt0: { operational: 'routable', setup: 'unmanaged' } };
    m.ifupdownStanzas = ['eth2'];
    m.ifupdown = 'ifupdown';
    expect(['eth1', 'eth2', 'mgmt0', 'lo'].map((d) => deviceManager(m, d))).toEqual(['networkd', 'ifupdown', 'none', undefined]);
  });
});
