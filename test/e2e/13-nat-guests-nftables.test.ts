// playbooks/nat-guests.yaml on a lab host whose libvirt uses the NFTABLES firewall backend: its
// OWN lab of one host with Debian bookworm-backports' libvirt (`kvmnet lab up --libvirt
// backports`, 11.x; the shared lab runs the machine's libvirt 9, iptables only). Proven through
// the data plane, like 13-nat-guests: two "guests" (namespaces on net10's bridge) get their
// reserved addresses from libvirt's dnsmasq; TCP from the root namespace to the host's port 2222
// reaches web1's port 22, also after net-destroy + net-start, after libvirtd restarts, and after
// the whole ruleset was flushed and libvirtd re-created its table (kvmnet's daemon hook puts
// kvmnet's table and accept back); `state: absent` removes it (refused again) and leaves
// libvirt's table exactly as it was. The firewall is read with `nft -j`.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hostCommand, labPaths, readLabState, type LabHostState } from '../../src/lab/index.js';
import { kvmnet, show, spawnCollect } from './exec.js';
import { GUESTS, hookSettled as hookSettledIn, reaches, tryConnect as tryConnectTo } from './nat-guests-support.js';
import { leftovers, pickPrefix } from './global-setup.js';
import { REPO_PLAYBOOKS, summaryOf, waitFor } from './helpers.js';

const HOST = 'hv1';
const PLAYBOOK = join(REPO_PLAYBOOKS, 'nat-guests.yaml');
const TAG = 'kvmnet-pf:net10:tcp:any:2222';

let dir = '';
let labDir = '';
let prefix = '';
let labUp = false;
const inventory = () => labPaths(labDir).inventory;
const host = (): LabHostState => readLabState(labDir).hosts.find((h) => h.name === HOST)!;
const ns = (g: (typeof GUESTS)[number]) => `${prefix}-${g.id}`;
const veth = (g: (typeof GUESTS)[number]) => `${prefix}${g.id}`;

