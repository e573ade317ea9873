// Helpers of the e2e tests: run kvmnet, run commands inside a lab host, read the host's REAL
// state (ip -j, virsh) and put a host back to fresh by hand. Assertions read the kernel and
// libvirt through these, never only kvmnet's own report.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { expect, inject } from 'vitest';
import { hostCommand, labPaths, readLabState, type LabHostState, type LabState } from '../../src/lab/index.js';
import './context.js';
import { LAB_HOSTS, type LabHost } from './context.js';
import { kvmnet as runKvmnet, show, spawnCollect, type Result, type SpawnOptions } from './exec.js';

export { LAB_HOSTS, show, type LabHost, type Result };

export const labDir = (): string => inject('labDir');
export const labPrefix = (): string => inject('labPrefix');
/** Re-read each time: `lab up` may restart daemons (new pids) during a test. */
export const labState = (): LabState => readLabState(labDir());
export const inventory = (): string => labPaths(labDir()).inventory;
export const REPO_PLAYBOOKS = new URL('../../playbooks/', import.meta.url).pathname;
export const BRIDGED = join(REPO_PLAYBOOKS, 'bridged.yaml');
export const NAT = join(REPO_PLAYBOOKS, 'nat-network.yaml');

export function labHost(name: LabHost): LabHostState {
  const h = labState().hosts.find((x) => x.name === name);
  if (!h) throw new Error(`no lab host ${name}`);
  return h;
}

/** `node bin/kvmnet.js ARGS` with CI=true. */
export function kvmnet(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Result> {
  return runKvmnet(args, opts);
}

/** A scratch dir for this test file (under the run's tmp dir, removed at teardown). */
export function scratchDir(label: string): string {
  return mkdtempSync(join(inject('e2eTmp'), `${label}-`));
}

/**
 * bridged.yaml and nat-network.yaml as ONE playbook of two plays (one kvmnet process and one SSH
 * connection per host instead of two): for setting hosts up, not for the tests of either playbook.
 */
export function bothPlaybooks(): string {
  return writePlaybook('both', `${readFileSync(BRIDGED, 'utf8')}\n${readFileSync(NAT, 'utf8')}`);
}

/** Converges HOSTS with bridged.yaml and nat-network.yaml, checking the run succeeded. */
export async function convergeBoth(hosts: readonly LabHost[]): Promise<void> {
  const r = await kvmnet(['run', bothPlaybooks(), '-i', inventory(), '--limit', hosts.join(',')]);
  expect(r.code, show(r)).toBe(0);
}

/** Writes a playbook into a scratch dir (a failed run writes its .retry beside it, not in the repo). */
export function writePlaybook(label: string, yaml: string): string {
  const file = join(scratchDir(label), `${label}.yaml`);
  writeFileSync(file, yaml);
  return file;
}

// ---- commands inside a host ---------------------------------------------------------------

/** Runs ARGV inside host NAME's namespaces (hostCommand: nsenter into its holder). Throws on a non-zero exit unless check is false. */
export async function inHost(name: LabHost, argv: readonly string[], opts: SpawnOptions & { check?: boolean } = {}): Promise<Result> {
  const r = await spawnCollect([...hostCommand(labState(), name), ...argv], {
    timeoutMs: 60_000,
    ...opts,
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', HOME: '/root', ...opts.env },
  });
  if (opts.check !== false && r.code !== 0) throw new Error(`${name}: ${argv.join(' ')} failed: ${show(r)}`);
  return r;
}

/** JSON of `ip -j ARGS` inside the host. */
export async function ipJson<T = IpLink[]>(name: LabHost, args: readonly string[]): Promise<T> {
  const r = await inHost(name, ['ip', '-j', ...args]);
  return JSON.parse(r.stdout.trim() || '[]') as T;
}

/** stdout of `virsh ARGS` inside the host (throws on failure unless check is false). */
export async function virsh(name: LabHost, args: readonly string[], opts: { check?: boolean } = {}): Promise<string> {
  return (await inHost(name, ['virsh', ...args], opts)).stdout;
}

// ---- reading real state ---------------------------------------------------------------------

export interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  operstate: string;
  master?: string;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown>; info_slave_kind?: string };
}

export interface IpAddrLink {
  ifname: string;
  addr_info: Array<{ family: string; local: string; prefixlen: number; scope: string }>;
}

export async function links(name: LabHost): Promise<IpLink[]> {
  return ipJson<IpLink[]>(name, ['-d', 'link', 'show']);
}

export async function link(name: LabHost, ifname: string): Promise<IpLink | undefined> {
  return (await links(name)).find((l) => l.ifname === ifname);
}

