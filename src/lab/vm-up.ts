// `kvmnet lab up --kernel vm`: hosts hv1…hvN and a lab switch as QEMU VMs with their own kernel
// (bonding, 802.1Q, VLAN-filtering bridges), booted in parallel.
//
//   hvN: mgmt0 ── tap PREFIX-Nm ── lab bridge PREFIX-br (the lab subnet, gateway .1)
//        eth1/eth2 ── tap PREFIX-Na/b ══ tc ══ tap PREFIX-sNa/b ── switch hNa/hNb (802.3ad bondN)
//        eth3      ── tap PREFIX-Nc   ══ tc ══ tap PREFIX-sNc   ── switch hNc
//   sw:  mgmt0 (.254) ── tap PREFIX-sm ── lab bridge; uplink ── tap PREFIX-su ── lab bridge
//        br0 (vlan_filtering): bondN and hNc trunk VLANs 2-TRUNK_MAX_VLAN (VLAN 1 untagged), the
//        uplink is an access port of MGMT_VLAN: a host's bond0.10 is on the lab subnet, reachable from here.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../errors.js';
import { sshBanner } from './host.js';
import { ensureLabKey, writeLabFiles } from './lab-files.js';
import { acquireLock } from './lock.js';
import { bridgeName, hostAddress, hostName, subnetForPrefix, validatePrefix } from './names.js';
import { preflightVm } from './vm-preflight.js';
import { assertSubnetFree, ensureBridge, prefixLeftovers } from './root-net.js';
import { hasLabState, labPaths, readLabState, writeLabState, type LabHostState, type LabManager, type LabState } from './state.js';
import { assertVmPaths, createVmDisk, prepareVmDir, writeBootFiles } from './vm-boot.js';
import { managerPackageRoots } from './vm-managers.js';
import { setTapState, wireTaps } from './vm-net.js';
import {
  DEFAULT_VM_HOSTS,
  MGMT_VLAN,
  SWITCH_NAME,
  TRUNK_MAX_VLAN,
  hostNics,
  hostTap,
  hostWires,
  switchAddress,
  switchNics,
  switchPortTap,
  validateVmCount,
  type VmHostNic,
  type VmNic,
} from './vm-names.js';
import { consoleTail, isVmProcess, monitorCommand, startVm, stopVms, vmProcessesUnder } from './vm-qemu.js';

export interface VmLabOptions {
  dir: string;
  n?: number;
  prefix?: string;
  /**
   * The switch also bridges the untagged traffic of its host ports (their native VLAN 1) to VLAN
   * MGMT_VLAN: a host's plain eth1 (or untagged bond0) is then on the management network as its
   * bond0.10 is, so the management address can move from one to the other.
   */
  untaggedMgmt?: boolean;
  /** `systemd`: the hosts (not the switch) boot systemd, keep /etc and /var on a disk, and can reboot. */
  init?: 'busybox' | 'systemd';
  /** With `init: systemd`: the network stack the hosts run (default networkd). */
  manager?: LabManager;
}

