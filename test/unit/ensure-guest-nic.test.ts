// ensure_guest_nic on facts captured from a lab host (test/fixtures/facts/guest-nics.md): the
// guests' NICs read from `virsh dumpxml` and `dumpxml --inactive`, the facts view, and the
// planner's decisions — in place where libvirt allows it, replugged (and said so) where not,
// nothing on a second run, refusals with their reason.
import { ALL_FRAGMENTS } from '../../src/facts/needs.js';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RefusedError } from '../../src/errors.js';
import { buildTopology } from '../../src/graph/topology.js';
import { summaryOf } from './support/graph-facts.js';
import { parseFacts } from '../../src/facts/parse.js';
import type { Facts } from '../../src/model/facts.js';
import { applyChanges, changeLines, changeOps, changeTouches } from '../../src/model/plan.js';
import { derivedMac } from '../../src/tasks/ensure-guest-nic.js';
import { domainNics, guestNicRows, guestNicsView } from '../../src/tasks/guest-nics.js';
import { planOf } from './support/plan-task.js';

const fragments = ALL_FRAGMENTS;
const raw = readFileSync(new URL('../fixtures/facts/guest-nics.stdout', import.meta.url), 'utf8');
const facts = (): Facts => parseFacts(raw, '', fragments).facts;
const GUEST = 'k29-nicvm';
const MAC = '52:54:00:7b:04:3b';

describe('guest NIC facts', () => {
  it('reads every domain: running ones live and persistent, a defined one persistent only', () => {
    const f = facts();
    expect(Object.keys(f.guestNics!).sort()).toEqual(['hv1-vm', 'k29-nicvm', 'k29-off']);
    expect(f.guestNics![GUEST]).toEqual({
      name: GUEST,
      running: true,
      persistent: true,
      live: [{ mac: MAC, type: 'network', source: 'default', model: 'virtio', tap: 'vnet2', link: 'up' }],
      config: [{ mac: MAC, type: 'network', source: 'default', model: 'virtio', link: 'up' }],
    });
    // On a network of forward mode bridge, libvirt's live XML says type='bridge': the network it asked for is the source.
    expect(f.guestNics!['hv1-vm']!.live).toEqual([{ mac: '52:54:00:40:e9:5d', type: 'network', source: 'lan', model: 'virtio', tap: 'vnet0', link: 'up' }]);
    expect(f.guestNics!['k29-off']).toEqual({
      name: 'k29-off',
      running: false,
      persistent: true,
      config: [{ mac: '52:54:00:29:0f:01', type: 'bridge', source: 'brl', model: 'e1000', link: 'down', mtu: 1400 }],
    });
  });

  it("a dumpxml that failed (virsh's error instead of a domain) is no domain; facts without the fragment say nothing", () => {
    expect(domainNics("error: failed to get domain 'gone'")).toBeUndefined();
    const without = parseFacts(raw.replace(/@@kvmnet:gnic[^@]*@@/g, '@@kvmnet:ignored@@'), '', fragments).facts;
    expect(without.guestNics).toBeUndefined();
  });

  it('the facts view: one row per NIC, with tap, link and where it is defined', () => {
    const f = facts();
    expect(guestNicRows(f).map((r) => [r.domain, r.state, r.mac, r.type, r.source, r.tap, r.link, r.mtu, r.in])).toEqual([
      ['hv1-vm', 'running', '52:54:00:40:e9:5d', 'network', 'lan', 'vnet0', 'up', null, 'live+config'],
      [GUEST, 'running', MAC, 'network', 'default', 'vnet2', 'up', null, 'live+config'],
      ['k29-off', 'shut off', '52:54:00:29:0f:01', 'bridge', 'brl', null, 'down', 1400, 'config only'],
    ]);
    const [section] = guestNicsView.sections(f);
    expect(section!.title).toBe('Guest NICs');
    expect(section!.rows[2]).toEqual(['k29-off', 'shut off', '52:54:00:29:0f:01', 'bridge', 'brl', '-', 'e1000', '-', 'down', '1400', 'config only']);
    expect(guestNicsView.json(f).guest_nics).toHaveLength(3);
  });
});

/** Plans, applies the effect, and plans again: the second plan must be a no-op. */
function planTwice(args: object, f = facts()) {
  const first = planOf('ensure_guest_nic', args, f);
  applyChanges(first.changes, f);
  const second = planOf('ensure_guest_nic', args, f);
  return { first, second, after: f };
}

