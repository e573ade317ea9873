// Helpers of the rollout and safety e2e tests: a lab of 6 hosts (the shared lab has 3), an
// inventory of those 6 with extra host vars, marker files inside the hosts (written by `command`
// tasks, read through the host's namespace holder), "was this host contacted?", a kvmnet run in
// the background, and putting the management path of a host back by hand.
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import YAML from 'yaml';
import { labPaths } from '../../../src/lab/index.js';
import type { Result } from '../exec.js';
import {
  inHost,
  inventory,
  jsonEvents,
  kvmnet,
  labDir,
  labHost,
  labState,
  resetHost,
  scratchDir,
  show,
  waitFor as sharedWaitFor,
  type LabHost,
} from '../helpers.js';

export { sleep } from '../helpers.js';

// context.ts types only hv1-hv3 (the shared lab's size); the helpers find any host in lab.json.
export const FLEET = ['hv1', 'hv2', 'hv3', 'hv4', 'hv5', 'hv6'] as unknown as readonly LabHost[];
export const hv = (i: number): LabHost => `hv${i}` as LabHost;

/**
 * Grows the shared lab to N hosts (`lab up -n N` keeps the existing ones). `lab up` rewrites the
 * shared inventory with every host; it is put back as it was, because other test files run
 * playbooks on "all hosts of the shared inventory" and count them. These tests use fleetInventory().
 */
export async function growLab(n = FLEET.length): Promise<void> {
  if (labState().hosts.length >= n) return;
  const shared = inventory();
  const before = readFileSync(shared, 'utf8');
  let r: Result;
  try {
    r = await kvmnet(['lab', 'up', '--dir', labDir(), '-n', String(n)], { timeoutMs: 240_000 });
  } finally {
    writeFileSync(shared, before);
  }
  if (r.code !== 0) throw new Error(`could not grow the lab to ${n} hosts: ${show(r)}`);
  const names = labState().hosts.map((h) => h.name);
  for (const h of FLEET.slice(0, n)) if (!names.includes(h)) throw new Error(`lab up -n ${n} did not make ${h}: ${names.join(',')}`);
}

/**
 * An inventory of the lab's hosts (all of them, from lab.json) in group `lab`, with the shared
 * inventory's connection vars, plus HOSTVARS per host. Written into a scratch dir; returns its path.
 */
export function fleetInventory(label: string, hostVars: Partial<Record<string, Record<string, unknown>>> = {}): string {
  const shared = YAML.parse(readFileSync(inventory(), 'utf8')) as { all?: { vars?: Record<string, unknown> } };
  const paths = labPaths(labDir());
  const vars = { user: 'root', ssh_key: paths.key, known_hosts: paths.knownHosts, ...(shared.all?.vars ?? {}) };
  const hosts = Object.fromEntries(
    [...labState().hosts].sort((a, b) => a.index - b.index).map((h) => [h.name, { host: h.address, ...(hostVars[h.name] ?? {}) }]),
  );
  const file = join(scratchDir(`inv-${label}`), 'inventory.yaml');
  writeFileSync(file, YAML.stringify({ all: { vars, children: { lab: { hosts } } } }));
  return file;
}

// ---- files inside a host ------------------------------------------------------------------------

/** PATH in host NAME's private mount namespace, seen from here through its namespace holder. */
export function hostPath(name: LabHost, path: string): string {
  const holder = labHost(name).holderPid;
  if (!holder) throw new Error(`${name}: no namespace holder in lab.json`);
  return `/proc/${holder}/root${path}`;
}

export function readHostFile(name: LabHost, path: string): string | undefined {
  const p = hostPath(name, path);
  return existsSync(p) ? readFileSync(p, 'utf8') : undefined;
}

/** Lines of a marker file that `command` tasks append to (empty when it does not exist). */
export function markerLines(name: LabHost, path: string): string[] {
  return (readHostFile(name, path) ?? '').split('\n').filter(Boolean);
}

export function removeHostFiles(names: readonly LabHost[], paths: readonly string[]): void {
  for (const n of names) for (const p of paths) rmSync(hostPath(n, p), { force: true });
}

