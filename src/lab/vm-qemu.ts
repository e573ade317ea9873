// One lab VM = one QEMU process (TCG), found again through its pid file and its command line.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { LabError } from '../errors.js';
import { run } from './exec.js';
import { pidAlive, readPidFile, terminate } from './processes.js';
import type { VmNic } from './vm-names.js';

export interface VmSpec {
  /** The VM's private dir (guest.env, nics, keys; console.log, qemu.pid, monitor.sock). */
  dir: string;
  name: string;
  kernel: string;
  initrd: string;
  init: string;
  memoryMb: number;
  nics: VmNic[];
  /**
   * `--init systemd` hosts: a raw ext4 image that holds the guest's /etc and /var overlays, so
   * they survive a reboot; and the guest may reboot (QEMU restarts it instead of exiting).
   */
  disk?: string;
}

export const vmFiles = (dir: string) => ({
  pid: join(dir, 'qemu.pid'),
  console: join(dir, 'console.log'),
  monitor: join(dir, 'monitor.sock'),
});

// /dev/kvm exists on this kind of machine but a KVM-accelerated boot hung: TCG only, one vCPU
// (one host thread per VM). The first PCI slots hold the 9p device, NICs follow in order.
export function qemuArgv(spec: VmSpec): string[] {
  const files = vmFiles(spec.dir);
  const cmdline = ['console=ttyS0', 'quiet', 'panic=-1', 'mitigations=off', `kvmlab.init=${spec.init}`, `kvmlab.dir=${spec.dir}`];
  const argv = [
    'qemu-system-x86_64',
    '-name',
    `kvmnet-lab-${spec.name}`,
    '-machine',
    'pc,accel=tcg',
    '-m',
    String(spec.memoryMb),
    '-smp',
    '1',
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    // A busybox guest never reboots on purpose (a kernel panic ends the VM); a systemd guest does.
    ...(spec.disk ? [] : ['-no-reboot']),
    '-kernel',
    spec.kernel,
    '-initrd',
    spec.initrd,
    '-append',
    cmdline.join(' '),
    '-fsdev',
    'local,id=kvmroot,path=/,security_model=none,readonly=on,multidevs=remap',
    '-device',
    'virtio-9p-pci,fsdev=kvmroot,mount_tag=kvmroot,addr=0x3',
    '-serial',
    `file:${files.console}`,
    '-monitor',
    `unix:${files.monitor},server=on,wait=off`,
    '-pidfile',
    files.pid,
    '-daemonize',
  ];
  // Slot 0x1f: far from the NICs' 0x4, 0x5…
  if (spec.disk) argv.push('-drive', `file=${spec.disk},if=none,id=kvmdisk,format=raw`, '-device', 'virtio-blk-pci,drive=kvmdisk,addr=0x1f');
  spec.nics.forEach((nic, k) => {
    argv.push(
      '-netdev',
      `tap,id=${nic.name},ifname=${nic.tap},script=no,downscript=no`,
      // A known speed and full duplex: without them bonding gives the port LACP key 0 and never
      // finds a partner (virtio-net reports neither by default).
      '-device',
      `virtio-net-pci,netdev=${nic.name},mac=${nic.mac},addr=0x${(4 + k).toString(16)},speed=1000,duplex=full`,
    );
  });
  return argv;
}

/** Starts the VM in the background; resolves with QEMU's pid once it runs (the guest boots on). */
export async function startVm(spec: VmSpec): Promise<number> {
  const r = await run(qemuArgv(spec), { timeoutMs: 60_000, check: false });
  if (r.exitCode !== 0) throw new LabError(`${spec.name}: QEMU did not start (exit ${r.exitCode}): ${r.stderr.trim()}`);
  const pid = readPidFile(vmFiles(spec.dir).pid);
  if (!pidAlive(pid)) throw new LabError(`${spec.name}: QEMU exited right after starting; see ${vmFiles(spec.dir).console}`);
  return pid;
}

/** Whether PID is a live QEMU of the VM with this dir (guards against PID reuse). */
export function isVmProcess(pid: number | null | undefined, dir: string): pid is number {
  if (!pidAlive(pid)) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes(`file:${vmFiles(dir).console}`);
  } catch {
    return false;
  }
}

/** Every live QEMU whose VM dir is under HOSTSDIR (also those a crashed `up` did not record). */
export function vmProcessesUnder(hostsDir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.endsWith('qemu-system-x86_64') && argv.some((a) => a.startsWith(`file:${hostsDir}/`))) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids.filter((p) => pidAlive(p));
}

export async function stopVms(pids: number[]): Promise<void> {
  // QEMU exits at once on SIGTERM; the guests keep nothing worth a clean shutdown (all tmpfs).
  await terminate(pids, 3000);
}

/** The last lines the guest printed on its serial console (for error messages). */
export function consoleTail(dir: string, lines = 15): string {
  const path = vmFiles(dir).console;
  if (!existsSync(path)) return '(no console output)';
  return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/** One HMP command on the VM's monitor socket, e.g. `set_link eth1 off`; resolves with its output. */
export function monitorCommand(dir: string, command: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(vmFiles(dir).monitor);
    let data = '';
    let sent = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new LabError(`QEMU monitor of ${dir} did not answer \`${command}\``));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      data += d;
      // The banner ends with the first prompt; the command's output ends with the next one.
      if (!sent && data.includes('(qemu) ')) {
        sent = true;
        data = '';
        socket.write(`${command}\n`);
      } else if (sent && data.includes('(qemu) ')) {
        clearTimeout(timer);
        socket.end();
        resolve(data.replace(/\r/g, '').split('\n').slice(1, -1).join('\n').trim());
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(new LabError(`cannot reach the QEMU monitor of ${dir}: ${err.message}`, { cause: err }));
    });
  });
}
