// ensure_bond and ensure_vlan on a VM lab host (real kernel): kvmnet converges an 802.3ad bond
// of eth1+eth2 with VLANs on it, the switch becomes its LACP partner, a second run changes
// nothing, a mode change is a planned re-create (shown in --check --diff, then applied with the
// VLANs kept), members change one by one with the bond up, state: absent removes it all.
// Asserted with `ip -j -d link` and /proc/net/bonding on the host, never from kvmnet's output
// alone. At the end, the management address moves from a plain NIC onto a VLAN of a new bond in
// ONE guarded step (a wrong VLAN is rolled back by the host itself), and a bond mode change the
// switch cannot work with is rolled back to the old 802.3ad bond. 1 host + the lab switch
// (`--untagged-mgmt`: the switch's untagged traffic is on the management network too; boots in
// 20-60 s here); KVMNET_E2E_VM=0 skips it.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostBondAddress, labPaths, labVmLink, sshCommand, type LabState } from '../../../src/lab/index.js';
import { kvmnet, REPO, show, spawnCollect, type Result } from '../exec.js';
import { vmLabUp, waitFor, vmLabDown } from './support.js';

const enabled = process.env.KVMNET_E2E_VM !== '0';

let tmp = '';
let dir = '';
let state: LabState;
let inventory = '';
const timings: Record<string, number> = {};

async function sh(name: string, script: string, check = true, address?: string): Promise<Result> {
  const argv = sshCommand(state, name);
  argv.splice(argv.length - 1, 0, '-o', 'ConnectTimeout=15');
  // The same host key under another address of the host.
  if (address) argv.splice(argv.length - 1, 1, '-o', `HostKeyAlias=${state.hosts.find((h) => h.name === name)!.address}`, `root@${address}`);
  const r = await spawnCollect([...argv, script], { timeoutMs: 90_000 });
  if (check && r.code !== 0) throw new Error(`${name}: ${script}\n${show(r)}`);
  return r;
}

interface IpLink {
  ifname: string;
  flags: string[];
  master?: string;
  link?: string;
  mtu: number;
  stats64?: { rx: { packets: number } };
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> & { ad_info?: { num_ports: number; partner_mac: string } }; info_slave_kind?: string };
}

async function links(address?: string): Promise<Record<string, IpLink>> {
  const list = JSON.parse((await sh('hv1', 'ip -j -d -s link show', true, address)).stdout) as IpLink[];
  return Object.fromEntries(list.map((l) => [l.ifname, l]));
}

/** Writes a playbook for hv1 with these tasks (YAML flow lines) and runs it. */
async function run(name: string, tasks: string[], extra: string[] = [], opts: { inventory?: string; play?: string } = {}): Promise<Result> {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(file, `- name: ${name}\n  hosts: hv1\n${opts.play ?? ''}  tasks:\n${tasks.map((t) => `    - ${t}\n`).join('')}`);
  const t0 = Date.now();
  const r = await kvmnet(['run', file, '-i', opts.inventory ?? inventory, ...extra], { timeoutMs: 300_000, env: { ...process.env, CI: '1' } });
  timings[name] = Date.now() - t0;
  return r;
}

const recap = (r: Result) => /hv1\s+: ok=(\d+)\s+changed=(\d+)\s+failed=(\d+)/.exec(r.stdout)?.slice(1).map(Number);