// The lock preamble of the facts command writes who holds the host's run lock here: it exists only
// after a run gathered facts on that host. Removed before a run, its absence afterwards proves the
// run never contacted the host (beyond kvmnet's own word).
export const LOCK_OWNER = '/run/lock/kvmnet.owner';

export function forgetContacts(names: readonly LabHost[]): void {
  removeHostFiles(names, [LOCK_OWNER]);
}

export function contacted(name: LabHost): boolean {
  return existsSync(hostPath(name, LOCK_OWNER));
}

// ---- resetting hosts ----------------------------------------------------------------------------

// helpers.resetHost runs virsh five times per host; on this shared 2-core machine that is seconds per
// host, and these tests reset often. They never touch libvirt, so: put links, addresses, mgmt0 and
// its default route back with `ip` alone, look at the networks with ONE virsh, and fall back to the
// full resetHost only when the networks are not as `lab up` made them (another test file's leftovers).
// $1 lab address, $2 gateway, then files to remove.
const QUICK_RESET = String.raw`
export LC_ALL=C
addr=$1; gw=$2; shift 2
for l in $(ip -o link show | sed -n 's/^[0-9]*: \([^:@]*\)[:@].*/\1/p'); do
  case "$l" in lo|mgmt0|eth1|eth2) ;; *) ip link del "$l" 2>/dev/null ;; esac
done
for nic in eth1 eth2; do
  ip link set "$nic" nomaster && ip link set "$nic" down && ip address flush dev "$nic" || exit 1
done
ip link set mgmt0 nomaster && ip link set mgmt0 up && ip address replace "$addr/24" dev mgmt0 || exit 1
for a in $(ip -o address show dev mgmt0 scope global | awk '{print $4}'); do
  [ "$a" = "$addr/24" ] || ip address del "$a" dev mgmt0 || exit 1
done
ip route replace default via "$gw" dev mgmt0 || exit 1
rm -rf /run/kvmnet /etc/systemd/network/10-kvmnet-* /etc/network/interfaces.d/kvmnet-* "$@"
echo "@@nets@@$(virsh -q net-list --all | awk '{$1=$1; print}' | tr '\n' ';')"
ip -j -d link show; echo @@sep@@; ip -j address show; echo @@sep@@; ip -j -4 route show default
`;

const FRESH_NETS = 'default inactive no yes;';

interface QuickState {
  nets: string;
  links: Array<{ ifname: string; master?: string; flags: string[] }>;
  addrs: Array<{ ifname: string; addr_info: Array<{ local: string; prefixlen: number; scope: string }> }>;
  routes: Array<{ gateway?: string; dev: string }>;
}

async function quickReset(name: LabHost, files: readonly string[]): Promise<QuickState> {
  const r = await inHost(name, ['sh', '-c', QUICK_RESET, 'reset', labHost(name).address, labState().subnet.gateway, ...files]);
  const [, nets = '', rest = ''] = /@@nets@@(.*)\n([\s\S]*)$/.exec(r.stdout) ?? [];
  const [l = '[]', a = '[]', rt = '[]'] = rest.split('@@sep@@\n');
  return { nets, links: JSON.parse(l.trim() || '[]'), addrs: JSON.parse(a.trim() || '[]'), routes: JSON.parse(rt.trim() || '[]') };
}

/**
 * Puts hosts back to how `lab up` made them (mgmt0 released with its address and default route,
 * every other link gone, eth1/eth2 released and down, no libvirt network but `default`, no
 * persistence files), removes FILES in them and the lock-owner file, and checks the result. Also
 * kills a rollback timer a failed test may have left armed (it would "restore" the host later).
 */
