import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { LabError } from '../errors.js';
import { ensureLabKey, writeLabFiles } from './lab-files.js';
import { acquireLock } from './lock.js';
import {
  DEFAULT_HOSTS,
  DEFAULT_PREFIX,
  bridgeName,
  hostAddress,
  hostName,
  netnsName,
  rootLinkNames,
  subnetForPrefix,
  validateCount,
  validatePrefix,
} from './names.js';
import { startGuest } from './guest.js';
import { hostHealth, readDaemonPids, startHolder, startLibvirtd, startSshd, waitForSsh } from './host.js';
import { prepareHostDir } from './host-files.js';
import { preflight } from './preflight.js';
import { netnsInode, pidsInNetns, terminate } from './processes.js';
import { assertSubnetFree, attachToBridge, configureHostNet, createHostLinks, deleteLinksAndNetns, ensureBridge, prefixLeftovers } from './root-net.js';
import { hasLabState, labPaths, readLabState, writeLabState, type LabHostState, type LabState } from './state.js';
import { labUpVm } from './vm-up.js';
import { BACKPORTS_NETWORK_CONF, TC_WRAPPER, backportsMounts, ensureBackportsLibvirt, type LabLibvirt } from './libvirt-backports.js';
import type { HostLibvirt } from './host-files.js';
import type { LabManager } from './state.js';

export interface LabOptions {
  dir: string;
  /** Number of hosts (default 3). A larger number grows the lab; existing hosts are never removed by `up`. */
  n?: number;
  /** Prefix of every name the lab creates in the root namespace (default `kvl`). */
  prefix?: string;
  /** Hosts that get a tiny running guest on `default` (see guest.ts). */
  guests?: string[];
  /** `netns` (default): hosts are network namespaces. `vm`: QEMU VMs with their own kernel (vm-up.ts). */
  kernel?: LabKernel;
  /** `backports`: hosts this `up` creates run bookworm-backports' libvirt (nftables firewall backend). */
  libvirt?: LabLibvirt;
  /** VM labs: the switch joins its host ports' untagged traffic to the management VLAN (vm-up.ts). */
  untaggedMgmt?: boolean;
  /** VM labs: `systemd` hosts keep /etc on a disk and can reboot (vm-systemd.ts). */
  init?: 'busybox' | 'systemd';
  /** With `init: systemd`: the hosts' network manager (vm-managers.ts). */
  manager?: LabManager;
}

export type LabKernel = 'netns' | 'vm';

// A host costs ~0.4 s of CPU (about 20 short-lived processes, libvirtd's start): more
// parallelism than this only makes them fight over the CPUs.
const HOST_CONCURRENCY = 8;

type Plan = { host: LabHostState; action: 'keep' | 'create' | 'restart' };

