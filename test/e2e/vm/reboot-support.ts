// The reboot proof shared by the per-manager VM files (04-reboot-*.test.ts): a `--init systemd`
// lab host with network manager M converges the production layout with `persist: auto` — an
// 802.3ad bond of eth1+eth2, VLANs 10 and 20 on it, a bridge br10 on bond0.10 holding the host's
// second address, a VLAN-aware bridge brv with eth3 as a trunk port (VLANs 30, 200-202, PVID 99
// untagged, no default PVID), a libvirt network on br10, a route and a rule, an overlay bridge brx
// on a VXLAN (VXLAN_TASKS) —, then the VM really reboots (systemctl reboot: QEMU
// restarts it; only /etc and /var on its disk survive). After the boot, what kvmnet wrote must be
// what the manager brought back: asserted with `ip -j`, `bridge -j vlan`, /proc/net/bonding (the
// lab switch as LACP partner), `virsh`, pings through VLAN 10, and `kvmnet run --check
// --detailed-exitcode` reporting no change.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostBondAddress, type LabState } from '../../../src/lab/index.js';
import { kvmnet, show, spawnCollect, type Result } from '../exec.js';
import { onVmHost, vmLabUp, waitFor, vmLabDown } from './support.js';

export const LAYOUT_TASKS = [
  'ensure_bond: { name: bond0, mode: 802.3ad, members: [eth1, eth2], lacp_rate: fast, xmit_hash_policy: layer3+4 }',
  'ensure_vlan: { parent: bond0, id: 10 }',
  'ensure_vlan: { parent: bond0, id: 20 }',
  'ensure_bridge: { name: br10 }',
  'ensure_port: { bridge: br10, interface: bond0.10 }',
  'ensure_ip: { dev: br10, address: "{{ bond_address }}/24" }',
  // default_pvid 0: systemd-networkd 252 only adds a port's [BridgeVLAN]s, so with a default PVID
  // the port would keep that VLAN after a reboot (measured: eth3 came back with VLAN 1 untagged).
  'ensure_bridge: { name: brv, vlan_filtering: true, default_pvid: 0 }',
  'ensure_port: { bridge: brv, interface: eth3, vlans: [30, "200-202"], pvid: 99, untagged: [99] }',
  'ensure_libvirt_net: { name: vlan10, forward: bridge, bridge: { name: br10 }, state: active, autostart: true }',
  // A storage subnet behind a gateway on br10, in its own table, and the rule that sends br10's
  // address there (not the lab subnet: mgmt0's address, the SSH session's, is in it too).
  'ensure_route: { dst: 10.210.0.0/16, via: "{{ bond_gateway }}", dev: br10, table: 210 }',
  'ensure_rule: { priority: 1210, from: "{{ bond_address }}", table: 210 }',
];
export const WANTED_VLANS = ['eth3 30 99:PVID,untagged 200 201 202'];

// The layout's overlay: a bridge brx on a VXLAN from mgmt0's address (the SSH session's) flooding to
// one or two remotes of the lab subnet (nothing answers there), with the MTU an underlay of 1500 leaves
// (1450: without dev the kernel gives it 1500); the bridge takes its port's MTU.
const VXLAN = 'ensure_vxlan: { name: vx210, vni: 210, local: "{{ mgmt_address }}", remotes: "{{ vxlan_remotes }}", learning: false, mtu: 1450 }';
export const VXLAN_TASKS = ['ensure_bridge: { name: brx }', VXLAN, 'ensure_port: { bridge: brx, interface: vx210 }'];

export interface RebootCtx {
  /** false: the layout without the VLAN-aware bridge brv (netplan 0.106 cannot configure VLAN filtering). */
  vlanAware: boolean;
  /** The flooding entries of the layout's VXLAN (VXLAN_TASKS): NetworkManager and netplan take one only. */
  vxlanRemotes: 1 | 2;
  /** How long a reboot may take until systemd is up (the manager's unit included). */
  bootMs: number;
  state: LabState;
  inventory: string;
  tmp: string;
  timings: Record<string, number>;
}

export const recap = (r: Result) => /hv1\s+: ok=(\d+)\s+changed=(\d+)\s+failed=(\d+)/.exec(r.stdout)?.slice(1).map(Number);

// Only a next hop for the route (nothing answers there).
const bondGateway = (ctx: RebootCtx) => `${ctx.state.subnet.base}.254`;

/** The layout less what the manager cannot persist (see RebootCtx). */
const layoutTasks = (ctx: RebootCtx) => [...LAYOUT_TASKS.filter((t) => ctx.vlanAware || !t.includes('brv')), ...VXLAN_TASKS];
const vxlanRemotes = (ctx: RebootCtx) => [`${ctx.state.subnet.base}.251`, `${ctx.state.subnet.base}.252`].slice(0, ctx.vxlanRemotes);

