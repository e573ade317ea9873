// The bond-in-a-bridge-plus-VLAN layout (nmstate's example, common on hypervisors): bond0 of
// eth1+eth2 is a port of bridge br0 (untagged traffic) and the parent of VLAN bond0.10 (tagged).
// kvmnet converges it, a second run changes nothing, and both paths carry traffic: echo requests
// for br0's address come in through br0 (untagged frames on bond0, handed to the bridge), those
// for bond0.10's address come in tagged through bond0.10 (the kernel gives a tagged frame to the
// VLAN device before the bridge sees it). Counted on the host by iptables rules per input device.
// kvmnet graph of it has exactly the kernel's master and lower-device edges (ip -j -d link).
// 1 VM host + the lab switch (--untagged-mgmt: the switch joins the host ports' untagged traffic
// and VLAN 10 both to the lab network); KVMNET_E2E_VM=0 skips it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostBondAddress, type LabState } from '../../../src/lab/index.js';
import { kvmnet, show, spawnCollect, type Result } from '../exec.js';
import { onVmHost, vmLabUp, waitFor, vmLabDown } from './support.js';

const enabled = process.env.KVMNET_E2E_VM !== '0';

let tmp = '';
let dir = '';
let state: LabState;
let inventory = '';

const TASKS = [
  'ensure_bond: { name: bond0, mode: 802.3ad, members: [eth1, eth2], lacp_rate: fast }',
  'ensure_bridge: { name: br0, stp: false }',
  'ensure_port: { bridge: br0, interface: bond0 }',
  'ensure_vlan: { parent: bond0, id: 10 }',
];

async function run(name: string, tasks: string[]): Promise<Result> {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(file, `- name: ${name}\n  hosts: hv1\n  tasks:\n${tasks.map((t) => `    - ${t}\n`).join('')}`);
  return kvmnet(['run', file, '-i', inventory], { timeoutMs: 300_000, env: { ...process.env, CI: '1' } });
}
const recap = (r: Result) => /hv1\s+: ok=(\d+)\s+changed=(\d+)\s+failed=(\d+)/.exec(r.stdout)?.slice(1).map(Number);

/** Echo requests counted by the host's INPUT rule for DEV (`iptables -L -v -x`). */
async function echoRequestsIn(dev: string): Promise<number> {
  const out = (await onVmHost(state, 'hv1', 'iptables -L INPUT -v -x -n')).stdout;
  const line = out.split('\n').find((l) => l.includes(`kvmnet-e2e-${dev}`));
  return Number(line?.trim().split(/\s+/)[0] ?? NaN);
}

describe.skipIf(!enabled)('a bond that is a bridge port and a VLAN parent (VM lab)', () => {
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'kvmnet-e2e-vm-bbv-'));
    dir = join(tmp, 'lab');
    ({ state, inventory } = await vmLabUp(dir, 'kbv', 1, ['--untagged-mgmt']));
  }, 420_000);

  afterAll(() => vmLabDown(dir, tmp), 180_000);

  it('converges: bond0 in br0 and under bond0.10', async () => {
    const r = await run('converge', TASKS);
    expect(r.code, show(r)).toBe(0);
    expect(recap(r)).toEqual([0, 4, 0]);
    const l = Object.fromEntries(
      (
        JSON.parse((await onVmHost(state, 'hv1', 'ip -j -d link show')).stdout) as Array<{
          ifname: string;
          master?: string;
          link?: string;
          linkinfo?: { info_kind?: string; info_data?: { id?: number } };
        }>
      ).map((x) => [x.ifname, x]),
    );
    expect(l.bond0?.master).toBe('br0');
    expect(l['bond0.10']).toMatchObject({ link: 'bond0', linkinfo: { info_kind: 'vlan', info_data: { id: 10 } } });
    expect([l.eth1?.master, l.eth2?.master]).toEqual(['bond0', 'bond0']);
  });

  it('kvmnet graph draws every lower-device relation the kernel has (ip -j -d link), with the bond mode and partner and the VLAN id', async () => {
    const g = await kvmnet(['graph', '-i', inventory, '--format', 'dot', '--no-group'], { timeoutMs: 120_000 });
    expect(g.code, show(g)).toBe(0);
    const drawn = new Set([...g.stdout.matchAll(/id="hv1\/(link:[^"]+)->(link:[^"]+)"/g)].map((m) => `${m[1]} -> ${m[2]}`));
    const kernel = JSON.parse((await onVmHost(state, 'hv1', 'ip -j -d link show')).stdout) as Array<{ ifname: string; master?: string; link?: string }>;
    const names = new Set(kernel.map((l) => l.ifname));
    const expected = [
      ...kernel.filter((l) => l.master).map((l) => `link:${l.ifname} -> link:${l.master}`),
      // `link` is the lower device (a VLAN's parent); only when it is a link of this host (a veth's peer is not).
      ...kernel.filter((l) => l.link && names.has(l.link)).map((l) => `link:${l.link} -> link:${l.ifname}`),
    ];
    expect(expected).toEqual(
      expect.arrayContaining(['link:eth1 -> link:bond0', 'link:eth2 -> link:bond0', 'link:bond0 -> link:br0', 'link:bond0 -> link:bond0.10']),
    );
    expect([...drawn].sort()).toEqual([...new Set(expected)].sort());
    const partner = (await onVmHost(state, 'sw', 'cat /sys/class/net/bond1/address')).stdout.trim();
    await waitFor('the bond with its LACP partner in the picture', async () => {
      const again = await kvmnet(['graph', '-i', inventory, '--format', 'dot', '--no-group'], { timeoutMs: 120_000 });
      return again.stdout.includes(`802.3ad · partner ${partner}`) ? true : undefined;
    });
    expect(g.stdout).toContain('VLAN 10 on bond0');
  });

  it('a second run changes nothing (no refusal of the VLAN on the bridge port)', async () => {
    const r = await run('again', TASKS);
    expect(r.code, show(r)).toBe(0);
    expect(recap(r)).toEqual([4, 0, 0]);
  });

  it('untagged traffic goes through the bridge, tagged traffic through the VLAN', async () => {
    const untagged = hostBondAddress(state.subnet, 10);
    const tagged = hostBondAddress(state.subnet, 11);
    const r = await run('addresses', [`ensure_ip: { dev: br0, address: ${untagged}/24 }`, `ensure_ip: { dev: bond0.10, address: ${tagged}/24 }`]);
    expect(r.code, show(r)).toBe(0);
    // Only the device holding an address answers ARP for it (mgmt0 is on the same subnet);
    // one counting rule per input device for echo requests to its own address.
    await onVmHost(
      state,
      'hv1',
      [
        'sysctl -qw net.ipv4.conf.all.arp_ignore=1',
        `iptables -I INPUT -i br0 -d ${untagged} -p icmp --icmp-type echo-request -m comment --comment kvmnet-e2e-br0`,
        `iptables -I INPUT -i bond0.10 -d ${tagged} -p icmp --icmp-type echo-request -m comment --comment kvmnet-e2e-bond0.10`,
      ].join(' && '),
    );
    for (const [address, dev] of [
      [untagged, 'br0'],
      [tagged, 'bond0.10'],
    ] as const) {
      const n = await waitFor(
        `3 echo requests for ${address} in through ${dev}`,
        async () => {
          const p = await spawnCollect(['busybox', 'ping', '-c', '3', '-W', '2', address], { timeoutMs: 30_000 });
          const count = await echoRequestsIn(dev);
          return p.code === 0 && count >= 3 ? count : undefined;
        },
        90_000,
      );
      expect(n, dev).toBeGreaterThanOrEqual(3);
    }
  });
});
