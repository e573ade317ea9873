// playbooks/vxlan-mesh.yaml on a lab of its own (its own prefix: the shared lab has 3 hosts and
// this test grows to 4): three FRESH hosts converge into a full VXLAN mesh; a namespace "guest"
// behind each host's bridge (a veth into a netns this test makes) reaches the other two at layer 2
// — same subnet, pings from inside the guests with busybox, the ARP answer's MAC is the other
// guest's own; a 4th host added to the inventory joins on the next run and every other host's
// forwarding entries gain it (`bridge -j fdb show`); a second run changes nothing; removing it
// from the inventory removes it from the others' entries. State is read from the kernel.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLabState, type LabState } from '../../src/lab/index.js';
import { pickPrefix } from './global-setup.js';
import { jsonEvents, kvmnet, REPO_PLAYBOOKS, scratchDir, show, summaryOf } from './helpers.js';

const MESH = join(REPO_PLAYBOOKS, 'vxlan-mesh.yaml');
const GUEST_NET = '198.18.228';
let prefix = '';
let dir = '';
let lab: LabState;
const guests: string[] = [];

const sh = (argv: string[]) => execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const hostNs = (name: string) => `${prefix}-${name}`;
const inNs = (ns: string, argv: string[]) => sh(['ip', 'netns', 'exec', ns, ...argv]);
const address = (name: string) => lab.hosts.find((h) => h.name === name)!.address;

/** An inventory of these lab hosts only, in group lab (the group the mesh playbook reads). */
function inventoryOf(names: string[]): string {
  const file = join(scratchDir('mesh-inv'), 'inventory.yaml');
  const hosts = names.map((n) => `        ${n}:\n          host: ${address(n)}\n`).join('');
  writeFileSync(
    file,
    `all:\n  vars:\n    user: root\n    ssh_key: ${dir}/id_ed25519\n    known_hosts: ${dir}/known_hosts\n  children:\n    lab:\n      hosts:\n${hosts}`,
  );
  return file;
}

async function mesh(names: string[], extra: string[] = []) {
  const r = await kvmnet(['run', MESH, '-i', inventoryOf(names), '--output', 'json', ...extra], { timeoutMs: 120_000 });
  expect(r.code, show(r)).toBe(0);
  return { r, summary: summaryOf(r), tasks: jsonEvents(r.stdout).filter((e) => e.event === 'task') };
}

const remotesOf = (name: string): string[] =>
  (JSON.parse(inNs(hostNs(name), ['bridge', '-j', 'fdb', 'show', 'dev', 'vx100']) || '[]') as Array<{ mac: string; dst?: string }>)
    .filter((e) => e.mac === '00:00:00:00:00:00' && e.dst)
    .map((e) => e.dst!)
    .sort();

/** A guest netns behind NAME's bridge brvx: veth gN (in the host, a port of brvx) ↔ eth0 (in the guest, 198.18.228.N/24). */
function addGuest(name: string, n: number): void {
  const guest = `${prefix}-guest${n}`;
  sh(['ip', 'netns', 'add', guest]);
  guests.push(guest);
  sh(['ip', 'link', 'add', `${prefix}g${n}`, 'type', 'veth', 'peer', 'name', `${prefix}e${n}`]);
  sh(['ip', 'link', 'set', `${prefix}g${n}`, 'netns', hostNs(name)]);
  sh(['ip', 'link', 'set', `${prefix}e${n}`, 'netns', guest]);
  inNs(hostNs(name), ['ip', 'link', 'set', `${prefix}g${n}`, 'master', 'brvx', 'up']);
  inNs(guest, ['ip', 'link', 'set', `${prefix}e${n}`, 'name', 'eth0']);
  inNs(guest, ['ip', 'link', 'set', 'eth0', 'mtu', '1450', 'up']);
  inNs(guest, ['ip', 'link', 'set', 'lo', 'up']);
  inNs(guest, ['ip', 'address', 'add', `${GUEST_NET}.${n}/24`, 'dev', 'eth0']);
}