/** Writes the layout playbook (play-level `persist`) and runs kvmnet on it. */
export async function runLayout(ctx: RebootCtx, name: string, persist: string, extra: string[] = [], tasks = layoutTasks(ctx)): Promise<Result> {
  const file = join(ctx.tmp, `${name}.yaml`);
  const vars =
    `  vars:\n    bond_address: ${hostBondAddress(ctx.state.subnet, 1)}\n    bond_gateway: ${bondGateway(ctx)}\n` +
    `    mgmt_address: ${ctx.state.hosts[0]!.address}\n    vxlan_remotes: ${vxlanRemotes(ctx).join(' ')}\n`;
  writeFileSync(file, `- name: ${name}\n  hosts: hv1\n  persist: ${persist}\n${vars}  tasks:\n${tasks.map((t) => `    - ${t}\n`).join('')}`);
  const t0 = Date.now();
  const r = await kvmnet(['run', file, '-i', ctx.inventory, ...extra], { timeoutMs: 600_000, env: { ...process.env, CI: '1' } });
  ctx.timings[name] = Date.now() - t0;
  return r;
}

/** `systemctl reboot` on the host, then waits for a new boot (another boot_id) that systemd finished. */
export async function rebootHost(ctx: RebootCtx, name = 'hv1'): Promise<number> {
  const sh = (s: string, check = true) => onVmHost(ctx.state, name, s, check);
  const before = (await sh('cat /proc/sys/kernel/random/boot_id')).stdout.trim();
  const t0 = Date.now();
  // The session ends with the reboot: its exit status says nothing.
  await sh('systemctl reboot', false);
  await waitFor(
    `${name} to come back from its reboot`,
    async () => {
      const r = await sh('cat /proc/sys/kernel/random/boot_id; systemctl is-system-running --wait', false);
      const [id, status] = r.stdout.trim().split('\n');
      return id && id !== before && (status === 'running' || status === 'degraded') ? true : undefined;
    },
    ctx.bootMs,
  );
  // systemd is up once the manager's unit started; the manager may still be bringing links up.
  await waitFor(
    `${name}'s manager to bring the layout's links up`,
    async () => {
      const r = await sh(
        `for d in bond0 bond0.10 bond0.20 br10${ctx.vlanAware ? ' brv' : ''} brx vx210; do ip link show dev $d up | grep -q . || exit 1; done; ip -4 -o addr show dev br10 | grep -q inet`,
        false,
      );
      return r.code === 0 ? true : undefined;
    },
    180_000,
  );
  const ms = Date.now() - t0;
  ctx.timings[`reboot-${name}`] = ms;
  return ms;
}

interface IpLink {
  ifname: string;
  flags: string[];
  master?: string;
  link?: string;
  mtu: number;
  stats64?: { rx: { packets: number } };
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
}

export async function links(ctx: RebootCtx): Promise<Record<string, IpLink>> {
  const list = JSON.parse((await onVmHost(ctx.state, 'hv1', 'ip -j -d -s link show')).stdout) as IpLink[];
  return Object.fromEntries(list.map((l) => [l.ifname, l]));
}

/** `bridge -j vlan show`, one line per port: `eth3 30 99:PVID,untagged 200 201 202`. */
export async function vlanTable(ctx: RebootCtx): Promise<string[]> {
  const list = JSON.parse((await onVmHost(ctx.state, 'hv1', 'bridge -j vlan show')).stdout) as Array<{
    ifname: string;
    vlans: Array<{ vlan: number; vlanEnd?: number; flags?: string[] }>;
  }>;
  return list
    .map((p) => {
      const ids = p.vlans.flatMap((v) =>
        Array.from({ length: (v.vlanEnd ?? v.vlan) - v.vlan + 1 }, (_, i) => {
          const flags = (v.flags ?? []).map((f) => (f === 'Egress Untagged' ? 'untagged' : f));
          return `${v.vlan + i}${flags.length ? `:${flags.join(',')}` : ''}`;
        }),
      );
      return `${p.ifname} ${ids.join(' ')}`;
    })
    .filter((l) => l.startsWith('eth3 '))
    .sort();
}

