// One lab host's processes: the namespace holder and its sshd and libvirtd.
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { LabError } from '../errors.js';
import { LAB_ENV, run } from './exec.js';
import { HOST_RUN_SKELETON, LAB_RUN_DIR, LIBVIRT_DRIVER_DIR_IN_HOST, hasDriverLinks } from './host-files.js';
import { netnsInode, nsInode, pidAlive, pidInNetns, readPidFile } from './processes.js';
import type { LabHostState } from './state.js';

/** argv prefix that runs a command in the host's network, mount and UTS namespaces. */
export function enterHost(holderPid: number): string[] {
  return ['nsenter', '-t', String(holderPid), '-m', '-u', '-n', '--'];
}

// Runs as `sh -c SCRIPT holder HOSTDIR NAME DRIVERDIR` inside `ip netns exec NS unshare -m -u
// --propagation private`, so every mount below is private to this host. Sources are relative to
// the host dir (cwd) and mount -c does not canonicalize them: they stay reachable after /tmp or
// /root, where the lab dir may live, are covered. Few execs: each costs several ms on a small VM.
const HOLDER_SCRIPT = [
  'set -eu',
  'cd "$1"',
  // The writable layer of /etc is a tmpfs only this mount namespace sees: /etc/network can exist
  // here even when the controller has none, and nothing a lab host writes lands in the real /etc.
  'mount -c -t tmpfs -o mode=0755 kvmnet-lab-etc etc-rw',
  'mkdir -p etc-rw/work etc-rw/upper/network/interfaces.d etc-rw/upper/systemd/network',
  'printf "%s\\n" "$2" > etc-rw/upper/hostname',
  // The host's own name resolves (as Debian's installer writes it): sudo looks it up on every call, and without
  // this line each sudo waits for DNS to give up (seconds per exec under become).
  '{ cat /etc/hosts 2>/dev/null || :; printf "127.0.1.1 %s\\n" "$2"; } > etc-rw/upper/hosts',
  'mount -c -t overlay kvmnet-lab-etc -o lowerdir=/etc,upperdir=etc-rw/upper,workdir=etc-rw/work /etc',
  // This namespace started as a copy of the root one, including the nsfs mounts of every lab
  // netns under /run/netns: drop them, or they would keep other hosts' deleted netns alive.
  'umount -R -l /run/netns 2>/dev/null || :',
  // The bind mounts of host-files.ts and a tmpfs on /run, filled from the run/ skeleton.
  'mount -c -a -T fstab',
  `cp -pPR ${HOST_RUN_SKELETON}/. /run/`,
  'printf "%s" "$2" > /proc/sys/kernel/hostname',
  'cd /',
  `/usr/sbin/sshd -f ${LAB_RUN_DIR}/sshd_config`,
  // `libvirtd -d` returns once the daemon is initialised and listening.
  'if [ -n "$3" ]; then LIBVIRT_DRIVER_DIR="$3" /usr/sbin/libvirtd -d; else /usr/sbin/libvirtd -d; fi',
  'echo ready',
  'exec sleep infinity </dev/null >/dev/null 2>&1',
].join('\n');

/**
 * Starts the host: its mounts, hostname, sshd and libvirtd, and the process that keeps the
 * host's mount and UTS namespaces alive after `lab up` exits. Detached (own session), so it
 * outlives the caller; `ip netns exec`, `unshare` and `sh` all exec without forking, so the
 * spawned PID is the holder's.
 */
export function startHolder(netns: string, hostDir: string, name: string, timeoutMs = 60_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const driverDir = hasDriverLinks(hostDir) ? LIBVIRT_DRIVER_DIR_IN_HOST : '';
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        netns,
        'unshare',
        '-m',
        '-u',
        '--propagation',
        'private',
        '/bin/sh',
        '-c',
        HOLDER_SCRIPT,
        'kvmnet-lab-holder',
        hostDir,
        name,
        driverDir,
      ],
      { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: LAB_ENV },
    );
    let stdout = '';
    let stderr = '';
    let settled = false;
    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout.destroy();
      child.stderr.destroy();
      child.unref();
      if (err) reject(err);
      else if (child.pid === undefined) reject(new LabError(`${name}: namespace holder has no pid`));
      else resolve(child.pid);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new LabError(`${name}: starting the host timed out: ${stderr.trim()}`));
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (stdout.includes('ready\n')) finish(null);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => finish(new LabError(`${name}: cannot start the host: ${err.message}`, { cause: err })));
    child.on('exit', (code) => finish(new LabError(`${name}: starting the host failed (exit ${code}): ${stderr.trim()}`)));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForPidFile(path: string, timeoutMs: number): Promise<number | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pid = readPidFile(path);
    if (pidAlive(pid) || Date.now() > deadline) return pid;
    await sleep(10);
  }
}