const guestMac = (n: number) => (JSON.parse(inNs(`${prefix}-guest${n}`, ['ip', '-j', 'link', 'show', 'eth0'])) as Array<{ address: string }>)[0]!.address;

/** Pings from guest `from` to guest `to`; returns the replies received and the MAC ARP learned for `to`. */
function ping(from: number, to: number): { received: number; mac?: string } {
  const guest = `${prefix}-guest${from}`;
  let out: string;
  try {
    out = inNs(guest, ['busybox', 'ping', '-c', '3', '-W', '2', `${GUEST_NET}.${to}`]);
  } catch (err) {
    out = String((err as { stdout?: string }).stdout ?? '');
  }
  const received = Number(/(\d+) packets received/.exec(out)?.[1] ?? 0);
  const neigh = JSON.parse(inNs(guest, ['ip', '-j', 'neigh', 'show', `${GUEST_NET}.${to}`, 'dev', 'eth0']) || '[]') as Array<{ lladdr?: string }>;
  return { received, mac: neigh[0]?.lladdr };
}

describe('VXLAN mesh of a group from the inventory alone (playbooks/vxlan-mesh.yaml)', () => {
  beforeAll(async () => {
    prefix = pickPrefix();
    dir = join(scratchDir('mesh-lab'), 'lab');
    const up = await kvmnet(['lab', 'up', '--dir', dir, '--prefix', prefix, '-n', '3'], { timeoutMs: 180_000 });
    expect(up.code, show(up)).toBe(0);
    lab = readLabState(dir);
  }, 200_000);

  afterAll(async () => {
    for (const g of guests) sh(['ip', 'netns', 'del', g]);
    if (dir) await kvmnet(['lab', 'down', '--dir', dir], { timeoutMs: 120_000 });
  }, 130_000);

  it('three fresh hosts converge into a full mesh; their guests reach each other at layer 2; a second run changes nothing', async () => {
    const first = await mesh(['hv1', 'hv2', 'hv3']);
    expect(first.summary.hosts.map((h) => [h.host, h.changed, h.failed])).toEqual([
      ['hv1', 3, 0],
      ['hv2', 3, 0],
      ['hv3', 3, 0],
    ]);
    for (const h of ['hv1', 'hv2', 'hv3']) {
      const others = ['hv1', 'hv2', 'hv3']
        .filter((x) => x !== h)
        .map(address)
        .sort();
      expect(remotesOf(h), `${h}: flooding entries`).toEqual(others);
      const vx = (
        JSON.parse(inNs(hostNs(h), ['ip', '-j', '-d', 'link', 'show', 'vx100'])) as Array<{
          master?: string;
          mtu: number;
          flags: string[];
          linkinfo: { info_data: { id: number; local: string; port: number } };
        }>
      )[0]!;
      expect([vx.master, vx.mtu, vx.flags.includes('UP'), vx.linkinfo.info_data.id, vx.linkinfo.info_data.local, vx.linkinfo.info_data.port]).toEqual([
        'brvx',
        1450,
        true,
        100,
        address(h),
        4789,
      ]);
    }

    [1, 2, 3].forEach((n) => addGuest(`hv${n}`, n));
    for (const [from, to] of [
      [1, 2],
      [1, 3],
      [2, 3],
      [3, 1],
    ] as const) {
      const p = ping(from, to);
      console.log(`[e2e] guest${from} → guest${to}: ${p.received}/3 replies, ARP ${GUEST_NET}.${to} is ${p.mac}`);
      expect(p.received, `guest${from} → guest${to}`).toBeGreaterThan(0);
      // Layer 2: the ARP answer came across the overlay from the other guest itself.
      expect(p.mac, `guest${from}'s ARP entry for guest${to}`).toBe(guestMac(to));
    }

    const second = await mesh(['hv1', 'hv2', 'hv3']);
    expect(second.summary.hosts.map((h) => [h.host, h.changed])).toEqual([
      ['hv1', 0],
      ['hv2', 0],
      ['hv3', 0],
    ]);
  }, 200_000);

  it('a 4th host added to the inventory joins on the next run, the others gain it; removed, the others lose it', async () => {
    const grow = await kvmnet(['lab', 'up', '--dir', dir, '-n', '4'], { timeoutMs: 180_000 });
    expect(grow.code, show(grow)).toBe(0);
    lab = readLabState(dir);
    const all = ['hv1', 'hv2', 'hv3', 'hv4'];
    const joined = await mesh(all);
    // hv4 is made (bridge, VXLAN, port); the others only gain one flooding entry each.
    expect(joined.summary.hosts.map((h) => [h.host, h.changed])).toEqual([
      ['hv1', 1],
      ['hv2', 1],
      ['hv3', 1],
      ['hv4', 3],
    ]);
    for (const h of all)
      expect(remotesOf(h), `${h}: flooding entries`).toEqual(
        all
          .filter((x) => x !== h)
          .map(address)
          .sort(),
      );
    addGuest('hv4', 4);
    for (const to of [1, 2, 3]) {
      const p = ping(4, to);
      expect(p.received, `guest4 → guest${to}`).toBeGreaterThan(0);
      expect(p.mac).toBe(guestMac(to));
    }
    const again = await mesh(all);
    expect(
      again.summary.hosts.every((h) => h.changed === 0),
      show(again.r),
    ).toBe(true);

    // hv4 leaves the inventory: the others stop flooding to it.
    const shrunk = await mesh(['hv1', 'hv2', 'hv3']);
    expect(
      shrunk.tasks
        .filter((t) => t.outcome === 'changed')
        .map((t) => [t.host, t.changes])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    ).toEqual(['hv1', 'hv2', 'hv3'].map((h) => [h, [`vx100: stop flooding to ${address('hv4')} (not listed)`]]));
    for (const h of ['hv1', 'hv2', 'hv3'])
      expect(remotesOf(h), `${h}: flooding entries`).toEqual(
        ['hv1', 'hv2', 'hv3']
          .filter((x) => x !== h)
          .map(address)
          .sort(),
      );
  }, 300_000);

  it('another VNI re-creates each VXLAN with the MAC it had (the kernel would pick a random one), so its bridge keeps its MAC too', async () => {
    const three = ['hv1', 'hv2', 'hv3'];
    const macOf = (h: string, dev: string) =>
      (JSON.parse(inNs(hostNs(h), ['ip', '-j', '-d', 'link', 'show', dev])) as Array<{ address: string; linkinfo: { info_data: { id: number } } }>)[0]!;
    const before = three.map((h) => [macOf(h, 'vx100').address, macOf(h, 'brvx').address]);
    const moved = await mesh(three, ['-e', '{"mesh_vni": 101}']);
    expect(
      moved.tasks
        .filter((t) => t.outcome === 'changed')
        .map((t) => [t.host, t.changes])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    ).toEqual(three.map((h) => [h, [expect.stringMatching(/^re-create VXLAN vx100: it is vni 100 .* wanted vni 101 /)]]));
    expect(three.map((h) => macOf(h, 'vx100').linkinfo.info_data.id)).toEqual([101, 101, 101]);
    expect(three.map((h) => [macOf(h, 'vx100').address, macOf(h, 'brvx').address])).toEqual(before);
    // The guests still reach each other over the new VNI.
    for (const to of [2, 3]) expect(ping(1, to).received, `guest1 → guest${to}`).toBeGreaterThan(0);
    // Back to VNI 100: the same MACs again.
    await mesh(three);
    expect(three.map((h) => macOf(h, 'vx100').linkinfo.info_data.id)).toEqual([100, 100, 100]);
    expect(three.map((h) => [macOf(h, 'vx100').address, macOf(h, 'brvx').address])).toEqual(before);
  }, 300_000);
});