/** Everything the layout promises, read from the host itself (never from kvmnet's output). */
export async function assertLayout(ctx: RebootCtx): Promise<void> {
  const sh = (s: string, check = true) => onVmHost(ctx.state, 'hv1', s, check);
  const l = await links(ctx);
  expect(l.bond0?.linkinfo?.info_kind).toBe('bond');
  expect(l.bond0!.linkinfo!.info_data).toMatchObject({ mode: '802.3ad', miimon: 100, ad_lacp_rate: 'fast', xmit_hash_policy: 'layer3+4' });
  expect([l.eth1?.master, l.eth2?.master]).toEqual(['bond0', 'bond0']);
  expect(l['bond0.10']).toMatchObject({ link: 'bond0', master: 'br10', linkinfo: { info_kind: 'vlan', info_data: { id: 10 } } });
  expect(l['bond0.20']).toMatchObject({ link: 'bond0', linkinfo: { info_kind: 'vlan', info_data: { id: 20 } } });
  expect(l.br10?.linkinfo?.info_kind).toBe('bridge');
  for (const dev of ['bond0', 'bond0.10', 'bond0.20', 'br10']) expect(l[dev]!.flags, dev).toContain('UP');
  if (ctx.vlanAware) {
    expect(l.brv?.linkinfo?.info_data).toMatchObject({ vlan_filtering: 1, vlan_default_pvid: 0 });
    expect(l.eth3?.master).toBe('brv');
    for (const dev of ['brv', 'eth3']) expect(l[dev]!.flags, dev).toContain('UP');
    expect(await vlanTable(ctx)).toEqual(WANTED_VLANS);
  }
  const addrs = JSON.parse((await sh('ip -j -4 addr show dev br10')).stdout) as Array<{ addr_info: Array<{ local: string; prefixlen: number }> }>;
  expect(addrs[0]!.addr_info.map((a) => `${a.local}/${a.prefixlen}`)).toContain(`${hostBondAddress(ctx.state.subnet, 1)}/24`);
  const switchMac = (await onVmHost(ctx.state, 'sw', 'cat /sys/class/net/bond1/address')).stdout.trim();
  const proc = await waitFor('the lab switch as LACP partner in /proc/net/bonding/bond0', async () => {
    const text = (await sh('cat /proc/net/bonding/bond0')).stdout;
    return text.includes(`Partner Mac Address: ${switchMac}`) && /Number of ports: 2/.test(text) ? text : undefined;
  });
  expect(proc).toContain('IEEE 802.3ad Dynamic link aggregation');
  const nets = (await sh('virsh -q net-list --all')).stdout;
  expect(nets).toMatch(/^\s*vlan10\s+active\s+yes\s+yes/m);
  const table = JSON.parse((await sh('ip -j -4 route show table 210')).stdout) as Array<{ dst: string; gateway?: string; dev: string }>;
  expect(table.map((r) => [r.dst, r.gateway, r.dev])).toEqual([['10.210.0.0/16', bondGateway(ctx), 'br10']]);
  const rules = JSON.parse((await sh('ip -j -4 rule show priority 1210')).stdout) as Array<{ src?: string; table?: string }>;
  expect(rules.map((r) => [r.src, r.table])).toEqual([[hostBondAddress(ctx.state.subnet, 1), '210']]);
  expect(l.vx210?.linkinfo?.info_kind).toBe('vxlan');
  expect(l.vx210!.linkinfo!.info_data).toMatchObject({ id: 210, local: ctx.state.hosts[0]!.address, port: 4789, learning: false });
  expect(l.vx210!.master).toBe('brx');
  expect([l.vx210!.mtu, l.brx!.mtu]).toEqual([1450, 1450]);
  for (const dev of ['brx', 'vx210']) expect(l[dev]!.flags, dev).toContain('UP');
  const fdb = JSON.parse((await sh('bridge -j fdb show dev vx210')).stdout) as Array<{ mac: string; dst?: string }>;
  const flooding = fdb.filter((e) => e.mac === '00:00:00:00:00:00').map((e) => e.dst);
  expect(flooding.sort()).toEqual(vxlanRemotes(ctx));
}

/** Pings br10's address from the machine until 3 echo requests came in tagged, through bond0.10. */
export async function assertVlanTraffic(ctx: RebootCtx): Promise<number> {
  const addr = hostBondAddress(ctx.state.subnet, 1);
  const before = (await links(ctx))['bond0.10']!.stats64!.rx.packets;
  return waitFor(
    '3 echo requests in through bond0.10',
    async () => {
      const p = await spawnCollect(['busybox', 'ping', '-c', '3', '-W', '2', addr], { timeoutMs: 30_000 });
      const n = (await links(ctx))['bond0.10']!.stats64!.rx.packets - before;
      return p.code === 0 && n >= 3 ? n : undefined;
    },
    90_000,
  );
}

/** `kvmnet run --check --detailed-exitcode` of the layout: exit 0 and nothing changed. */
export async function assertNoChange(ctx: RebootCtx, persist: string): Promise<void> {
  const r = await runLayout(ctx, 'check-after-reboot', persist, ['--check', '--detailed-exitcode']);
  expect(r.code, show(r)).toBe(0);
  expect(recap(r)?.[1], show(r)).toBe(0);
}