const HOST_MEMORY_MB = 1024;
const SWITCH_MEMORY_MB = 384;
// Boot to sshd is ~5 s for one VM alone under TCG; several VMs share 2 CPUs.
const BOOT_TIMEOUT_MS = 240_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function labUpVm(opts: VmLabOptions, log: (line: string) => void = () => {}): Promise<LabState> {
  const started = Date.now();
  const paths = labPaths(opts.dir);
  assertVmPaths(paths.dir);
  const existing = hasLabState(paths.dir) ? readLabState(paths.dir) : null;
  if (existing) return checkExisting(existing, opts, log);
  const kernel = await preflightVm();
  if (opts.manager !== undefined && opts.init !== 'systemd') throw new LabError('--manager needs --init systemd (a manager runs under systemd)');
  const systemd =
    opts.init === 'systemd' ? { manager: opts.manager ?? 'networkd', pkgRoots: await managerPackageRoots(opts.manager ?? 'networkd', log) } : undefined;
  const prefix = validatePrefix(opts.prefix ?? 'kvl');
  const n = validateVmCount(opts.n ?? DEFAULT_VM_HOSTS);
  const bridge = bridgeName(prefix);
  const createdDir = !existsSync(paths.dir);
  mkdirSync(paths.dir, { recursive: true });
  const unlock = acquireLock(paths.lock);
  try {
    const left = await prefixLeftovers(prefix);
    if (left.links.length + left.netns.length > 0) {
      throw new LabError(
        `the lab prefix ${prefix} is already in use (${[...left.netns, ...left.links].slice(0, 6).join(', ')}): ` +
          'another lab dir owns it; run `kvmnet lab down` there or choose another prefix',
      );
    }
    const subnet = subnetForPrefix(prefix);
    await assertSubnetFree(subnet, bridge);
    ensureLabKey(paths);
    const labPublicKey = readFileSync(`${paths.key}.pub`, 'utf8');
    const vmDir = join(paths.dir, 'vm');
    const t0 = Date.now();
    const boot = await writeBootFiles(vmDir, kernel.release);
    log(`initramfs for ${kernel.release} built in ${Date.now() - t0} ms`);

    const indexes = Array.from({ length: n }, (_, k) => k + 1);
    const nicsOf = new Map<LabHostState, VmNic[]>();
    const hosts: LabHostState[] = indexes.map((i) => {
      const nics = hostNics(prefix, subnet, i);
      const host: LabHostState = {
        name: hostName(i),
        index: i,
        netns: '',
        address: hostAddress(subnet, i),
        holderPid: null,
        sshdPid: null,
        libvirtdPid: null,
        links: nics.map((x) => x.tap),
        dir: join(paths.hostsDir, hostName(i)),
        qemuPid: null,
        ...(systemd ? { init: 'systemd' as const, manager: systemd.manager } : {}),
      };
      nicsOf.set(host, nics);
      return host;
    });
    const swNics = switchNics(prefix, subnet, indexes);
    const sw: LabHostState = {
      name: SWITCH_NAME,
      index: 0,
      netns: '',
      address: switchAddress(subnet),
      holderPid: null,
      sshdPid: null,
      libvirtdPid: null,
      links: swNics.map((x) => x.tap),
      dir: join(paths.hostsDir, SWITCH_NAME),
      qemuPid: null,
    };
    nicsOf.set(sw, swNics);
    const state: LabState = {
      version: 1,
      dir: paths.dir,
      prefix,
      subnet,
      bridge,
      createdDir,
      hosts,
      vm: { kernel: kernel.kernel, initrd: boot.initrd, release: kernel.release, switch: sw },
    };
    // Recorded before anything is created, so `down` can clean up after a failed `up`.
    writeLabState(state);
    await ensureBridge(bridge, subnet);

    const vms = [sw, ...hosts];
    for (const vm of vms) {
      prepareVmDir(
        vm.dir,
        {
          name: vm.name,
          role: vm === sw ? 'switch' : 'host',
          address: vm.address,
          gateway: subnet.gateway,
          nics: nicsOf.get(vm)!,
          hostIndexes: vm === sw ? indexes : undefined,
          mgmtVlan: MGMT_VLAN,
          trunkMaxVlan: TRUNK_MAX_VLAN,
          untaggedMgmt: vm === sw && opts.untaggedMgmt === true,
          systemd: vm === sw ? undefined : systemd,
        },
        labPublicKey,
      );
    }
    const disks = new Map<LabHostState, string>();
    if (systemd) for (const h of hosts) disks.set(h, await createVmDisk(h.dir));
    // QEMU daemonizes once its devices exist: starting all first lets the guests boot in parallel.
    const bootStart = Date.now();
    for (const vm of vms) {
      vm.qemuPid = await startVm({
        dir: vm.dir,
        name: vm.name,
        kernel: kernel.kernel,
        initrd: boot.initrd,
        init: boot.init,
        memoryMb: vm === sw ? SWITCH_MEMORY_MB : HOST_MEMORY_MB,
        nics: nicsOf.get(vm)!,
        disk: disks.get(vm),
      });
      writeLabState(state);
    }
    const bridged = [...hosts.map((h) => hostTap(prefix, h.index, 'mgmt0')), swNics[0]!.tap, swNics[1]!.tap];
    await wireTaps(
      bridge,
      bridged,
      hosts.flatMap((h) => hostWires(prefix, h.index)),
    );
    log(`${vms.length} VMs started (QEMU, TCG) in ${Date.now() - bootStart} ms; waiting for their sshd`);

    const results = await Promise.allSettled(
      vms.map(async (vm) => {
        await waitForBoot(vm);
        log(`${vm.name}: up (${vm.address}, ${Date.now() - bootStart} ms after start)`);
      }),
    );
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : []));
    if (failed.length > 0) throw new LabError(`lab up failed for ${failed.length} VM(s):\n${failed.join('\n')}`);

    writeLabFiles(state, paths);
    log(
      `lab ${prefix} up (VMs, kernel ${kernel.release}): ${hosts.length} host(s) + switch on ${subnet.cidr} in ${Date.now() - started} ms; inventory ${paths.inventory}`,
    );
    return state;
  } finally {
    unlock();
    if (!hasLabState(paths.dir)) {
      for (const f of [paths.key, `${paths.key}.pub`]) rmSync(f, { force: true });
      if (createdDir) rmSync(paths.dir, { recursive: true, force: true });
    }
  }
}