/** Daemon pids from the pid files in the host's private /run (seen through the holder's root). */
export async function readDaemonPids(host: LabHostState, holderPid: number): Promise<void> {
  const [sshd, libvirtd] = await Promise.all([
    waitForPidFile(`/proc/${holderPid}/root/run/sshd.pid`, 5000),
    waitForPidFile(`/proc/${holderPid}/root/run/libvirtd.pid`, 5000),
  ]);
  if (!pidAlive(sshd)) throw new LabError(`${host.name}: sshd did not start (no live pid in /run/sshd.pid)`);
  if (!pidAlive(libvirtd)) throw new LabError(`${host.name}: libvirtd did not start (no live pid in /run/libvirtd.pid)`);
  host.sshdPid = sshd;
  host.libvirtdPid = libvirtd;
}

/** Restarts a daemon of a host whose holder is alive. */
export async function startSshd(host: LabHostState, holderPid: number): Promise<number> {
  await run([...enterHost(holderPid), '/usr/sbin/sshd', '-f', `${LAB_RUN_DIR}/sshd_config`], { timeoutMs: 15_000 });
  // /proc/PID/root is the holder's view of the filesystem: its private /run.
  const pid = await waitForPidFile(`/proc/${holderPid}/root/run/sshd.pid`, 5000);
  if (!pidAlive(pid)) throw new LabError(`${host.name}: sshd did not start (no live pid in /run/sshd.pid)`);
  return pid;
}

export async function startLibvirtd(host: LabHostState, holderPid: number): Promise<number> {
  const env = hasDriverLinks(host.dir) ? { LIBVIRT_DRIVER_DIR: LIBVIRT_DRIVER_DIR_IN_HOST } : {};
  await run([...enterHost(holderPid), '/usr/sbin/libvirtd', '-d'], { timeoutMs: 60_000, env });
  const pid = await waitForPidFile(`/proc/${holderPid}/root/run/libvirtd.pid`, 5000);
  if (!pidAlive(pid)) throw new LabError(`${host.name}: libvirtd did not start (no live pid in /run/libvirtd.pid)`);
  return pid;
}

/** Resolves with the SSH identification line, or null when nothing answers in time. */
export function sshBanner(address: string, timeoutMs = 2000): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port: 22 });
    let data = '';
    const done = (banner: string | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(banner);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      data += d;
      const nl = data.indexOf('\n');
      if (nl >= 0) done(data.startsWith('SSH-') ? data.slice(0, nl).trim() : null);
    });
    socket.on('error', () => done(null));
    socket.on('close', () => done(null));
  });
}

export async function waitForSsh(host: LabHostState, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await sshBanner(host.address, 1000)) return;
    await sleep(20);
  }
  throw new LabError(`${host.name}: sshd does not answer on ${host.address}:22`);
}

export interface HostHealth {
  netns: boolean;
  holder: boolean;
  sshd: boolean;
  libvirtd: boolean;
}

/** From the kernel's view only (no network I/O): which recorded processes still live in the host's namespaces. */
export function hostHealth(host: LabHostState): HostHealth {
  const inode = netnsInode(host.netns);
  const ownMnt = nsInode('/proc/self/ns/mnt');
  const holder = pidInNetns(host.holderPid, inode) && nsInode(`/proc/${host.holderPid}/ns/mnt`) !== ownMnt;
  const holderMnt = holder ? nsInode(`/proc/${host.holderPid}/ns/mnt`) : null;
  const inHost = (pid: number | null) => holder && pidInNetns(pid, inode) && nsInode(`/proc/${pid}/ns/mnt`) === holderMnt;
  return { netns: inode !== null, holder, sshd: inHost(host.sshdPid), libvirtd: inHost(host.libvirtdPid) };
}

/** Whether the host's own libvirtd answers a network call (what kvmnet uses) within the timeout. */
export async function libvirtdAnswers(host: LabHostState, timeoutMs = 5000): Promise<boolean> {
  if (!hostHealth(host).holder || host.holderPid === null) return false;
  try {
    const r = await run([...enterHost(host.holderPid), 'virsh', '-q', '-c', 'qemu:///system', 'net-list', '--all'], { timeoutMs, check: false });
    return r.exitCode === 0;
  } catch {
    return false;
  }
}
