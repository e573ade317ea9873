// The VM lab (`kvmnet lab up --kernel vm`): 2 hosts + the lab switch, each a QEMU VM with its
// own kernel. Proves the data plane with plain commands over SSH (no kvmnet tasks): LACP, VLANs
// through the switch, and a bond that survives a pulled cable. Booting 3 VMs under TCG takes
// 20-50 s and the whole file 90-150 s: it runs in `npm test` unless KVMNET_E2E_VM=0 (see
// docs/lab.md).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostBondAddress, labPaths, labVmLink, sshCommand, type LabState } from '../../../src/lab/index.js';
import { kvmnet, show, spawnCollect, type Result } from '../exec.js';
import { vmLabUp, waitFor } from './support.js';

const enabled = process.env.KVMNET_E2E_VM !== '0';

let tmp = '';
let dir = '';
let prefix = '';
let state: LabState;
const timings: Record<string, number> = {};

/** Runs SCRIPT (sh) on NAME over SSH, as kvmnet would connect; throws on a non-zero exit unless check is false. */
async function sh(name: string, script: string, opts: { check?: boolean; address?: string } = {}): Promise<Result> {
  const argv = sshCommand(state, name);
  // A host whose path is down must fail in seconds, not after TCP's two minutes.
  argv.splice(argv.length - 1, 0, '-o', 'ConnectTimeout=15');
  if (opts.address) {
    // The same host key under another address of the host.
    const host = state.hosts.find((h) => h.name === name)!;
    argv.splice(argv.length - 1, 1, '-o', `HostKeyAlias=${host.address}`, `root@${opts.address}`);
  }
  const r = await spawnCollect([...argv, script], { timeoutMs: 90_000 });
  if (opts.check !== false && r.code !== 0) throw new Error(`${name}: ${script}\n${show(r)}`);
  return r;
}

interface BondLink {
  ifname: string;
  linkinfo?: { info_data?: { mode?: string; ad_info?: { aggregator: number; num_ports: number; partner_mac: string } } };
  stats64?: { rx: { packets: number } };
}

async function linkJson(name: string, ifname: string, stats = false): Promise<BondLink> {
  const r = await sh(name, `ip -j -d ${stats ? '-s ' : ''}link show dev ${ifname}`);
  return (JSON.parse(r.stdout) as BondLink[])[0]!;
}