/**
 * The whole proof for one manager: lab up (`--init systemd --manager MANAGER`), converge with
 * `persist: PERSIST` (auto unless KVMNET_E2E_PERSIST says otherwise), a second run changes nothing,
 * reboot, everything is back and `--check --detailed-exitcode` finds nothing to change.
 */
export function describeReboot(manager: string, stem: string, opts: { vlanAware?: boolean; vxlanRemotes?: 1 | 2; bootMs?: number } = {}): void {
  const enabled = process.env.KVMNET_E2E_VM !== '0';
  const persist = process.env.KVMNET_E2E_PERSIST ?? 'auto';
  let dir = '';
  const ctx = { timings: {}, vlanAware: opts.vlanAware ?? true, vxlanRemotes: opts.vxlanRemotes ?? 2, bootMs: opts.bootMs ?? 300_000 } as RebootCtx;

  describe.skipIf(!enabled)(`persist: ${persist} on a ${manager} host survives a real reboot`, () => {
    beforeAll(async () => {
      ctx.tmp = mkdtempSync(join(tmpdir(), `kvmnet-e2e-vm-reboot-${manager}-`));
      dir = join(ctx.tmp, 'lab');
      const lab = await vmLabUp(dir, stem, 1, ['--init', 'systemd', '--manager', manager]);
      ({ state: ctx.state, inventory: ctx.inventory } = lab);
      ctx.timings.up = lab.upMs;
      // mgmt0 and br10 share the lab subnet: only br10 may answer ARP for its address (kept across the reboot).
      await onVmHost(
        ctx.state,
        'hv1',
        'echo net.ipv4.conf.all.arp_ignore=1 > /etc/sysctl.d/90-kvmnet-e2e.conf && sysctl -q -p /etc/sysctl.d/90-kvmnet-e2e.conf && systemctl is-system-running --wait',
        false,
      );
    }, 600_000);

    afterAll(() => vmLabDown(dir, ctx.tmp, `[e2e vm reboot ${manager}] timings (ms): ${JSON.stringify(ctx.timings)}`), 180_000);

    it('kvmnet facts names the manager', async () => {
      const r = await kvmnet(['facts', '-i', ctx.inventory, '--output', 'json'], { timeoutMs: 120_000 });
      expect(r.code, show(r)).toBe(0);
      const facts = JSON.parse(r.stdout.trim().split('\n')[0]!) as { network_managers: { manager: string | null } };
      expect(facts.network_managers.manager).toBe(manager);
    }, 180_000);

    // Only the NetworkManager host has a manager that undoes runtime changes (no skipped test elsewhere).
    if (manager === 'networkmanager')
      it('a runtime-only change of a device NetworkManager manages is refused with the reason, and nothing changes', async () => {
        const r = await runLayout(ctx, 'runtime-only', 'none');
        expect(r.code, show(r)).toBe(2);
        expect(r.stdout + r.stderr).toContain('eth1 is managed by NetworkManager on hv1 (disconnected)');
        expect((await links(ctx)).bond0).toBeUndefined();
      }, 300_000);

    // ifupdown2 purges a lower device it has no stanza for: kvmnet refuses to hand it mgmt0.
    if (manager === 'ifupdown2')
      it('a VXLAN on mgmt0, which ifupdown2 has no stanza for, is refused with the reason, and nothing changes', async () => {
        const r = await runLayout(ctx, 'vxlan-on-mgmt0', persist, [], [VXLAN.replace('learning: false', 'learning: false, dev: mgmt0')]);
        expect(r.code, show(r)).toBe(2);
        expect(r.stdout + r.stderr).toContain(
          'VXLAN vx210 sits on mgmt0, which has no ifupdown2 stanza: ifupdown2 would bring mgmt0 up with an empty configuration',
        );
        expect((await links(ctx)).vx210).toBeUndefined();
      }, 300_000);

    it('converges the production layout, and a second run changes nothing', async () => {
      const r = await runLayout(ctx, 'converge', persist);
      expect(r.code, show(r)).toBe(0);
      expect(recap(r)?.[2]).toBe(0);
      await assertLayout(ctx);
      const again = await runLayout(ctx, 'again', persist);
      expect(again.code, show(again)).toBe(0);
      expect(recap(again)?.[1], show(again)).toBe(0);
    }, 900_000);

    it(
      'after a real reboot the manager brings back the same layout, VLAN traffic flows, and --check finds nothing to change',
      async () => {
        await rebootHost(ctx);
        await assertLayout(ctx);
        expect(await assertVlanTraffic(ctx)).toBeGreaterThanOrEqual(3);
        await assertNoChange(ctx, persist);
      },
      ctx.bootMs + 600_000,
    );
  });
}