export async function labUp(opts: LabOptions, log: (line: string) => void = () => {}): Promise<LabState> {
  const started = Date.now();
  const paths = labPaths(opts.dir);
  if (opts.kernel === 'vm' || (opts.kernel === undefined && hasLabState(paths.dir) && readLabState(paths.dir).vm)) {
    // A guest runs inside a namespace host's libvirtd; VM hosts would need nested TCG (far too slow here).
    if (opts.guests?.length) throw new LabError('--guest needs namespace hosts (not --kernel vm)');
    if (opts.libvirt === 'backports') throw new LabError('--libvirt backports needs namespace hosts (not --kernel vm)');
    return labUpVm({ dir: opts.dir, n: opts.n, prefix: opts.prefix, untaggedMgmt: opts.untaggedMgmt, init: opts.init, manager: opts.manager }, log);
  }
  if (opts.init === 'systemd' || opts.manager) throw new LabError('--init systemd and --manager need a VM lab (--kernel vm)');
  if (opts.untaggedMgmt) throw new LabError('--untagged-mgmt needs a VM lab (--kernel vm): namespace hosts have no lab switch');
  await preflight();
  const existing = hasLabState(paths.dir) ? readLabState(paths.dir) : null;
  if (existing?.vm) throw new LabError(`${paths.dir} holds a VM lab; run \`kvmnet lab down\` first or use another dir`);
  if (existing && opts.prefix !== undefined && opts.prefix !== existing.prefix) {
    throw new LabError(`${paths.dir} already holds a lab with prefix ${existing.prefix}; run \`kvmnet lab down\` first or use another dir`);
  }
  const prefix = validatePrefix(opts.prefix ?? existing?.prefix ?? DEFAULT_PREFIX);
  const wanted = validateCount(opts.n ?? DEFAULT_HOSTS);
  const bridge = bridgeName(prefix);

  const createdDir = existing ? existing.createdDir : !existsSync(paths.dir);
  mkdirSync(paths.dir, { recursive: true });
  const unlock = acquireLock(paths.lock);
  try {
    if (!existing) {
      const left = await prefixLeftovers(prefix);
      if (left.links.length + left.netns.length > 0) {
        throw new LabError(
          `the lab prefix ${prefix} is already in use (${[...left.netns, ...left.links].slice(0, 6).join(', ')}): ` +
            'another lab dir owns it; run `kvmnet lab down` there or choose another prefix',
        );
      }
    }
    const subnet = existing?.subnet ?? subnetForPrefix(prefix);
    await assertSubnetFree(subnet, bridge);
    ensureLabKey(paths);
    const labPublicKey = readFileSync(`${paths.key}.pub`, 'utf8');

    const state: LabState = existing ?? { version: 1, dir: paths.dir, prefix, subnet, bridge, createdDir, hosts: [] };
    const count = Math.max(wanted, ...state.hosts.map((h) => h.index));
    const plans: Plan[] = [];
    for (let i = 1; i <= count; i++) {
      let host = state.hosts.find((h) => h.index === i);
      if (!host) {
        host = {
          name: hostName(i),
          index: i,
          netns: netnsName(prefix, i),
          address: hostAddress(subnet, i),
          holderPid: null,
          sshdPid: null,
          libvirtdPid: null,
          links: Object.values(rootLinkNames(prefix, i)),
          dir: join(paths.hostsDir, hostName(i)),
          ...(opts.libvirt === 'backports' ? { libvirt: 'backports' as const } : {}),
        };
        state.hosts.push(host);
        plans.push({ host, action: 'create' });
        continue;
      }
      const health = hostHealth(host);
      if (health.holder && health.sshd && health.libvirtd) plans.push({ host, action: 'keep' });
      else if (health.holder) plans.push({ host, action: 'restart' });
      else plans.push({ host, action: 'create' });
    }
    // Recorded before anything is created, so `down` can clean up after a failed `up`.
    writeLabState(state);

    await ensureBridge(bridge, subnet);
    const kept = plans.filter((p) => p.action !== 'create').map((p) => rootLinkNames(prefix, p.host.index).mgmt0);
    await attachToBridge(bridge, kept);
    const toCreate = plans.filter((p) => p.action === 'create').map((p) => p.host);
    await removeHosts(toCreate);
    await createHostLinks(prefix, bridge, subnet, toCreate);

    // Hosts (re)created with the backports libvirt: unpacked once into the machine's cache.
    let backports: HostLibvirt | undefined;
    if (plans.some((p) => p.action === 'create' && p.host.libvirt === 'backports')) {
      const root = await ensureBackportsLibvirt(log);
      backports = { mounts: backportsMounts(root), networkConf: BACKPORTS_NETWORK_CONF, tcWrapper: TC_WRAPPER };
    }
    const limit = pLimit(HOST_CONCURRENCY);
    const results = await Promise.allSettled(
      plans.map((plan) =>
        limit(async () => {
          const t0 = Date.now();
          if (plan.action === 'keep') return log(`${plan.host.name}: ok (${plan.host.address})`);
          if (plan.action === 'create') await createHost(plan.host, subnet, labPublicKey, plan.host.libvirt === 'backports' ? backports : undefined);
          else await restartDaemons(plan.host);
          log(`${plan.host.name}: ${plan.action === 'create' ? 'created' : 'restarted daemons'} (${plan.host.address}, ${Date.now() - t0} ms)`);
        }),
      ),
    );
    writeLabState(state);
    const failed = results.flatMap((r, i) => {
      if (r.status === 'fulfilled') return [];
      const name = plans[i]!.host.name;
      const text = errorText(r.reason);
      return [text.startsWith(`${name}:`) ? text : `${name}: ${text}`];
    });
    if (failed.length > 0) throw new LabError(`lab up failed for ${failed.length} host(s):\n${failed.join('\n')}`);

    writeLabFiles(state, paths);
    await startGuests(state, opts.guests ?? [], log);
    writeLabState(state);
    log(`lab ${prefix} up: ${state.hosts.length} host(s) on ${subnet.cidr} in ${Date.now() - started} ms; inventory ${paths.inventory}`);
    return state;
  } finally {
    unlock();
    // A first `up` that failed before recording anything leaves no trace.
    if (!existing && !hasLabState(paths.dir)) {
      for (const f of [paths.key, `${paths.key}.pub`]) rmSync(f, { force: true });
      if (createdDir) rmSync(paths.dir, { recursive: true, force: true });
    }
  }
}

async function startGuests(state: LabState, names: string[], log: (line: string) => void): Promise<void> {
  const hosts = [...new Set(names)].map((n) => {
    const host = state.hosts.find((h) => h.name === n);
    if (!host) throw new LabError(`--guest ${n}: no such host in the lab (${state.hosts.map((h) => h.name).join(', ')})`);
    return host;
  });
  // qemu under TCG is CPU-hungry while it starts: one guest at a time.
  for (const host of hosts) {
    const g = await startGuest(host);
    log(`${host.name}: guest ${g.name} ${g.already ? 'already running' : `started in ${g.ms} ms`} (tap ${g.tap} on network default)`);
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Clears whatever a host left behind (a dead holder's netns, links, stray processes) before it is made again. */
async function removeHosts(hosts: LabHostState[]): Promise<void> {
  const pids = hosts.flatMap((h) => {
    const inode = netnsInode(h.netns);
    return inode === null ? [] : pidsInNetns(inode);
  });
  await terminate(pids);
  await deleteLinksAndNetns(
    hosts.flatMap((h) => h.links),
    hosts.map((h) => h.netns),
  );
}

async function createHost(host: LabHostState, subnet: LabState['subnet'], labPublicKey: string, libvirt?: HostLibvirt): Promise<void> {
  host.holderPid = host.sshdPid = host.libvirtdPid = null;
  prepareHostDir(host.dir, host.name, host.address, labPublicKey, libvirt);
  await configureHostNet(host.netns, subnet, host.index);
  host.holderPid = await startHolder(host.netns, host.dir, host.name);
  await readDaemonPids(host, host.holderPid);
  await waitForSsh(host);
}

async function restartDaemons(host: LabHostState): Promise<void> {
  const holder = host.holderPid;
  if (holder === null) throw new LabError(`${host.name}: no namespace holder`);
  const health = hostHealth(host);
  await Promise.all([
    health.sshd ? undefined : startSshd(host, holder).then((pid) => (host.sshdPid = pid)),
    health.libvirtd ? undefined : startLibvirtd(host, holder).then((pid) => (host.libvirtdPid = pid)),
  ]);
  await waitForSsh(host);
}
