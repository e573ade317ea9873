// What a VM lab boots: Debian's kernel from /boot, a small initramfs made here (busybox + the
// modules that mount the root over virtio-9p), the guest init, and each VM's private dir.
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../errors.js';
import { run } from './exec.js';
import { sshdConfig } from './host-files.js';
import { libvirtDriverDir } from './preflight.js';
import { generateEd25519 } from './ssh-keys.js';
import { GUEST_INIT_SCRIPT } from './vm-guest-init.js';
import type { LabManager } from './state.js';
import { systemdInstallScript } from './vm-systemd.js';
import type { VmNic } from './vm-names.js';

export const VM_PACKAGES = 'apt-get install -y qemu-system-x86 linux-image-amd64 busybox cpio kmod e2fsprogs';

// Modules needed before the root is mounted (the rest load from the 9p root, which has /lib/modules).
const INITRAMFS_MODULES = ['virtio_pci', '9pnet_virtio', '9p'];
// Modules the lab's guests must be able to load (the point of a VM lab).
const REQUIRED_GUEST_MODULES = [
  'kernel/fs/9p/9p.ko',
  'kernel/fs/overlayfs/overlay.ko',
  'kernel/drivers/net/bonding/bonding.ko',
  'kernel/net/8021q/8021q.ko',
  'kernel/drivers/net/virtio_net.ko',
];
// `--init systemd` hosts also mount their disk (virtio_blk, ext4): loaded from the 9p root.

export interface VmKernel {
  release: string;
  kernel: string;
}

const compareRelease = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/** The newest /boot/vmlinuz-RELEASE whose /lib/modules/RELEASE has what a lab guest needs; null if none. */
export function findVmKernel(): VmKernel | null {
  let entries: string[];
  try {
    entries = readdirSync('/boot');
  } catch {
    return null;
  }
  const releases = entries
    .filter((f) => f.startsWith('vmlinuz-'))
    .map((f) => f.slice('vmlinuz-'.length))
    .filter((r) => REQUIRED_GUEST_MODULES.every((m) => existsSync(join('/lib/modules', r, m))))
    .sort(compareRelease);
  const release = releases.at(-1);
  return release ? { release, kernel: join('/boot', `vmlinuz-${release}`) } : null;
}