function qemuPidsUnder(path: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^[0-9]+$/.test(e))
    .filter((e) => {
      try {
        const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8');
        const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
        return cmd.includes(path) && cmd.startsWith('qemu-system') && !/\) [ZX] /.test(stat);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe.skipIf(!enabled)('VM lab: real kernel, lab switch', () => {
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'kvmnet-e2e-vm-'));
    dir = join(tmp, 'lab');
    const lab = await vmLabUp(dir, 'kvv', 2);
    ({ state, prefix } = lab);
    timings.up = lab.upMs;
    console.log(`[e2e vm] lab ${prefix} up in ${timings.up} ms:\n${lab.stderr.trim()}`);
  }, 420_000);

  afterAll(async () => {
    if (!dir) return;
    const t0 = Date.now();
    const down = await kvmnet(['lab', 'down', '--dir', dir], { timeoutMs: 120_000 });
    timings.down = Date.now() - t0;
    const leftLinks = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes(` ${prefix}-`));
    const leftQemu = qemuPidsUnder(dir);
    const leftDir = existsSync(dir);
    rmSync(tmp, { recursive: true, force: true });
    console.log(`[e2e vm] lab ${prefix} down in ${timings.down} ms`);
    expect(down.code, show(down)).toBe(0);
    expect(leftLinks).toEqual([]);
    expect(leftQemu).toEqual([]);
    expect(leftDir).toBe(false);
  }, 180_000);

  it('writes the same inventory and known_hosts as a namespace lab, and the hosts answer', async () => {
    const inv = readFileSync(labPaths(dir).inventory, 'utf8');
    expect(inv).toContain('hv1:');
    expect(inv).toContain(`host: ${state.hosts[0]!.address}`);
    expect(inv).not.toContain('sw:');
    const status = await kvmnet(['lab', 'status', '--dir', dir], { timeoutMs: 120_000 });
    expect(status.code, show(status)).toBe(0);
    for (const name of ['hv1', 'hv2']) {
      const r = await sh(name, 'hostname; uname -r; virsh -q net-list --all');
      expect(r.stdout.split('\n')[0]).toBe(name);
      expect(r.stdout).toContain(state.vm!.release);
      expect(r.stdout).toMatch(/default\s+inactive/);
    }
  });

  it('an 802.3ad bond of eth1+eth2 gets the switch as LACP partner, both ports in one aggregator', async () => {
    for (const name of ['hv1', 'hv2']) {
      await sh(
        name,
        'set -e; ip link add bond0 type bond mode 802.3ad miimon 100 lacp_rate fast; ip link set bond0 addrgenmode none; ' +
          'for p in eth1 eth2; do ip link set $p down; ip link set $p master bond0; done; ip link set bond0 up',
      );
    }
    for (const [k, name] of ['hv1', 'hv2'].entries()) {
      const swBond = await linkJson('sw', `bond${k + 1}`);
      const switchMac = (await sh('sw', `cat /sys/class/net/bond${k + 1}/address`)).stdout.trim();
      const ad = await waitFor(`${name}'s LACP partner`, async () => {
        const info = (await linkJson(name, 'bond0')).linkinfo?.info_data?.ad_info;
        return info && info.partner_mac === switchMac && info.num_ports === 2 ? info : undefined;
      });
      expect(ad.partner_mac).toBe(switchMac);
      expect(swBond.linkinfo?.info_data?.mode).toBe('802.3ad');
      const proc = (await sh(name, 'cat /proc/net/bonding/bond0')).stdout;
      expect(proc).toContain(`Partner Mac Address: ${switchMac}`);
      expect(proc.match(/port state: 63/g)?.length).toBe(4); // actor and partner of both ports: in sync, collecting, distributing
    }
  });

  it('VLAN-tagged traffic reaches the same VLAN on the other host through the switch, and not another VLAN', async () => {
    const vlans = (addr20: string, addr30: string) =>
      'set -e; for v in 20 30; do ip link add link bond0 name bond0.$v type vlan id $v; ip link set bond0.$v addrgenmode none; done; ' +
      `ip address add ${addr20} dev bond0.20; ip address add ${addr30} dev bond0.30; ip link set bond0.20 up; ip link set bond0.30 up`;
    await sh('hv1', vlans('198.19.220.1/24', '198.19.230.1/24'));
    await sh('hv2', vlans('198.19.220.2/24', '198.19.230.2/24'));
    const rx = async () =>
      Object.fromEntries(await Promise.all([20, 30].map(async (v) => [v, (await linkJson('hv2', `bond0.${v}`, true)).stats64!.rx.packets] as const)));

    const before = await rx();
    const ping20 = await sh('hv1', 'busybox ping -c 3 -W 2 198.19.220.2', { check: false });
    expect(ping20.code, show(ping20)).toBe(0);
    const after = await rx();
    expect(after[20]! - before[20]!).toBeGreaterThanOrEqual(3);
    expect(after[30]! - before[30]!).toBe(0);
    // Through the switch: its VLAN-aware bridge learned each host's bond MAC in VLAN 20 on that host's LACP bond.
    const fdb = JSON.parse((await sh('sw', 'bridge -j fdb show br br0')).stdout) as Array<{ mac: string; ifname: string; vlan?: number }>;
    for (const [k, name] of ['hv1', 'hv2'].entries()) {
      const mac = (await sh(name, 'cat /sys/class/net/bond0/address')).stdout.trim();
      expect(fdb, `${name}'s MAC in VLAN 20 on the switch`).toContainEqual(expect.objectContaining({ mac, ifname: `bond${k + 1}`, vlan: 20 }));
    }

    const ping30 = await sh('hv1', 'busybox ping -c 3 -W 2 198.19.230.2', { check: false });
    expect(ping30.code, show(ping30)).toBe(0);

    // 198.19.220.3 lives on hv2's VLAN 30 only: hv1, asking on VLAN 20, must not reach it.
    // arp_ignore=1: hv2 answers ARP only for addresses of the interface asked on (by default
    // Linux answers for any of its addresses on any interface, which would hide a VLAN leak).
    // hv1 leaves VLAN 30 first: then nothing may arrive on hv2's bond0.30 at all (hv1's ARP
    // cache would otherwise re-probe 198.19.230.2 there at any moment).
    await sh('hv1', 'ip link del bond0.30');
    await sh('hv2', 'sysctl -qw net.ipv4.conf.all.arp_ignore=1; ip address add 198.19.220.3/32 dev bond0.30');
    const before2 = await rx();
    const cross = await sh('hv1', 'busybox ping -c 3 -W 2 198.19.220.3', { check: false });
    const after2 = await rx();
    expect(cross.code, `hv1 reached hv2's VLAN 30 address from VLAN 20:\n${show(cross)}`).not.toBe(0);
    expect(after2[30]! - before2[30]!).toBe(0);
  });

  it('with the management NIC down, the host stays reachable over SSH on its bond (VLAN 10) while either bond member is unplugged', async () => {
    const bondAddr = hostBondAddress(state.subnet, 1);
    // arp_ignore=1: only bond0.10 answers ARP for the bond address (not mgmt0, on the same subnet).
    await sh(
      'hv1',
      'set -e; sysctl -qw net.ipv4.conf.all.arp_ignore=1; ip link add link bond0 name bond0.10 type vlan id 10; ' +
        `ip address add ${bondAddr}/24 dev bond0.10; ip link set bond0.10 up`,
    );
    const viaBond = (script: string) => sh('hv1', script, { address: bondAddr });
    await waitFor('SSH to hv1 on its bond address', async () => ((await viaBond('hostname')).stdout.trim() === 'hv1' ? true : undefined));
    // From here on the bond is the only way in: mgmt0 (on the lab bridge) goes down. In the
    // background, so that this session ends first whichever way its replies went.
    await viaBond('(sleep 1; ip link set mgmt0 down) >/dev/null 2>&1 &');
    await new Promise((r) => setTimeout(r, 3000));
    const mgmt = await sh('hv1', 'true', { check: false });
    expect(mgmt.code, 'hv1 still answered on mgmt0').not.toBe(0);
    expect((await viaBond('hostname')).stdout.trim()).toBe('hv1');

    for (const nic of ['eth1', 'eth2'] as const) {
      const t0 = Date.now();
      await labVmLink(state, 'hv1', nic, 'down');
      const proc = await waitFor(`${nic} down in bond0`, async () => {
        const text = (await viaBond('cat /proc/net/bonding/bond0')).stdout;
        return new RegExp(`Slave Interface: ${nic}\\nMII Status: down`).test(text) ? text : undefined;
      });
      expect(proc).toMatch(/Number of ports: 1/);
      for (let k = 0; k < 3; k++) expect((await viaBond('hostname')).stdout.trim()).toBe('hv1');
      console.log(`[e2e vm] hv1 reachable over SSH with ${nic} unplugged (${Date.now() - t0} ms)`);
      await labVmLink(state, 'hv1', nic, 'up');
      await waitFor(`${nic} back in the aggregator`, async () => {
        const [info] = JSON.parse((await viaBond('ip -j -d link show dev bond0')).stdout) as BondLink[];
        return info?.linkinfo?.info_data?.ad_info?.num_ports === 2 ? true : undefined;
      });
    }
    await viaBond('ip link set mgmt0 up && ip route replace default via ' + state.subnet.gateway + ' dev mgmt0');
    await waitFor('SSH to hv1 on mgmt0 again', async () => ((await sh('hv1', 'hostname')).stdout.trim() === 'hv1' ? true : undefined));
  });
});