export const isUp = (l: IpLink | undefined): boolean => Boolean(l?.flags.includes('UP'));

/** Global IPv4/IPv6 addresses of DEV as `a.b.c.d/len` (from `ip -j addr`). */
export async function addresses(name: LabHost, dev: string): Promise<string[]> {
  const all = await ipJson<IpAddrLink[]>(name, ['addr', 'show']);
  const l = all.find((x) => x.ifname === dev);
  return (l?.addr_info ?? []).filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`);
}

export interface NetInfo {
  active: boolean;
  persistent: boolean;
  autostart: boolean;
  bridge?: string;
  uuid?: string;
}

/** `virsh net-info NET`, or undefined when the network is not defined. */
export async function netInfo(name: LabHost, net: string): Promise<NetInfo | undefined> {
  const r = await inHost(name, ['virsh', 'net-info', net], { check: false });
  if (r.code !== 0) {
    if (/failed to get network|Network not found/i.test(r.stderr)) return undefined;
    throw new Error(`${name}: virsh net-info ${net}: ${show(r)}`);
  }
  const kv = Object.fromEntries(
    r.stdout
      .split('\n')
      .map((l) => /^([^:]+):\s*(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!.trim().toLowerCase(), m[2]!.trim()]),
  ) as Record<string, string>;
  return { active: kv.active === 'yes', persistent: kv.persistent === 'yes', autostart: kv.autostart === 'yes', bridge: kv.bridge, uuid: kv.uuid };
}

export interface NetListEntry {
  name: string;
  state: string;
  autostart: boolean;
  persistent: boolean;
}

/** `virsh net-list --all`, parsed. */
export async function netList(name: LabHost): Promise<NetListEntry[]> {
  return parseNetList(await virsh(name, ['-q', 'net-list', '--all']));
}

function parseNetList(out: string): NetListEntry[] {
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [n, state, autostart, persistent] = l.split(/\s+/);
      return { name: n!, state: state!, autostart: autostart === 'yes', persistent: persistent === 'yes' };
    });
}

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseAttributeValue: false,
  isArray: (tag) => tag === 'range' || tag === 'host' || tag === 'ip',
});

/** `virsh net-dumpxml NET` parsed into a plain object (attributes as properties). */
export async function netXml(name: LabHost, net: string, opts: { inactive?: boolean } = {}): Promise<NetXml> {
  const out = await virsh(name, ['net-dumpxml', ...(opts.inactive ? ['--inactive'] : []), net]);
  return (xml.parse(out) as { network: NetXml }).network;
}

export interface NetXml {
  name: string;
  uuid?: string;
  forward?: { mode?: string; nat?: { port?: { start: string; end: string } } };
  bridge?: { name?: string; stp?: string; delay?: string };
  ip?: Array<{ address: string; netmask?: string; dhcp?: { range?: Array<{ start: string; end: string }> } }>;
}

/** Parses `--output json` (JSON Lines) of a run. */
export function jsonEvents(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export interface RunSummaryJson {
  hosts: Array<{ host: string; ok: number; changed: number; failed: number; skipped: number; unreachable: number; error?: string }>;
  check: boolean;
}

export function summaryOf(r: Result): RunSummaryJson {
  const s = jsonEvents(r.stdout).find((e) => e.event === 'summary');
  if (!s) throw new Error(`no summary event in the JSON output:\n${show(r)}`);
  return s as unknown as RunSummaryJson;
}

export function taskEvents(r: Result, host?: string): Array<{ host: string; task: string; outcome: string; message: string; changes: string[] }> {
  return jsonEvents(r.stdout).filter((e) => e.event === 'task' && (host === undefined || e.host === host)) as never;
}

// ---- fresh state ----------------------------------------------------------------------------

const FRESH_LINKS = ['lo', 'mgmt0', 'eth1', 'eth2'];

// By hand, in ONE process tree per host (every nsenter/virsh costs, and the machine is shared):
// $1 is the host's lab address (mgmt0 keeps only that one).
const RESET_SCRIPT = String.raw`
export LC_ALL=C
for n in $(virsh -q net-list --name); do virsh -q net-destroy "$n" >/dev/null || exit 1; done
for n in $(virsh -q net-list --all --name); do
  [ "$n" = default ] || virsh -q net-undefine "$n" >/dev/null || exit 1
done
# A fresh host has default defined (Debian's postinst), inactive and not autostarted.
virsh -q net-info default >/dev/null 2>&1 || virsh -q net-define /usr/share/libvirt/networks/default.xml >/dev/null || exit 1
virsh -q net-autostart --disable default >/dev/null || exit 1
for l in $(ip -o link show | sed -n 's/^[0-9]*: \([^:@]*\)[:@].*/\1/p'); do
  case "$l" in lo|mgmt0|eth1|eth2) ;; *) ip link del "$l" || exit 1 ;; esac