export async function resetFleet(names: readonly LabHost[], files: readonly string[] = []): Promise<void> {
  await Promise.all(
    names.map(async (name) => {
      killHostProcesses(name, (cmdline) => cmdline.includes('/run/kvmnet/confirm-'));
      let st = await quickReset(name, [...files, LOCK_OWNER]);
      if (st.nets !== FRESH_NETS) {
        await resetHost(name);
        st = await quickReset(name, []);
      }
      const address = `${labHost(name).address}/24`;
      const global = (dev: string) =>
        (st.addrs.find((x) => x.ifname === dev)?.addr_info ?? []).filter((x) => x.scope === 'global').map((x) => `${x.local}/${x.prefixlen}`);
      expect(st.nets, `${name}: libvirt networks`).toBe(FRESH_NETS);
      expect(
        st.links.map((x) => [x.ifname, x.master ?? null, x.ifname === 'lo' || x.ifname === 'mgmt0' ? true : x.flags.includes('UP')]).sort(),
        `${name}: links`,
      ).toEqual(
        [
          ['eth1', null, false],
          ['eth2', null, false],
          ['lo', null, true],
          ['mgmt0', null, true],
        ].sort(),
      );
      expect(global('mgmt0'), `${name}: mgmt0 addresses`).toEqual([address]);
      expect([...global('eth1'), ...global('eth2')], `${name}: eth1/eth2 addresses`).toEqual([]);
      expect(
        st.routes.map((x) => [x.gateway, x.dev]),
        `${name}: default route`,
      ).toEqual([[labState().subnet.gateway, 'mgmt0']]);
    }),
  );
}

/**
 * Processes of host NAME (not its namespace holder, sshd or libvirtd), with their command lines.
 * Lab hosts share the machine's PID namespace, so they are found by their network namespace, never
 * by name (which would find other labs' processes too).
 */
export function hostProcesses(name: LabHost): Array<{ pid: number; cmdline: string }> {
  const ino = statSync(`/run/netns/${labHost(name).netns}`).ino;
  const daemons = new Set([labHost(name).holderPid, labHost(name).sshdPid, labHost(name).libvirtdPid, process.pid]);
  const found: Array<{ pid: number; cmdline: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      if (daemons.has(pid) || statSync(`/proc/${pid}/ns/net`).ino !== ino) continue;
      found.push({ pid, cmdline: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ') });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** SIGKILLs the processes of host NAME whose command line MATCH selects (with their process group when they lead one). */
export function killHostProcesses(name: LabHost, match: (cmdline: string) => boolean): number[] {
  const victims = hostProcesses(name).filter((p) => match(p.cmdline));
  for (const { pid } of victims) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
  return victims.map((p) => p.pid);
}

// ---- kvmnet output ------------------------------------------------------------------------------

export interface TaskEventJson {
  event: 'task';
  host: string;
  play: string;
  task: string;
  type: string;
  outcome: string;
  message: string;
  changes: string[];
}

export interface SummaryJson {
  hosts: Array<{
    host: string;
    ok: number;
    changed: number;
    failed: number;
    skipped: number;
    unreachable: number;
    rolled_back: number;
    error?: string;
    batch?: number;
  }>;
  notTouched: string[];
  check: boolean;
}

/** `kvmnet run … --output json`, parsed: every event, the task events, the summary. */
export async function runJson(
  args: readonly string[],
  opts: { timeoutMs?: number } = {},
): Promise<{ r: Result; events: Array<Record<string, unknown>>; tasks: TaskEventJson[]; summary: SummaryJson }> {
  const r = await kvmnet(['run', ...args, '--output', 'json'], { timeoutMs: opts.timeoutMs ?? 150_000 });
  const events = jsonEvents(r.stdout);
  const summary = events.find((e) => e.event === 'summary') as unknown as SummaryJson | undefined;
  if (!summary) throw new Error(`no summary in the JSON output:\n${show(r)}`);
  return { r, events, tasks: events.filter((e) => e.event === 'task') as unknown as TaskEventJson[], summary };
}

/** `[host, task, outcome]` of task events, in output order. */
export const outcomes = (tasks: TaskEventJson[]): Array<[string, string, string]> => tasks.map((t) => [t.host, t.task, t.outcome]);

/** waitFor with a longer default: rollout tests wait on whole fleets. */
export function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 60_000, intervalMs = 50): Promise<NonNullable<T>> {
  return sharedWaitFor(what, fn, timeoutMs, intervalMs);
}