async function sh(argv: string[]): Promise<string> {
  const r = await spawnCollect(argv, { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${show(r)}`);
  return r.stdout;
}
const inHost = (argv: string[]) => sh([...hostCommand(readLabState(labDir), HOST), ...argv]);
const writePlaybook = (name: string, yaml: string) => {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, yaml);
  return file;
};

// ---- the firewall, from `nft -j` ------------------------------------------------------------

interface NftRule {
  family: string;
  table: string;
  chain: string;
  handle: number;
  comment?: string;
  expr: Array<Record<string, unknown>>;
}
type NftItem = { table?: { family: string; name: string }; chain?: { table: string; name: string }; rule?: NftRule };

async function nftRuleset(): Promise<NftItem[]> {
  return (JSON.parse(await inHost(['nft', '-j', 'list', 'ruleset'])) as { nftables: NftItem[] }).nftables;
}
const isOurs = (r: NftRule) => (r.comment ?? '').startsWith('kvmnet-pf:');
/** libvirt's rules (both families) without handles and counters, kvmnet's accepts left out: what absent must leave alone. */
async function libvirtRules(): Promise<string[]> {
  return (await nftRuleset())
    .flatMap((i) => (i.rule && i.rule.table === 'libvirt_network' && !isOurs(i.rule) ? [i.rule] : []))
    .map((r) => `${r.family} ${r.chain} ${JSON.stringify(r.expr.filter((e) => !('counter' in e)))}`);
}
const tables = async () => (await nftRuleset()).flatMap((i) => (i.table ? [`${i.table.family} ${i.table.name}`] : []));
async function libvirtChain(chain: string): Promise<NftRule[]> {
  return (await nftRuleset()).flatMap((i) =>
    i.rule && i.rule.family === 'ip' && i.rule.table === 'libvirt_network' && i.rule.chain === chain ? [i.rule] : [],
  );
}
/** kvmnet's accepts come before libvirt's jumps to guest_input & co. in its forward chain (else guest_input's reject wins). */
async function oursFirst(): Promise<boolean> {
  const rules = await libvirtChain('forward');
  const firstJump = rules.findIndex((r) => r.expr.some((e) => 'jump' in e));
  const ours = rules.map((r, i) => (isOurs(r) ? i : -1)).filter((i) => i >= 0);
  return ours.length > 0 && ours.every((i) => firstJump < 0 || i < firstJump);
}
const ourAccepts = async () => (await libvirtChain('forward')).filter(isOurs).map((r) => r.comment);

// ---- the data plane -------------------------------------------------------------------------

const tries = { attempts: 0 };
const tryConnect = (port: number) => tryConnectTo(host().address, port);
/** Connects until web1's listener answers. */
const reachesWeb1 = () => reaches(host().address, 2222, 'hello from web1', tries);

const plugIn = (g: (typeof GUESTS)[number]) => inHost(['ip', 'link', 'set', veth(g), 'master', 'br10', 'up']);

async function restartLibvirtd(): Promise<void> {
  const pid = host().libvirtdPid!;
  await inHost(['kill', String(pid)]);
  await waitFor('libvirtd to exit', async () => (await inHost(['sh', '-c', `kill -0 ${pid} 2>/dev/null || echo gone`])).includes('gone'), 30_000, 100);
  const r = await kvmnet(['lab', 'up', '--dir', labDir, '-n', '1'], { timeoutMs: 180_000 });
  expect(r.code, show(r)).toBe(0);
  expect(host().libvirtdPid).not.toBe(pid);
}

const hookSettled = () => hookSettledIn(host().netns);

const listeners: ChildProcess[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(inject('e2eTmp'), 'nat-nft-'));
  labDir = join(dir, 'lab');
  prefix = pickPrefix();
  const t0 = Date.now();
  const up = await kvmnet(['lab', 'up', '-n', '1', '--dir', labDir, '--prefix', prefix, '--libvirt', 'backports'], { timeoutMs: 600_000 });
  labUp = true;
  expect(up.code, show(up)).toBe(0);
  console.log(`[nat-nft] lab ${prefix} (1 host, backports libvirt) up in ${Date.now() - t0} ms`);
}, 660_000);

afterAll(async () => {
  for (const l of listeners) if (l.pid) process.kill(l.pid);
  for (const g of GUESTS) await spawnCollect(['ip', 'netns', 'del', ns(g)], { timeoutMs: 30_000 });
  if (!labUp) return;
  const down = await kvmnet(['lab', 'down', '--dir', labDir], { timeoutMs: 180_000 });
  expect(down.code, show(down)).toBe(0);
  expect(leftovers(prefix)).toEqual([]);
}, 240_000);

describe('nat-guests.yaml on a host whose libvirt uses the nftables firewall backend', () => {
  let libvirtBefore: string[];
  const script = () => join(dir, 'udhcpc.sh');

  it('the lab host runs libvirt ≥ 10.4 with firewall_backend nftables; net10 makes libvirt’s own table', async () => {
    const version = await inHost(['virsh', 'version']);
    const m = /Using library: libvirt (\d+)\.(\d+)/.exec(version);
    expect(m, version).not.toBeNull();
    expect(Number(m![1]) * 100 + Number(m![2])).toBeGreaterThanOrEqual(1004);
    expect(await inHost(['cat', '/etc/libvirt/network.conf'])).toMatch(/^firewall_backend = "nftables"$/m);
    const net = writePlaybook(
      'net10',
      `- hosts: ${HOST}\n  tasks:\n    - ensure_libvirt_net: { name: net10, forward: nat, nat_ports: { start: 1024, end: 65535 }, bridge: { name: br10, stp: true, delay: 0 }, ip: { address: 192.168.30.1, netmask: 255.255.255.0, dhcp: { ranges: [{ start: 192.168.30.50, end: 192.168.30.200 }] } }, state: active, autostart: true }\n`,
    );
    const r = await kvmnet(['run', net, '-i', inventory()]);
    expect(r.code, show(r)).toBe(0);
    expect(await tables()).toContain('ip libvirt_network');
    libvirtBefore = await libvirtRules();
    expect(libvirtBefore.filter((l) => l.startsWith('ip guest_input ')).length).toBeGreaterThanOrEqual(2);

    writeFileSync(
      script(),
      '#!/bin/sh\ncase "$1" in bound|renew) ip addr flush dev "$interface"; ip addr add "$ip/$subnet" dev "$interface"; ip route replace default via "${router%% *}";; esac\nexit 0\n',
    );
    chmodSync(script(), 0o755);
    for (const g of GUESTS) {
      await sh(['ip', 'netns', 'add', ns(g)]);
      await sh(['ip', 'link', 'add', veth(g), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns(g)]);
      await sh(['ip', 'link', 'set', veth(g), 'netns', host().netns]);
      await sh(['ip', '-n', ns(g), 'link', 'set', 'eth0', 'address', g.mac]);
      await sh(['ip', '-n', ns(g), 'link', 'set', 'eth0', 'up']);
      await sh(['ip', '-n', ns(g), 'link', 'set', 'lo', 'up']);
      await plugIn(g);
    }
  });

  it('--check --diff shows the nftables rules, and changes nothing', async () => {
    const r = await kvmnet(['run', PLAYBOOK, '-i', inventory(), '--check', '--diff'], { env: { CI: '1' } });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain(`+ nft-dnat fib daddr type local tcp dport 2222 dnat to 192.168.30.11:22 comment "${TAG}"`);
    expect(r.stdout).toContain(`+ nft-accept ip daddr 192.168.30.11 oifname "br10" tcp dport 22 ct status dnat accept comment "${TAG}"`);
    expect(await tables()).not.toContain('ip kvmnet_pf');
    expect(await ourAccepts()).toEqual([]);
  });

  it('converges: kvmnet’s table and its accept on top of libvirt’s forward chain, libvirt’s rules untouched; then idempotent', async () => {
    const r = await kvmnet(['run', PLAYBOOK, '-i', inventory(), '--output', 'json']);
    expect(r.code, show(r)).toBe(0);
    expect(summaryOf(r).hosts.map((h) => [h.host, h.changed, h.failed])).toEqual([[HOST, 4, 0]]);
    const ours = (await nftRuleset()).flatMap((i) => (i.rule && i.rule.table === 'kvmnet_pf' ? [i.rule] : []));
    expect(ours.map((x) => [x.family, x.chain, x.comment])).toEqual([['ip', 'prerouting', TAG]]);
    expect(JSON.stringify(ours[0]!.expr)).toContain('"dnat":{"addr":"192.168.30.11","port":22}');
    expect(await ourAccepts()).toEqual([TAG]);
    expect(await oursFirst()).toBe(true);
    expect(await libvirtRules()).toEqual(libvirtBefore);
    const again = await kvmnet(['run', PLAYBOOK, '-i', inventory(), '--output', 'json']);
    expect(summaryOf(again).hosts.map((h) => [h.host, h.changed, h.failed])).toEqual([[HOST, 0, 0]]);
  });

  it('each guest gets its reserved address from libvirt’s dnsmasq', async () => {
    for (const g of GUESTS) {
      const r = await spawnCollect(
        ['ip', 'netns', 'exec', ns(g), 'busybox', 'udhcpc', '-i', 'eth0', '-n', '-q', '-f', '-t', '10', '-T', '2', '-s', script(), '-x', `hostname:${g.name}`],
        { timeoutMs: 60_000 },
      );
      expect(r.code, show(r)).toBe(0);
      const addrs = JSON.parse(await sh(['ip', '-n', ns(g), '-j', 'addr', 'show', 'dev', 'eth0'])) as Array<{
        addr_info: Array<{ family: string; local: string }>;
      }>;
      expect(addrs[0]!.addr_info.filter((a) => a.family === 'inet').map((a) => a.local)).toEqual([g.ip]);
    }
    const f = await kvmnet(['facts', '-i', inventory(), '--output', 'json']);
    expect(f.code, show(f)).toBe(0);
    expect(f.stdout).toMatch(/"host_ports":"2222","guest":"192.168.30.11:22","guest_name":"web1","source":"any","active":true/);
  });

  it('a TCP connection from outside hv1 to its port 2222 reaches web1’s port 22', async () => {
    const l = spawn('ip', ['netns', 'exec', ns(GUESTS[0]), 'busybox', 'nc', '-ll', '-p', '22', '-e', '/bin/echo', 'hello from web1'], { stdio: 'ignore' });
    listeners.push(l);
    expect(await reachesWeb1()).toContain('hello from web1');
    expect((await tryConnect(2223)).kind).toBe('refused');
  });

  it('still reaches web1 after virsh net-destroy + net-start (libvirt leaves its forward chain’s jumps, and kvmnet’s accept above them, alone)', async () => {
    await inHost(['virsh', 'net-destroy', 'net10']);
    await inHost(['virsh', 'net-start', 'net10']);
    for (const g of GUESTS) await plugIn(g);
    expect(await oursFirst()).toBe(true);
    expect(await reachesWeb1()).toContain('hello from web1');
  });

  it('still reaches web1 after libvirtd restarts (libvirt re-creates its guest_* rules, not its forward chain’s jumps)', async () => {
    // net10's rules (by the bridge's name; rules libvirt lost track of show an old ifindex, see docs/guests.md).
    const net10Input = async () => (await libvirtChain('guest_input')).filter((r) => JSON.stringify(r.expr).includes('"br10"')).map((r) => r.handle);
    const handlesBefore = await net10Input();
    expect(handlesBefore).toHaveLength(2);
    await restartLibvirtd();
    await hookSettled();
    // libvirt did re-create its rules (new handles); kvmnet's accept is still above its jumps.
    const handlesAfter = await net10Input();
    expect(handlesAfter).toHaveLength(2);
    expect(handlesAfter.some((h) => handlesBefore.includes(h))).toBe(false);
    expect(await oursFirst()).toBe(true);
    expect(await reachesWeb1()).toContain('hello from web1');
  });

  it('still reaches web1 after the ruleset was flushed and libvirtd restarted: libvirt makes its table again, kvmnet’s daemon hook puts the forward back', async () => {
    await inHost(['nft', 'flush', 'ruleset']);
    expect(await tables()).toEqual([]);
    await restartLibvirtd();
    const settledMs = await hookSettled();
    expect(await tables()).toEqual(expect.arrayContaining(['ip libvirt_network', 'ip kvmnet_pf']));
    expect(await ourAccepts()).toEqual([TAG]);
    expect(await oursFirst()).toBe(true);
    expect(await reachesWeb1()).toContain('hello from web1');
    console.log(`[nat-nft] daemon hook settled ${settledMs} ms after lab up restarted libvirtd`);
  });

  it('state: absent removes the forward (refused again), kvmnet’s table, accept and hooks, and leaves libvirt’s table exactly as it was', async () => {
    const libvirtNow = await libvirtRules();
    const absent = writePlaybook(
      'absent',
      `- hosts: ${HOST}\n  tasks:\n    - ensure_port_forward: { network: net10, guest_mac: "52:54:00:30:00:11", host_port: 2222, guest_port: 22, state: absent }\n`,
    );
    const check = await kvmnet(['run', absent, '-i', inventory(), '--check', '--diff'], { env: { CI: '1' } });
    expect(check.stdout).toContain(`- live: nft-accept ip daddr 192.168.30.11 oifname "br10" tcp dport 22 ct status dnat accept comment "${TAG}"`);
    const r = await kvmnet(['run', absent, '-i', inventory(), '--output', 'json']);
    expect(r.code, show(r)).toBe(0);
    expect(summaryOf(r).hosts.map((h) => [h.host, h.changed, h.failed])).toEqual([[HOST, 1, 0]]);
    expect(await waitFor('the forward to be gone', async () => ((await tryConnect(2222)).kind === 'refused' ? true : undefined), 10_000)).toBe(true);
    expect(await tables()).not.toContain('ip kvmnet_pf');
    expect(await ourAccepts()).toEqual([]);
    expect(await libvirtRules()).toEqual(libvirtNow);
    const files = await inHost([
      'sh',
      '-c',
      'ls /etc/libvirt/hooks/network.d /etc/libvirt/hooks/daemon.d 2>/dev/null; ls -d /etc/libvirt/hooks/kvmnet-port-forwards 2>/dev/null; true',
    ]);
    expect(files).not.toContain('kvmnet');
    console.log(`[nat-nft] ${tries.attempts} connections tried to reach web1`);
  });
});