async function waitForBoot(vm: LabHostState): Promise<void> {
  const deadline = Date.now() + BOOT_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!isVmProcess(vm.qemuPid, vm.dir)) throw new LabError(`${vm.name}: QEMU exited while booting; its console:\n${consoleTail(vm.dir)}`);
    // A generous banner timeout: under TCG sshd takes seconds to re-exec itself per connection.
    if (await sshBanner(vm.address, 10_000)) return;
    await sleep(200);
  }
  throw new LabError(`${vm.name}: sshd did not answer on ${vm.address}:22 within ${BOOT_TIMEOUT_MS / 1000} s; its console:\n${consoleTail(vm.dir)}`);
}

/** A VM lab is made whole or not at all: `up` again only checks it. */
function checkExisting(state: LabState, opts: VmLabOptions, log: (line: string) => void): LabState {
  if (!state.vm) throw new LabError(`${state.dir} already holds a namespace lab; run \`kvmnet lab down\` first or use another dir`);
  if (opts.prefix !== undefined && opts.prefix !== state.prefix) {
    throw new LabError(`${state.dir} already holds a lab with prefix ${state.prefix}; run \`kvmnet lab down\` first or use another dir`);
  }
  if (opts.n !== undefined && opts.n !== state.hosts.length) {
    throw new LabError(
      `a VM lab cannot grow or shrink (its switch has a fixed set of ports): run \`kvmnet lab down\`, then \`lab up --kernel vm -n ${opts.n}\``,
    );
  }
  const dead = [state.vm.switch, ...state.hosts].filter((vm) => !isVmProcess(vm.qemuPid, vm.dir));
  if (dead.length > 0) {
    throw new LabError(
      `VM(s) ${dead.map((v) => v.name).join(', ')} of the lab in ${state.dir} are not running: run \`kvmnet lab down\`, then \`lab up --kernel vm\``,
    );
  }
  log(`lab ${state.prefix} (VMs): all ${state.hosts.length + 1} VMs are running`);
  return state;
}

/** Removes the VMs of a lab (also unrecorded ones under its hosts dir) and their taps. */
export async function removeVms(state: LabState): Promise<number> {
  const vms = [...(state.vm ? [state.vm.switch] : []), ...state.hosts];
  const recorded = vms.flatMap((vm) => (isVmProcess(vm.qemuPid, vm.dir) ? [vm.qemuPid] : []));
  const pids = [...new Set([...recorded, ...vmProcessesUnder(labPaths(state.dir).hostsDir)])];
  await stopVms(pids);
  return pids.length;
}

/**
 * Pulls (down) or plugs back (up) the cable of host NAME's spare NIC: both ends lose carrier
 * (QEMU `set_link` in the host and in the switch) and the taps stop passing frames.
 */
export async function labVmLink(state: LabState, name: string, nic: VmHostNic, link: 'up' | 'down'): Promise<void> {
  if (!state.vm) throw new LabError('not a VM lab: only VM labs have cables to pull');
  const host = state.hosts.find((h) => h.name === name);
  if (!host) throw new LabError(`no host ${name} in the lab`);
  const on = link === 'up' ? 'on' : 'off';
  const hostTapName = hostTap(state.prefix, host.index, nic);
  const swTap = switchPortTap(state.prefix, host.index, nic);
  const swPort = switchNics(state.prefix, state.subnet, [host.index]).find((x) => x.tap === swTap)!.name;
  await Promise.all([setTapState(hostTapName, link), setTapState(swTap, link)]);
  await monitorCommand(host.dir, `set_link ${nic} ${on}`);
  await monitorCommand(state.vm.switch.dir, `set_link ${swPort} ${on}`);
}