describe('ensure_guest_nic plans', () => {
  it('the NIC as it is: no change', () => {
    const p = planOf('ensure_guest_nic', { domain: GUEST, mac: MAC, network: 'default' }, facts());
    expect(p.changes).toEqual([]);
    expect(p.noop).toBe(`${GUEST} has NIC ${MAC} network default model virtio link up (live and persistent definitions)`);
  });

  it('a move to a bridged network: one update-device --live --config, the MAC kept; then nothing', () => {
    const { first, second, after } = planTwice({ domain: GUEST, mac: MAC, network: 'lan', portgroup: 'b' });
    expect(first.changes.map((c) => c.summary)).toEqual([`update NIC ${MAC} of ${GUEST} in place: network default → network lan, portgroup (default) → b`]);
    expect(changeOps(first.changes)).toEqual([
      {
        op: 'guest-nic.update',
        domain: GUEST,
        nic: { mac: MAC, type: 'network', source: 'lan', portgroup: 'b', model: 'virtio', link: 'up' },
        live: true,
        config: true,
      },
    ]);
    expect(changeLines(first.changes)).toEqual([
      `printf '%s' '<interface type="network"><mac address="${MAC}"/><source network="lan" portgroup="b"/><model type="virtio"/><link state="up"/></interface>' | virsh -q update-device ${GUEST} /dev/stdin --live --config >/dev/null`,
    ]);
    expect(second.changes).toEqual([]);
    expect(after.links.vnet2?.master).toBe('brl');
    expect(first.diff).toEqual({
      before: 'live: network default model virtio link up\nconfig: network default model virtio link up',
      after: 'live: network lan portgroup b model virtio link up\nconfig: network lan portgroup b model virtio link up',
    });
  });

  it('link down, onto a bridge: in place', () => {
    const { first, second } = planTwice({ domain: GUEST, mac: MAC, bridge: 'brl', link: 'down' });
    expect(first.changes.map((c) => c.summary)).toEqual([`update NIC ${MAC} of ${GUEST} in place: network default → bridge brl, link up → down`]);
    expect(second.changes).toEqual([]);
  });

  it("a running NIC's model or MTU: the plan says libvirt cannot change it in place; detach + attach live, update the persistent one", () => {
    const p = planOf('ensure_guest_nic', { domain: GUEST, mac: MAC, network: 'default', model: 'e1000', mtu: 1400 }, facts());
    expect(p.changes.map((c) => c.summary)).toEqual([
      `update NIC ${MAC} of ${GUEST} in place: model virtio → e1000, mtu default → 1400 (config definition only)`,
      `replug NIC ${MAC} of running ${GUEST}: model virtio → e1000, mtu default → 1400 — libvirt cannot change a running NIC's model or MTU, so it is detached and attached again with the same MAC (the guest sees the device unplugged and plugged)`,
    ]);
    expect(changeOps(p.changes).map((o) => [o.op, 'live' in o && o.live, 'config' in o && o.config])).toEqual([
      ['guest-nic.update', false, true],
      ['guest-nic.detach', true, false],
      ['guest-nic.attach', true, false],
    ]);
  });

  it('a second NIC: attached live and persistent; removed again by its MAC', () => {
    const f = facts();
    const add = planTwice({ domain: GUEST, mac: '52:54:00:29:00:02', network: 'lan' }, f);
    expect(add.first.changes.map((c) => c.summary)).toEqual([`attach NIC 52:54:00:29:00:02 (network lan model virtio link up) to ${GUEST}`]);
    expect(add.second.changes).toEqual([]);
    const del = planTwice({ domain: GUEST, mac: '52:54:00:29:00:02', state: 'absent' }, add.after);
    expect(changeOps(del.first.changes)).toEqual([
      {
        op: 'guest-nic.detach',
        domain: GUEST,
        nic: { mac: '52:54:00:29:00:02', type: 'network', source: 'lan', model: 'virtio', link: 'up' },
        live: true,
        config: true,
      },
    ]);
    expect(del.second.noop).toBe(`${GUEST} has no NIC 52:54:00:29:00:02`);
  });

  it('a stopped domain: its persistent definition only', () => {
    const p = planOf('ensure_guest_nic', { domain: 'k29-off', mac: '52:54:00:29:0f:01', bridge: 'brl', model: 'e1000', link: 'up' }, facts());
    expect(changeOps(p.changes)).toEqual([
      {
        op: 'guest-nic.update',
        domain: 'k29-off',
        nic: { mac: '52:54:00:29:0f:01', type: 'bridge', source: 'brl', model: 'e1000', link: 'up', mtu: 1400 },
        live: false,
        config: true,
      },
    ]);
  });

  it('without a MAC: the NIC the domain has there, or a new one whose MAC is derived the same way every run', () => {
    expect(planOf('ensure_guest_nic', { domain: GUEST, network: 'default' }, facts()).changes).toEqual([]);
    const { first, second } = planTwice({ domain: GUEST, network: 'lan' });
    const mac = derivedMac('hv1', GUEST, 'lan');
    expect(mac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(first.changes[0]!.summary).toBe(`attach NIC ${mac} (network lan model virtio link up) to ${GUEST}`);
    expect(second.changes).toEqual([]);
  });

  it.each([
    [{ domain: 'nosuch', mac: MAC, network: 'default' }, 'domain nosuch does not exist on hv1'],
    [{ domain: GUEST, mac: '52:54:00:40:e9:5d', network: 'default' }, 'MAC 52:54:00:40:e9:5d is already used by guest hv1-vm on hv1'],
    [{ domain: GUEST, mac: MAC, network: 'nonet' }, 'network nonet is not defined on hv1'],
    [{ domain: GUEST, mac: MAC, network: 'lan', portgroup: 'zz' }, 'network lan has no portgroup zz on hv1'],
    [{ domain: GUEST, mac: MAC, bridge: 'br-none' }, 'bridge br-none does not exist on hv1'],
  ])('refuses %j: %s', (args, message) => {
    expect(() => planOf('ensure_guest_nic', args, facts())).toThrow(new RefusedError(message));
  });

  it('refuses a network that is not active', () => {
    const f = facts();
    if (f.libvirt.available) f.libvirt.networks.lan!.active = false;
    expect(() => planOf('ensure_guest_nic', { domain: GUEST, mac: MAC, network: 'lan' }, f)).toThrow(
      "network lan is not active on hv1: a guest's NIC cannot join it",
    );
  });
});

describe('the graph draws guest NICs with what ensure_guest_nic knows', () => {
  it('a NIC on a network of forward mode bridge hangs off the network (domiflist calls it bridge lan), with portgroup and link state', () => {
    const f = facts();
    f.guestNics!['hv1-vm']!.live![0]!.portgroup = 'b';
    f.guestNics![GUEST]!.live![0]!.link = 'down';
    const t = buildTopology('hv1', summaryOf(f));
    const vm = t.nodes.find((n) => n.id === 'guest:hv1-vm/vnet0');
    expect(vm).toMatchObject({ attachedTo: 'net:lan', detail: ['virtio', 'portgroup b'] });
    expect(t.edges).toContainEqual({ from: 'net:lan', to: 'guest:hv1-vm/vnet0', ssh: false, problem: false });
    expect(t.nodes.find((n) => n.id === `guest:${GUEST}/vnet2`)).toMatchObject({ attachedTo: 'net:default', detail: ['virtio', 'link down'] });
    // Without ensure_guest_nic's facts, domiflist's `bridge lan` names no link: the NIC hangs off nothing.
    delete f.guestNics;
    expect(buildTopology('hv1', summaryOf(f)).nodes.find((n) => n.id === 'guest:hv1-vm/vnet0')?.attachedTo).toBeUndefined();
  });
});

describe('a guest NIC is never a cut of the SSH path', () => {
  it('its operations touch nothing the guard or the rollback snapshot looks at', () => {
    const f = facts();
    for (const args of [
      { domain: GUEST, mac: MAC, network: 'lan' },
      { domain: GUEST, mac: MAC, network: 'default', link: 'down' },
      { domain: GUEST, mac: MAC, state: 'absent' },
      { domain: GUEST, mac: MAC, network: 'default', model: 'e1000' },
    ]) {
      const p = planOf('ensure_guest_nic', args, f);
      expect(p.changes.length, JSON.stringify(args)).toBeGreaterThan(0);
      expect(changeTouches(p.changes, f)).toEqual([]);
    }
  });
});