/** Pings ADDRESS every 0.2 s while `during` runs: how many answered, and the longest run of lost ones (s). */
async function pingDuring<T>(address: string, during: () => Promise<T>): Promise<{ result: T; sent: number; received: number; longestGapS: number }> {
  const ping = spawn('busybox', ['ping', '-i', '0.2', address], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  ping.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const closed = new Promise((r) => ping.on('close', r));
  try {
    return { result: await during(), ...(await stop()) };
  } finally {
    ping.kill('SIGINT');
  }
  async function stop() {
    ping.kill('SIGINT');
    await closed;
    const seqs = [...out.matchAll(/seq=(\d+)/g)].map((m) => Number(m[1]));
    const sent = Number(/(\d+) packets transmitted/.exec(out)?.[1] ?? 0);
    const gaps = [-1, ...seqs, sent].map((s, k, all) => (k === 0 ? 0 : s - all[k - 1]! - 1));
    return { sent, received: seqs.length, longestGapS: Math.max(0, ...gaps) * 0.2 };
  }
}

const BOND = 'ensure_bond: { name: bond0, mode: 802.3ad, members: [eth1, eth2], lacp_rate: fast, xmit_hash_policy: layer3+4 }';
const VLANS = ['ensure_vlan: { parent: bond0, id: 10 }', 'ensure_vlan: { parent: bond0, id: 20, mtu: 1400 }'];

describe.skipIf(!enabled)('ensure_bond + ensure_vlan on a VM lab host', () => {
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'kvmnet-e2e-vm-'));
    dir = join(tmp, 'lab');
    const lab = await vmLabUp(dir, 'kvb', 1, ['--untagged-mgmt']);
    ({ state, inventory } = lab);
    timings.up = lab.upMs;
    console.log(`[e2e vm bond] lab ${lab.prefix} up in ${timings.up} ms`);
  }, 420_000);

  afterAll(() => vmLabDown(dir, tmp, `[e2e vm bond] timings (ms): ${JSON.stringify(timings)}`), 180_000);

  it('refuses to make the SSH NIC a bond member without migrate, and changes nothing', async () => {
    const r = await run('refused', ['ensure_bond: { name: bond9, mode: active-backup, members: [mgmt0] }']);
    expect(r.code, show(r)).toBe(2);
    expect(r.stdout + r.stderr).toContain('mgmt0 carries this SSH session on hv1');
    expect((await links()).bond9).toBeUndefined();
  });

  it('converges an 802.3ad bond of eth1+eth2 with VLANs 10 and 20; the switch becomes its LACP partner', async () => {
    const r = await run('converge', [BOND, ...VLANS]);
    expect(r.code, show(r)).toBe(0);
    expect(recap(r)).toEqual([0, 3, 0]);
    const l = await links();
    expect(l.bond0!.linkinfo!.info_kind).toBe('bond');
    expect(l.bond0!.linkinfo!.info_data).toMatchObject({ mode: '802.3ad', miimon: 100, ad_lacp_rate: 'fast', xmit_hash_policy: 'layer3+4' });
    expect(l.bond0!.flags).toContain('UP');
    expect([l.eth1!.master, l.eth2!.master]).toEqual(['bond0', 'bond0']);
    expect(l['bond0.10']).toMatchObject({ link: 'bond0', linkinfo: { info_kind: 'vlan', info_data: { id: 10 } } });
    expect(l['bond0.20']).toMatchObject({ link: 'bond0', mtu: 1400, linkinfo: { info_kind: 'vlan', info_data: { id: 20 } } });
    const switchMac = (await sh('sw', 'cat /sys/class/net/bond1/address')).stdout.trim();
    const proc = await waitFor('the LACP partner in /proc/net/bonding/bond0', async () => {
      const text = (await sh('hv1', 'cat /proc/net/bonding/bond0')).stdout;
      return text.includes(`Partner Mac Address: ${switchMac}`) && /Number of ports: 2/.test(text) ? text : undefined;
    });
    expect(proc).toContain('Bonding Mode: IEEE 802.3ad Dynamic link aggregation');
  });

  it('traffic reaches the host through the bond on VLAN 10 (the switch bridges it to the lab network)', async () => {
    const addr = hostBondAddress(state.subnet, 1);
    const r = await run('address', [`ensure_ip: { dev: bond0.10, address: ${addr}/24 }`]);
    expect(r.code, show(r)).toBe(0);
    // Only bond0.10 answers ARP for its address (mgmt0 is on the same subnet).
    await sh('hv1', 'sysctl -qw net.ipv4.conf.all.arp_ignore=1');
    const before = (await links())['bond0.10']!.stats64!.rx.packets;
    // The lab switch (--untagged-mgmt) also floods the subnet's frames untagged to the host's ports,
    // so a request can come in on bond0 itself: ping until 3 have come in tagged, on bond0.10.
    const tagged = await waitFor('3 echo requests in through bond0.10', async () => {
      const p = await spawnCollect(['busybox', 'ping', '-c', '3', '-W', '2', addr], { timeoutMs: 30_000 });
      const n = (await links())['bond0.10']!.stats64!.rx.packets - before;
      return p.code === 0 && n >= 3 ? n : undefined;
    });
    expect(tagged).toBeGreaterThanOrEqual(3);
  });

  it('a second run changes nothing, and kvmnet facts shows the bond, its partner and the VLANs', async () => {
    const r = await run('again', [BOND, ...VLANS]);
    expect(r.code, show(r)).toBe(0);
    expect(recap(r)).toEqual([3, 0, 0]);
    expect(r.stdout).toMatch(/bond bond0 exists as wanted \(802\.3ad, members eth1, eth2, LACP partner [0-9a-f:]{17}\)/);
    const facts = await kvmnet(['facts', '-i', inventory, '--limit', 'hv1', '--output', 'json'], { timeoutMs: 120_000 });
    expect(facts.code, show(facts)).toBe(0);
    const switchMac = (await sh('sw', 'cat /sys/class/net/bond1/address')).stdout.trim();
    const json = JSON.parse(facts.stdout.trim().split('\n')[0]!) as { facts?: Record<string, unknown> } & Record<string, unknown>;
    const f = (json.facts ?? json) as { bonds: Array<Record<string, unknown>>; vlans: Array<Record<string, unknown>> };
    expect(f.bonds).toEqual([
      expect.objectContaining({
        name: 'bond0',
        mode: '802.3ad',
        partner: switchMac,
        members: [expect.objectContaining({ name: 'eth1', mii: 'UP' }), expect.objectContaining({ name: 'eth2', mii: 'UP' })],
      }),
    ]);
    expect(f.vlans.map((v) => [v.name, v.parent, v.id])).toEqual([
      ['bond0.10', 'bond0', 10],
      ['bond0.20', 'bond0', 20],
    ]);
    const text = await kvmnet(['facts', '-i', inventory, '--limit', 'hv1'], { timeoutMs: 120_000, env: { ...process.env, CI: '1' } });
    expect(text.stdout).toMatch(/bond0\s+up\s+802\.3ad \(fast\)\s+100\s+eth1,eth2\s+-\s+[0-9a-f:]{17} agg \d+ \(2 ports\)/);
  });

  it('a mode change is a planned re-create in --check --diff, then applied with the VLANs kept', async () => {
    const changed = 'ensure_bond: { name: bond0, mode: active-backup, members: [eth1, eth2], primary: eth2 }';
    const check = await run('mode-check', [changed], ['--check', '--diff']);
    expect(check.code, show(check)).toBe(0);
    expect(check.stdout).toContain('re-create bond bond0 in place (mode 802.3ad → active-backup)');
    expect(check.stdout).toMatch(/- bond0: bond mode 802\.3ad/);
    expect(check.stdout).toMatch(/\+ bond0: bond mode active-backup/);
    expect((await links()).bond0!.linkinfo!.info_data!.mode).toBe('802.3ad');

    const r = await run('mode', [changed]);
    expect(r.code, show(r)).toBe(0);
    const l = await links();
    expect(l.bond0!.linkinfo!.info_data).toMatchObject({ mode: 'active-backup', primary: 'eth2' });
    expect([l.eth1!.master, l.eth2!.master]).toEqual(['bond0', 'bond0']);
    expect(l['bond0.10']?.link).toBe('bond0');
    await waitFor(
      'eth2 active',
      async () => ((await sh('hv1', 'cat /proc/net/bonding/bond0')).stdout.includes('Currently Active Slave: eth2') ? true : undefined),
      20_000,
    );
    expect(recap(await run('mode-again', [changed]))).toEqual([1, 0, 0]);
  });

  it('members change one by one with the bond up', async () => {
    const r = await run('members', ['ensure_bond: { name: bond0, mode: active-backup, members: [eth1] }']);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain('release eth2 from bond0');
    expect(r.stdout).not.toContain('bond0 down');
    const l = await links();
    expect(l.eth2!.master).toBeUndefined();
    expect(l.bond0!.flags).toContain('UP');
    expect((await sh('hv1', 'cat /proc/net/bonding/bond0')).stdout).toContain('Currently Active Slave: eth1');
  });

  it('state: absent removes the VLANs and the bond; again: nothing to do', async () => {
    const absent = [
      'ensure_vlan: { parent: bond0, id: 10, state: absent }',
      'ensure_vlan: { parent: bond0, id: 20, state: absent }',
      'ensure_bond: { name: bond0, state: absent }',
    ];
    const r = await run('absent', absent);
    expect(r.code, show(r)).toBe(0);
    expect(recap(r)).toEqual([0, 3, 0]);
    const l = await links();
    expect(Object.keys(l).filter((n) => n.startsWith('bond0'))).toEqual([]);
    expect([l.eth1!.master, l.eth2!.master]).toEqual([undefined, undefined]);
    expect((await sh('hv1', 'test -e /proc/net/bonding/bond0', false)).code).not.toBe(0);
    expect(recap(await run('absent-again', absent))).toEqual([3, 0, 0]);
  });

  it('a VLAN-aware bridge on eth3 (a switch trunk): port VLAN sets compared with bridge -j vlan show', async () => {
    const tasks = [
      'ensure_bridge: { name: brt, vlan_filtering: true }',
      'ensure_port: { bridge: brt, interface: eth3, vlans: [30, "200-202"], pvid: 99, untagged: [99] }',
    ];
    const r = await run('vlan-bridge', tasks);
    expect(r.code, show(r)).toBe(0);
    const l = await links();
    expect(l.brt!.linkinfo!.info_data).toMatchObject({ vlan_filtering: 1 });
    expect(l.eth3!.master).toBe('brt');
    const table = JSON.parse((await sh('hv1', 'bridge -j vlan show dev eth3')).stdout) as Array<{
      ifname: string;
      vlans: Array<{ vlan: number; vlanEnd?: number; flags?: string[] }>;
    }>;
    const ids = table[0]!.vlans.flatMap((v) =>
      Array.from(
        { length: (v.vlanEnd ?? v.vlan) - v.vlan + 1 },
        (_, k) => `${v.vlan + k}${v.flags?.includes('PVID') ? ' PVID' : ''}${v.flags?.includes('Egress Untagged') ? ' untagged' : ''}`,
      ),
    );
    expect(ids).toEqual(['30', '99 PVID untagged', '200', '201', '202']);
    const again = await run('vlan-bridge-again', tasks);
    expect(recap(again)).toEqual([2, 0, 0]);
    expect(again.stdout).toContain('VLANs 30, 99 PVID untagged, 200-202');
    const changed = await run('vlan-bridge-change', ['ensure_port: { bridge: brt, interface: eth3, vlans: [30], pvid: 99, untagged: [99] }']);
    expect(changed.stdout).toContain('set the VLANs of eth3 on brt: 30, 99 PVID untagged, 200-202 → 30, 99 PVID untagged');
    expect((await sh('hv1', 'bridge -j vlan show dev eth3')).stdout).not.toContain('"vlan":200');
    expect((await run('vlan-bridge-cleanup', ['ensure_bridge: { name: brt, state: absent }'])).code).toBe(0);
  });

  it('persist: networkd writes the bond, member and VLAN files; a second run and kvmnet facts agree', async () => {
    const tasks = [BOND.replace(' }', ', persist: networkd }'), 'ensure_vlan: { parent: bond0, id: 10, persist: networkd }'];
    const r = await run('persist', tasks);
    expect(r.code, show(r)).toBe(0);
    const files = (await sh('hv1', 'cd /etc/systemd/network && for f in 10-kvmnet-*; do [ -f "$f" ] && echo "$f"; done; ls 10-kvmnet-bond0.network.d')).stdout
      .trim()
      .split('\n');
    expect(files).toEqual([
      '10-kvmnet-bond0.10.netdev',
      '10-kvmnet-bond0.10.network',
      '10-kvmnet-bond0.netdev',
      '10-kvmnet-bond0.network',
      '10-kvmnet-eth1.network',
      '10-kvmnet-eth2.network',
      'vlan-bond0.10.conf',
    ]);
    expect((await sh('hv1', 'cat /etc/systemd/network/10-kvmnet-bond0.netdev')).stdout).toContain(
      '[Bond]\nMode=802.3ad\nMIIMonitorSec=100ms\nLACPTransmitRate=fast\nTransmitHashPolicy=layer3+4\n',
    );
    expect(recap(await run('persist-again', tasks))).toEqual([2, 0, 0]);
    const facts = await kvmnet(['facts', '-i', inventory, '--limit', 'hv1', '--output', 'json'], { timeoutMs: 120_000 });
    const drift = (JSON.parse(facts.stdout.trim().split('\n')[0]!) as { persistence_drift: string[] }).persistence_drift;
    expect(drift.filter((d) => /bond|VLAN|eth[12]/.test(d))).toEqual([]);
    const gone = await run('persist-absent', [
      'ensure_vlan: { parent: bond0, id: 10, state: absent, persist: networkd }',
      'ensure_bond: { name: bond0, state: absent, persist: networkd }',
    ]);
    expect(gone.code, show(gone)).toBe(0);
    expect((await sh('hv1', 'ls /etc/systemd/network | grep -c kvmnet', false)).stdout.trim()).toBe('0');
  });

  it('the shipped playbooks/bonded-vlans.yaml converges the common layout (bond0 → VLANs → bridges → libvirt networks), then changes nothing', async () => {
    // A copy beside the other playbooks of this test, so that a failed run's .retry file lands there.
    const pb = join(tmp, 'bonded-vlans.yaml');
    copyFileSync(join(REPO, 'playbooks', 'bonded-vlans.yaml'), pb);
    // ensure_libvirt_net defines networks with `virsh net-define /dev/stdin`: the guest init links /dev/stdin.
    expect((await sh('hv1', 'readlink /dev/stdin /dev/fd')).stdout).toBe('/proc/self/fd/0\n/proc/self/fd\n');
    const t0 = Date.now();
    const r = await kvmnet(['run', pb, '-i', inventory], { timeoutMs: 300_000, env: { ...process.env, CI: '1' } });
    timings['bonded-vlans'] = Date.now() - t0;
    expect(r.code, show(r)).toBe(0);
    const l = await links();
    expect(l.bond0!.linkinfo!.info_data).toMatchObject({ mode: '802.3ad', ad_lacp_rate: 'fast' });
    for (const v of [100, 200]) {
      expect(l[`bond0.${v}`]).toMatchObject({ link: 'bond0', master: `br${v}`, linkinfo: { info_kind: 'vlan', info_data: { id: v } } });
      expect(l[`br${v}`]!.linkinfo!.info_kind).toBe('bridge');
    }
    const nets = (await sh('hv1', 'virsh -q net-list --all')).stdout;
    expect(nets).toMatch(/vlan100\s+active\s+yes/);
    expect(nets).toMatch(/vlan200\s+active\s+yes/);
    const again = await kvmnet(['run', pb, '-i', inventory], { timeoutMs: 300_000, env: { ...process.env, CI: '1' } });
    expect(again.code, show(again)).toBe(0);
    expect(recap(again)?.slice(1)).toEqual([0, 0]);
  });

  it('migrate: the SSH NIC becomes a bond member in one guarded step, the host reachable at the same address', async () => {
    const task = 'ensure_bond: { name: bondm, mode: active-backup, members: [mgmt0], migrate: true }';
    const r = await run('migrate', [task]);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain('migrate mgmt0 into bondm');
    const l = await links();
    expect(l.mgmt0!.master).toBe('bondm');
    const addrs = JSON.parse((await sh('hv1', 'ip -j addr show dev bondm')).stdout) as Array<{ addr_info: Array<{ local: string }> }>;
    expect(addrs[0]!.addr_info.map((a) => a.local)).toContain(state.hosts[0]!.address);
    expect((await sh('hv1', 'ip -j route show default')).stdout).toContain('"dev":"bondm"');
    const again = await run('migrate-again', [task]);
    expect(recap(again)).toEqual([1, 0, 0]);
  });

  it('then the bond into a bridge carrying the address (ensure_port migrate): NIC → bond → bridge, reachable throughout', async () => {
    const tasks = ['ensure_bridge: { name: brm }', 'ensure_port: { bridge: brm, interface: bondm, migrate: true }'];
    const r = await run('migrate-bridge', tasks);
    expect(r.code, show(r)).toBe(0);
    const l = await links();
    expect([l.mgmt0!.master, l.bondm!.master]).toEqual(['bondm', 'brm']);
    const addrs = JSON.parse((await sh('hv1', 'ip -j addr show dev brm')).stdout) as Array<{ addr_info: Array<{ local: string }> }>;
    expect(addrs[0]!.addr_info.map((a) => a.local)).toContain(state.hosts[0]!.address);
    expect((await sh('hv1', 'ip -j route show default')).stdout).toContain('"dev":"brm"');
    // The bond under the session is now on the SSH path: taking its only member out is refused.
    const cut = await run('migrate-cut', ['ensure_bond: { name: bondm, mode: active-backup, members: [] }']);
    expect(cut.code, show(cut)).toBe(2);
    expect(cut.stdout + cut.stderr).toMatch(/refused: this change re-parents mgmt0/);
    expect(recap(await run('migrate-bridge-again', tasks))).toEqual([2, 0, 0]);
  });

  // From here the management address starts on the plain NIC eth1 (bondAddr, untagged: the
  // switch, --untagged-mgmt, puts its untagged traffic on the management network too), and kvmnet
  // reaches hv1 only there (mgmt0's path is taken down).
  describe('the management address onto a VLAN of a bond, in one guarded step', () => {
    let bondAddr = '';
    let viaEth1 = '';
    const MIGRATE = (vlan: number) => [
      'ensure_bond: { name: bond0, mode: 802.3ad, members: [eth1, eth2], lacp_rate: fast, xmit_hash_policy: layer3+4, migrate: true }\n      confirm_group: mgmt',
      `ensure_vlan: { parent: bond0, id: ${vlan}, migrate: true }\n      confirm_group: mgmt`,
    ];
    /**
     * Runs a guarded play with confirm_timeout 20 s; on a machine so loaded that kvmnet refuses that
     * as too short for the confirming connection ("nothing was changed"), again with the timeout it
     * asks for. Returns the run and the timeout used.
     */
    let cmdCutTimeoutS = 0;
    async function runGuardedPlay(name: string, tasks: string[], extra: string[] = []): Promise<{ r: Result; timeoutS: number; recoveredMs: number }> {
      let timeoutS = 20;
      for (;;) {
        const t0 = Date.now();
        const r = await run(name, tasks, extra, { inventory: viaEth1, play: `  confirm_timeout: ${timeoutS}\n` });
        const more = /set confirm_timeout to (\d+) or more; nothing was changed/.exec(r.stdout);
        if (!more || timeoutS >= 120) return { r, timeoutS, recoveredMs: Date.now() - t0 };
        timeoutS = Math.min(120, Number(more[1]) + 5);
        console.log(`[e2e vm bond] ${name}: this machine is slow to connect now; confirm_timeout ${timeoutS} s`);
      }
    }

    beforeAll(async () => {
      bondAddr = hostBondAddress(state.subnet, 1);
      // eth2's cable stays out until the new bond exists: without LACP this lab switch forwards on
      // one port of its 802.3ad bond only (Linux bonding has no "LACP fallback"), and which one
      // that is after LACP came and went is the kernel's choice. With one cable in, it is eth1's.
      await labVmLink(state, 'hv1', 'eth2', 'down');
      // What the earlier tests left: the shipped playbook's networks, bridges, VLANs and bond.
      await sh(
        'hv1',
        'for n in vlan100 vlan200; do virsh -q net-destroy $n; virsh -q net-undefine $n; done >/dev/null 2>&1; for l in br100 br200 bond0; do ip link del $l 2>/dev/null; done; ' +
          `ip link set eth1 up; ip address add ${bondAddr}/24 dev eth1`,
      );
      await waitFor('SSH to hv1 on eth1', async () => ((await sh('hv1', 'hostname', true, bondAddr)).stdout.trim() === 'hv1' ? true : undefined));
      // mgmt0's path goes away (in the background, so this session ends first whichever way its replies went).
      await sh(
        'hv1',
        `(sleep 1; ip route replace default via ${state.subnet.gateway} dev eth1; ip address flush dev brm scope global; ip link set brm down; ip link set mgmt0 down) >/dev/null 2>&1 &`,
        true,
        bondAddr,
      );
      await new Promise((r) => setTimeout(r, 3000));
      expect((await sh('hv1', 'true', false)).code, 'hv1 still answers on its mgmt0 address').not.toBe(0);
      const known = readFileSync(labPaths(dir).knownHosts, 'utf8');
      const host = state.hosts[0]!.address;
      writeFileSync(
        join(tmp, 'known_hosts.eth1'),
        known
          .split('\n')
          .map((l) => (l.startsWith(`${host} `) ? l.replace(`${host} `, `${bondAddr} `) : l))
          .join('\n'),
      );
      viaEth1 = join(tmp, 'inventory.eth1.yaml');
      writeFileSync(
        viaEth1,
        readFileSync(inventory, 'utf8')
          .replace(/known_hosts: .*/, `known_hosts: ${join(tmp, 'known_hosts.eth1')}`)
          .replace(`host: ${host}`, `host: ${bondAddr}`),
      );
    }, 180_000);

    it('a VLAN the switch does not carry to the management network (99): the host is cut off and restores its old path by itself', async () => {
      const { r, timeoutS, recoveredMs } = await runGuardedPlay('vlan-wrong', MIGRATE(99));
      console.log(`[e2e vm bond] wrong VLAN: rolled back and verified ${recoveredMs} ms after the run started (confirm_timeout ${timeoutS} s)`);
      expect(r.code, show(r)).toBe(2);
      expect(r.stdout).toMatch(/hv1 \| ensure_bond bond0 \(eth1, eth2\) \| rolled_back \| the change cut hv1 off .*guarded as one step: confirm_group 'mgmt'/);
      expect(r.stdout).toMatch(/hv1 \| ensure_vlan bond0\.99 \| rolled_back/);
      const l = await links(bondAddr);
      expect(Object.keys(l).filter((n) => n.startsWith('bond0'))).toEqual([]);
      expect(l.eth1!.master).toBeUndefined();
      const addrs = JSON.parse((await sh('hv1', 'ip -j -4 addr show dev eth1', true, bondAddr)).stdout) as Array<{ addr_info: Array<{ local: string }> }>;
      expect(addrs[0]!.addr_info.map((a) => a.local)).toEqual([bondAddr]);
      expect((await sh('hv1', 'ip -j route show default', true, bondAddr)).stdout).toContain('"dev":"eth1"');
      expect((await sh('hv1', 'cat /run/kvmnet/rollbacks.log*', true, bondAddr)).stdout).toMatch(
        new RegExp(`confirm_group 'mgmt' .*restored after ${timeoutS} s without confirmation`),
      );
    });

    // The full layout in one step: the address ends on a bridge on the VLAN (where guests can join it).
    const MIGRATE_BRIDGED = [
      ...MIGRATE(10),
      'ensure_bridge: { name: brv }\n      confirm_group: mgmt',
      'ensure_port: { bridge: brv, interface: bond0.10, migrate: true }\n      confirm_group: mgmt',
    ];

    it('VLAN 10: eth1 → bond0 of eth1+eth2 → bond0.10 → bridge brv with the address and the default route, reachable at the same address throughout', async () => {
      const p = await pingDuring(bondAddr, () => runGuardedPlay('vlan-migrate', MIGRATE_BRIDGED));
      const { r } = p.result;
      expect(r.code, show(r)).toBe(0);
      expect(recap(r)).toEqual([0, 4, 0]);
      console.log(
        `[e2e vm bond] migration onto bond0.10 → brv: ${timings['vlan-migrate']} ms; ping every 0.2 s: ${p.received}/${p.sent} answered, longest gap ${p.longestGapS.toFixed(1)} s`,
      );
      // Measured here: 57 of 58 answered, one 0.2 s gap (while LACP forms); a loaded machine may stretch it.
      expect(p.received).toBeGreaterThan(0);
      expect(p.longestGapS).toBeLessThanOrEqual(5);
      const l = await links(bondAddr);
      expect(l.bond0!.linkinfo).toMatchObject({ info_kind: 'bond', info_data: { mode: '802.3ad', ad_lacp_rate: 'fast', xmit_hash_policy: 'layer3+4' } });
      expect([l.eth1!.master, l.eth2!.master]).toEqual(['bond0', 'bond0']);
      expect(l['bond0.10']).toMatchObject({ link: 'bond0', master: 'brv', linkinfo: { info_kind: 'vlan', info_data: { id: 10 } } });
      expect(l.brv!.linkinfo!.info_kind).toBe('bridge');
      const addrs = JSON.parse((await sh('hv1', 'ip -j -4 addr', true, bondAddr)).stdout) as Array<{ ifname: string; addr_info: Array<{ local: string }> }>;
      expect(addrs.filter((a) => a.addr_info.some((x) => x.local === bondAddr)).map((a) => a.ifname)).toEqual(['brv']);
      expect((await sh('hv1', 'ip -j route show default', true, bondAddr)).stdout).toContain('"dev":"brv"');
      // The second cable in: both ports in the switch's aggregator, still on the VLAN.
      await labVmLink(state, 'hv1', 'eth2', 'up');
      const switchMac = (await sh('sw', 'cat /sys/class/net/bond1/address')).stdout.trim();
      await waitFor('both bond0 ports with the switch as partner', async () => {
        const text = (await sh('hv1', 'cat /proc/net/bonding/bond0', true, bondAddr)).stdout;
        return text.includes(`Partner Mac Address: ${switchMac}`) && /Number of ports: 2/.test(text) ? true : undefined;
      });
      expect(recap((await runGuardedPlay('vlan-migrate-again', MIGRATE_BRIDGED)).r)).toEqual([4, 0, 0]);
    });

    it('a bond mode change the switch cannot work with (802.3ad → balance-rr, under confirm) is rolled back: the host re-creates its 802.3ad bond by itself', async () => {
      // The switch suspends ports that do not speak LACP (min_links 2 on its bond, like a
      // switch's "lacp suspend-individual"): without LACP from hv1 it forwards nothing to it.
      await sh('sw', 'ip link set bond1 type bond min_links 2');
      try {
        const { r, timeoutS, recoveredMs } = await runGuardedPlay('mode-cut', [
          'ensure_bond: { name: bond0, mode: balance-rr, members: [eth1, eth2] }\n      confirm: true',
        ]);
        console.log(`[e2e vm bond] bond mode change: rolled back and verified ${recoveredMs} ms after the run started (confirm_timeout ${timeoutS} s)`);
        expect(r.code, show(r)).toBe(2);
        expect(r.stdout).toMatch(/hv1 \| ensure_bond bond0 \(eth1, eth2\) \| rolled_back \| the change cut hv1 off/);
        const [bond] = JSON.parse((await sh('hv1', 'ip -j -d link show dev bond0', true, bondAddr)).stdout) as IpLink[];
        expect(bond!.linkinfo).toMatchObject({
          info_kind: 'bond',
          info_data: { mode: '802.3ad', miimon: 100, ad_lacp_rate: 'fast', xmit_hash_policy: 'layer3+4' },
        });
        const l = await links(bondAddr);
        expect([l.eth1!.master, l.eth2!.master]).toEqual(['bond0', 'bond0']);
        expect(l['bond0.10']).toMatchObject({ link: 'bond0', master: 'brv' });
        const switchMac = (await sh('sw', 'cat /sys/class/net/bond1/address')).stdout.trim();
        const proc = await waitFor('the LACP partner back', async () => {
          const text = (await sh('hv1', 'cat /proc/net/bonding/bond0', true, bondAddr)).stdout;
          return text.includes(`Partner Mac Address: ${switchMac}`) && /Number of ports: 2/.test(text) ? text : undefined;
        });
        expect(proc).toContain('Bonding Mode: IEEE 802.3ad Dynamic link aggregation');
        expect((await sh('hv1', 'cat /run/kvmnet/rollbacks.log*', true, bondAddr)).stdout).toMatch(
          new RegExp(`task 'ensure_bond bond0 \\(eth1, eth2\\)' .*restored after ${timeoutS} s without confirmation`),
        );
      } finally {
        await sh('sw', 'ip link set bond1 type bond min_links 0');
      }
    });

    it("a command that downs the bond under the session is reported rolled_back, with the host's record and the command as written", async () => {
      const { r, timeoutS } = await runGuardedPlay('cmd-cut', ['command: { cmd: ip link set bond0 down }']);
      expect(r.code, show(r)).toBe(2);
      expect(r.stdout).toMatch(/hv1 \| command ip link set bond0 down \| rolled_back \| the change cut hv1 off/);
      // What the host itself logged when its timer restored it.
      expect(r.stdout).toMatch(
        new RegExp(
          `host's rollback log: \\d{4}-\\d\\d-\\d\\dT[0-9:]+Z, command task 'command ip link set bond0 down' by .*restored after ${timeoutS} s without confirmation`,
        ),
      );
      expect(r.stdout).not.toContain('running (');
      const l = await links(bondAddr);
      expect(l.bond0!.flags).toContain('UP');
      expect(l['bond0.10']).toMatchObject({ link: 'bond0', master: 'brv' });
      cmdCutTimeoutS = timeoutS;
    });

    it("the same with --output json: the task event says rolled_back with the host's record, the summary counts it, exit code 2", async () => {
      const { r, timeoutS } = await runGuardedPlay('cmd-cut-json', ['command: { cmd: ip link set bond0 down }'], ['--output', 'json']);
      expect(r.code, show(r)).toBe(2);
      const lines = r.stdout
        .split('\n')
        .filter((x) => x.startsWith('{'))
        .map((x) => JSON.parse(x) as Record<string, unknown>);
      const task = lines.find((e) => e.event === 'task' && e.type === 'command') as { outcome: string; message: string; task: string } | undefined;
      expect(task, r.stdout).toMatchObject({ outcome: 'rolled_back', task: 'command ip link set bond0 down' });
      expect(task!.message).toMatch(
        new RegExp(
          `host's rollback log: (\\d{4}-\\d\\d-\\d\\dT[0-9:]+Z), command task 'command ip link set bond0 down' by .*restored after ${timeoutS} s without confirmation`,
        ),
      );
      const summary = lines.find((e) => e.event === 'summary') as { hosts: Array<{ host: string; rolled_back: number; unreachable: number; failed: number }> };
      expect(summary.hosts).toEqual([expect.objectContaining({ host: 'hv1', rolled_back: 1, unreachable: 0 })]);
      // The time in the message is the host's record of this rollback (read on the host).
      const at = /host's rollback log: (\S+?),/.exec(task!.message)![1]!;
      const log = (await sh('hv1', 'cat /run/kvmnet/rollbacks.log.reported', true, bondAddr)).stdout;
      expect(log.split('\n').filter((x) => x.startsWith(`${at}\t`) && x.includes("command task 'command ip link set bond0 down'"))).toHaveLength(1);
      cmdCutTimeoutS = timeoutS;
    });

    it("kvmnet facts shows the host's rollback log (text and JSON), as the host's own file has it, and acks nothing", async () => {
      expect(cmdCutTimeoutS, 'the command-cut tests ran first').toBeGreaterThan(0);
      // The host's log, read directly: this run reported its record, so it is in the reported part.
      const read = async () =>
        (await sh('hv1', 'cd /run/kvmnet && for f in rollbacks.log.reported rollbacks.log; do echo "== $f"; cat $f 2>/dev/null; done', true, bondAddr)).stdout;
      const onHost = await read();
      const [reported = '', pending = ''] = onHost.split('== rollbacks.log\n');
      const records = (text: string, isReported: boolean) =>
        text
          .split('\n')
          .filter((x) => /^\d{4}-/.test(x))
          .map((x) => {
            const [at = '', id = '', ...what] = x.split('\t');
            return { at, id, what: what.join('\t'), reported: isReported };
          });
      const want = [...records(reported, true).slice(-20), ...records(pending, false)];
      const cut = want.find((e) => e.what.startsWith("command task 'command ip link set bond0 down'"));
      expect(cut, onHost).toMatchObject({ reported: true, what: expect.stringMatching(/restored after \d+ s without confirmation$/) });
      // The two earlier rollbacks of this file (the wrong VLAN, the bond mode) and both command cuts.
      expect(want.length, onHost).toBeGreaterThanOrEqual(4);
      expect(
        want.filter((e) => e.what.startsWith("command task 'command ip link set bond0 down'")),
        onHost,
      ).toHaveLength(2);

      const json = await kvmnet(['facts', '-i', viaEth1, '--limit', 'hv1', '--output', 'json'], { timeoutMs: 120_000 });
      expect(json.code, show(json)).toBe(0);
      const f = JSON.parse(json.stdout.trim().split('\n')[0]!) as { rollbacks: unknown };
      expect(f.rollbacks).toEqual(want);

      const text = await kvmnet(['facts', '-i', viaEth1, '--limit', 'hv1'], { timeoutMs: 120_000, env: { ...process.env, CI: '1' } });
      expect(text.code, show(text)).toBe(0);
      expect(text.stdout).toContain("rollbacks (this host's timers since boot, /run/kvmnet/rollbacks.log):");
      const row = text.stdout.split('\n').find((x) => x.includes(cut!.id));
      expect(row, text.stdout).toMatch(new RegExp(`^\\s+${cut!.at}\\s+reported\\s+${cut!.id}\\s+command task 'command ip link set bond0 down'`));
      expect(row).toContain(cut!.what);
      console.log(
        `[e2e vm bond] kvmnet facts, rollback log:\n${text.stdout
          .split('\n')
          .filter((x) => x.includes('rollback') || /^\s+\d{4}-|^\s+at /.test(x))
          .join('\n')}`,
      );
      // Read only: the host's log is as it was.
      expect(await read()).toBe(onHost);
    });
  });
});