/** Shared libraries of a dynamically linked program (ldd), absolute paths. */
async function sharedLibs(program: string): Promise<string[]> {
  const r = await run(['ldd', program], { check: false });
  if (r.exitCode !== 0) return []; // static
  return [...r.stdout.matchAll(/(\/\S+)\s+\(0x/g)].map((m) => m[1]!).filter((p) => existsSync(p));
}

// busybox's sh, insmod, mount and switch_root: load the 9p modules, mount the controller's root
// read-only, and hand over to the guest init named on the kernel command line.
const INITRAMFS_INIT = `#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs devtmpfs /dev
for m in /modules/*.ko; do /bin/busybox insmod "$m" || echo "kvmlab initramfs: insmod $m failed"; done
init=$(/bin/busybox sed -n 's/.*kvmlab\\.init=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
# cache=loose: the guest keeps what it read (programs, libraries) in its page cache; without it
# every exec (sshd re-execs itself per connection) reads the binary over 9p again.
if ! /bin/busybox mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=262144,cache=loose kvmroot /root; then
  echo "kvmlab initramfs: cannot mount the 9p root"; exec /bin/busybox sh
fi
/bin/busybox umount /proc /dev
exec /bin/busybox switch_root /root "$init"
`;

/** Builds DIR/initrd.img for RELEASE (about 2 MB, 1 s) and writes DIR/guest-init.sh. */
export async function writeBootFiles(vmDir: string, release: string): Promise<{ initrd: string; init: string }> {
  mkdirSync(vmDir, { recursive: true });
  const staging = mkdtempSync(join(vmDir, 'initramfs-'));
  try {
    for (const d of ['bin', 'modules', 'proc', 'dev', 'root']) mkdirSync(join(staging, d));
    copyFileSync('/bin/busybox', join(staging, 'bin', 'busybox'));
    chmodSync(join(staging, 'bin', 'busybox'), 0o755);
    for (const lib of await sharedLibs('/bin/busybox')) {
      mkdirSync(join(staging, lib, '..'), { recursive: true });
      copyFileSync(lib, join(staging, lib));
    }
    // modprobe --show-depends prints the insmod lines in load order, without loading anything.
    const order: string[] = [];
    for (const m of INITRAMFS_MODULES) {
      const r = await run(['modprobe', '-S', release, '--show-depends', m]);
      for (const line of r.stdout.split('\n')) {
        const path = /^insmod (\S+)/.exec(line.trim())?.[1];
        if (path && !order.includes(path)) order.push(path);
      }
    }
    order.forEach((path, k) => copyFileSync(path, join(staging, 'modules', `${String(k).padStart(2, '0')}-${path.split('/').at(-1)}`)));
    writeFileSync(join(staging, 'init'), INITRAMFS_INIT, { mode: 0o755 });
    const initrd = join(vmDir, 'initrd.img');
    await run(['sh', '-c', 'cd "$1" && find . | cpio -o -H newc --quiet | gzip -1 > "$2"', 'sh', staging, initrd], { timeoutMs: 60_000 });
    const init = join(vmDir, 'guest-init.sh');
    writeFileSync(init, GUEST_INIT_SCRIPT, { mode: 0o755 });
    return { initrd, init };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

export interface VmGuestConfig {
  name: string;
  role: 'host' | 'switch';
  address: string;
  gateway: string;
  nics: VmNic[];
  /** Switch only: the indexes of the hosts it has ports for. */
  hostIndexes?: number[];
  mgmtVlan: number;
  trunkMaxVlan: number;
  /** Switch only: join the host ports' untagged VLAN 1 to the management VLAN. */
  untaggedMgmt?: boolean;
  /** Hosts only: boot systemd (with this network manager) instead of staying in the busybox init. */
  systemd?: { manager: LabManager; pkgRoots: string[] };
}

const shValue = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The VM's private dir on the controller: what the guest init reads (read-only, over 9p). */
export function prepareVmDir(dir: string, cfg: VmGuestConfig, labPublicKey: string): void {
  rmSync(dir, { recursive: true, force: true });
  const runDir = join(dir, 'run', 'kvmnet-lab');
  mkdirSync(runDir, { recursive: true, mode: 0o755 });
  const env = {
    KVMLAB_NAME: cfg.name,
    KVMLAB_ROLE: cfg.role,
    KVMLAB_ADDRESS: cfg.address,
    KVMLAB_GATEWAY: cfg.gateway,
    KVMLAB_HOSTS: (cfg.hostIndexes ?? []).join(' '),
    KVMLAB_MGMT_VLAN: String(cfg.mgmtVlan),
    KVMLAB_TRUNK_MAX: String(cfg.trunkMaxVlan),
    KVMLAB_UNTAGGED_MGMT: cfg.untaggedMgmt ? '1' : '',
    KVMLAB_DRIVER_SRC: libvirtDriverDir() ?? '',
    KVMLAB_INIT: cfg.systemd ? 'systemd' : '',
    KVMLAB_PKGROOTS: cfg.systemd?.pkgRoots.join(' ') ?? '',
  };
  writeFileSync(
    join(dir, 'guest.env'),
    Object.entries(env)
      .map(([k, v]) => `${k}=${shValue(v)}\n`)
      .join(''),
  );
  writeFileSync(join(dir, 'nics'), cfg.nics.map((n) => `${n.mac} ${n.name}\n`).join(''));
  const key = generateEd25519(`root@${cfg.name}`);
  // Same place as a namespace host's key: host-files.ts hostPublicKey() reads it for known_hosts.
  writeFileSync(join(runDir, 'ssh_host_ed25519_key'), key.privateKey, { mode: 0o600 });
  writeFileSync(join(runDir, 'ssh_host_ed25519_key.pub'), key.publicKey, { mode: 0o644 });
  // Every address, so a host stays reachable when its management address moves onto a bond or a VLAN.
  writeFileSync(join(runDir, 'sshd_config'), sshdConfig('0.0.0.0', "kvmnet lab (VM): the guest's sshd, on every address"), { mode: 0o644 });
  writeFileSync(join(runDir, 'authorized_keys'), labPublicKey, { mode: 0o600 });
  if (cfg.systemd) writeFileSync(join(runDir, 'systemd-install.sh'), systemdInstallScript(cfg.systemd.manager), { mode: 0o644 });
}

/** The VM's disk for `--init systemd` (its /etc and /var across reboots): a sparse ext4 image. */
export async function createVmDisk(dir: string, sizeMb = 1024): Promise<string> {
  const path = join(dir, 'disk.img');
  rmSync(path, { force: true });
  await run(['truncate', '-s', `${sizeMb}M`, path]);
  await run(['mkfs.ext4', '-q', '-F', '-L', 'kvmlab', path], { timeoutMs: 60_000 });
  return path;
}

/** Paths go on the kernel command line (space-separated) and into a unix socket path (108 bytes). */
export function assertVmPaths(labDir: string): void {
  if (/\s/.test(labDir)) throw new LabError(`a VM lab dir cannot contain whitespace (it goes on the guest kernel's command line): ${labDir}`);
  if (join(labDir, 'hosts', 'hv6', 'monitor.sock').length > 100) {
    throw new LabError(`the VM lab dir path is too long for QEMU's monitor socket (unix sockets: 108 bytes): ${labDir}`);
  }
}