done
for nic in eth1 eth2; do
  ip link set "$nic" nomaster && ip link set "$nic" down && ip address flush dev "$nic" || exit 1
done
for a in $(ip -o address show dev mgmt0 scope global | awk '{print $4}'); do
  [ "$a" = "$1/24" ] || ip address del "$a" dev mgmt0 || exit 1
done
# Files a task with persist: networkd|ifupdown wrote (the lab starts with these dirs empty).
rm -rf /etc/systemd/network/10-kvmnet-* /etc/network/interfaces.d/kvmnet-*
`;

/**
 * Puts a host back to how `lab up` made it, BY HAND (ip, virsh through hostCommand; not through
 * kvmnet): networks other than `default` destroyed and undefined, `default` defined but stopped
 * and not autostarted, every link the tests made deleted, eth1/eth2 released, down and without
 * addresses, mgmt0 with only its lab address. Then checks the result.
 */
export async function resetHost(name: LabHost): Promise<void> {
  await inHost(name, ['sh', '-c', RESET_SCRIPT, 'reset', labHost(name).address]);
  await expectFresh(name);
}

export async function resetHosts(names: readonly LabHost[] = LAB_HOSTS): Promise<void> {
  await Promise.all(names.map((n) => resetHost(n)));
}

/** Links, addresses and libvirt networks of a host, read in one exec. */
export async function hostState(name: LabHost): Promise<{ links: IpLink[]; addrs: IpAddrLink[]; nets: NetListEntry[] }> {
  const sep = '@@e2e@@';
  const r = await inHost(name, ['sh', '-c', `ip -j -d link show; echo ${sep}; ip -j address show; echo ${sep}; virsh -q net-list --all`]);
  const [l = '', a = '', n = ''] = r.stdout.split(`${sep}\n`);
  return { links: JSON.parse(l.trim() || '[]') as IpLink[], addrs: JSON.parse(a.trim() || '[]') as IpAddrLink[], nets: parseNetList(n) };
}

const globalAddrs = (addrs: IpAddrLink[], dev: string) =>
  (addrs.find((x) => x.ifname === dev)?.addr_info ?? []).filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`);

/** The host is as `lab up` made it (what resetHost promises; also "nothing changed" after a check run). */
export async function expectFresh(name: LabHost): Promise<void> {
  const st = await hostState(name);
  expect(st.links.map((l) => l.ifname).sort(), `${name}: links`).toEqual([...FRESH_LINKS].sort());
  for (const nic of ['eth1', 'eth2']) {
    const l = st.links.find((x) => x.ifname === nic);
    expect(l?.master, `${name}: ${nic} master`).toBeUndefined();
    expect(isUp(l), `${name}: ${nic} up`).toBe(false);
    expect(globalAddrs(st.addrs, nic), `${name}: ${nic} addresses`).toEqual([]);
  }
  expect(globalAddrs(st.addrs, 'mgmt0'), `${name}: mgmt0 addresses`).toEqual([`${labHost(name).address}/24`]);
  expect(st.nets, `${name}: libvirt networks`).toEqual([{ name: 'default', state: 'inactive', autostart: false, persistent: true }]);
}

/**
 * What a converge must not disturb, from the kernel and libvirt: links with ifindex (a deleted and
 * recreated bridge gets a new one), master, UP flag and bridge STP settings; addresses; networks
 * with their uuid, state and live XML; the pid of each network's dnsmasq (a restart changes it).
 */
export async function snapshot(name: LabHost): Promise<unknown> {
  const st = await hostState(name);
  const ls = st.links.map((l) => ({
    ifindex: l.ifindex,
    ifname: l.ifname,
    master: l.master ?? null,
    up: isUp(l),
    stp_state: l.linkinfo?.info_kind === 'bridge' ? l.linkinfo.info_data?.stp_state : undefined,
    forward_delay: l.linkinfo?.info_kind === 'bridge' ? l.linkinfo.info_data?.forward_delay : undefined,
  }));
  const addrs = st.addrs.map((l) => ({ ifname: l.ifname, addrs: globalAddrs(st.addrs, l.ifname) }));
  const names = st.nets.map((n) => n.name);
  const xmls = (await inHost(name, ['sh', '-c', `for n in ${names.join(' ')}; do virsh net-dumpxml "$n"; done; cat /run/libvirt/network/*.pid`])).stdout;
  return { links: ls, addrs, nets: st.nets, xmlsAndPids: xmls };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls FN until it returns something truthy; throws naming WHAT after timeoutMs. */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 30_000, intervalMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
