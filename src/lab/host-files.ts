// The private files of one lab host, kept under DIR/hosts/hvN and mounted over the real paths inside the host.
import { appendFileSync, chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { libvirtDriverDir } from './preflight.js';
import { generateEd25519 } from './ssh-keys.js';

/** Subdirectory of the host dir → the path it replaces inside the host, in mount order. */
export const HOST_BIND_MOUNTS: ReadonlyArray<readonly [string, string]> = [
  ['etc-libvirt', '/etc/libvirt'],
  ['etc-systemd-network', '/etc/systemd/network'],
  ['etc-network-interfaces.d', '/etc/network/interfaces.d'],
  ['var-lib-libvirt', '/var/lib/libvirt'],
  ['var-cache-libvirt', '/var/cache/libvirt'],
  // sshd writes wtmp/lastlog and libvirt its logs here: keep them out of the controller's /var/log.
  ['var-log', '/var/log'],
  // Parallel runs that upload to fixed /tmp names must not race across hosts.
  ['tmp', '/tmp'],
  // No dotfiles of the controller's root (a slow .bashrc costs every SSH session).
  ['root', '/root'],
];

/** Copied onto the host's fresh /run tmpfs: sshd needs /run/sshd, libvirtd /run/libvirt. */
export const HOST_RUN_SKELETON = 'run';
/** Inside the host: sshd's config and host key, and the libvirt driver links. */
export const LAB_RUN_DIR = '/run/kvmnet-lab';

// libvirtd loads every driver it finds; nodedev (a udev scan) and the Xen/LXC/VirtualBox ones
// cost ~150 ms of CPU per start and kvmnet uses none of them: 20 hosts start 4x faster without.
// LIBVIRT_DRIVER_DIR points libvirtd at links to just these.
export const LAB_LIBVIRT_DRIVERS = ['network', 'qemu', 'nwfilter', 'secret', 'storage', 'interface'];
export const LIBVIRT_DRIVER_DIR_IN_HOST = `${LAB_RUN_DIR}/libvirt-drivers`;

// Copied from the controller's /etc/libvirt: daemon settings and the packaged nwfilters, but no
// domains, networks, storage pools, secrets or hooks: a lab host starts like a fresh install.
// (Their directories are kept, empty.)
const EMPTY_ETC_LIBVIRT_DIRS = new Set(['qemu', 'storage', 'secrets', 'hooks', 'lxc', 'libxl', 'bhyve', 'ch']);

function copyEtcLibvirtEntry(src: string): boolean {
  const rel = relative('/etc/libvirt', src);
  const [top] = rel.split('/');
  return !rel.includes('/') || !EMPTY_ETC_LIBVIRT_DIRS.has(top ?? '');
}

/**
 * Mounted by ONE `mount -c -a -T fstab` in the holder (each exec costs several ms on a small VM).
 * Sources are relative to the host dir; targets under /etc exist in the host's /etc overlay.
 */
function hostFstab(extraMounts: ReadonlyArray<readonly [string, string]>): string {
  const lines = ['# kvmnet lab: mounted with `mount -c -a -T fstab` from this directory, inside the host'];
  for (const [sub, target] of HOST_BIND_MOUNTS) {
    if (target === '/tmp') lines.push('kvmnet-lab-run /run tmpfs mode=0755,nosuid,nodev 0 0');
    if (target.startsWith('/etc/') || existsSync(target)) lines.push(`${sub} ${target} none bind 0 0`);
  }
  // Read-only: a host must not change the shared cache (e.g. the backports libvirt).
  for (const [source, target] of extraMounts) lines.push(`${source} ${target} none bind,ro 0 0`);
  return `${lines.join('\n')}\n`;
}

/** A lab host's sshd: listening on `listen` (an address, or 0.0.0.0 for every one), keys in LAB_RUN_DIR. */
export function sshdConfig(listen: string, header = 'kvmnet lab: one sshd per lab host'): string {
  return `# ${header}
ListenAddress ${listen}:22
HostKey ${LAB_RUN_DIR}/ssh_host_ed25519_key
PidFile /run/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
PrintMotd no
PrintLastLog no
# A benchmark drives 20+ hosts with many channels at once: never throttle new connections.
MaxSessions 100
MaxStartups 1000
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
`;
}

/** A libvirt other than the machine's for this host: files bind-mounted over the machine's, and its network.conf. */
export interface HostLibvirt {
  mounts: ReadonlyArray<readonly [string, string]>;
  networkConf: string;
  /** A wrapper over /usr/sbin/tc (libvirt-backports.ts), next to a copy of the real one. */
  tcWrapper?: string;
}

export function prepareHostDir(hostDir: string, name: string, address: string, labPublicKey: string, libvirt?: HostLibvirt): void {
  rmSync(hostDir, { recursive: true, force: true });
  for (const [sub] of HOST_BIND_MOUNTS) mkdirSync(join(hostDir, sub), { recursive: true, mode: 0o755 });
  mkdirSync(join(hostDir, 'etc-rw'), { mode: 0o700 });
  chmodSync(join(hostDir, 'tmp'), 0o1777);
  const mounts = [...(libvirt?.mounts ?? [])];
  if (libvirt?.tcWrapper && existsSync('/usr/sbin/tc')) {
    // In the run/ skeleton: the wrapper finds the real tc at ${LAB_RUN_DIR}/tc-real inside the host.
    const shim = join(hostDir, HOST_RUN_SKELETON, 'kvmnet-lab');
    mkdirSync(shim, { recursive: true });
    copyFileSync('/usr/sbin/tc', join(shim, 'tc-real'));
    chmodSync(join(shim, 'tc-real'), 0o755);
    writeFileSync(join(shim, 'tc'), libvirt.tcWrapper, { mode: 0o755 });
    // Relative to the host dir (the holder's cwd): /tmp, where the lab dir may be, is covered by then.
    mounts.push([`${HOST_RUN_SKELETON}/kvmnet-lab/tc`, '/usr/sbin/tc']);
  }
  writeFileSync(join(hostDir, 'fstab'), hostFstab(mounts));

  // /root: only the lab key; sshd's StrictModes wants 0700 directories.
  chmodSync(join(hostDir, 'root'), 0o700);
  mkdirSync(join(hostDir, 'root', '.ssh'), { mode: 0o700 });
  writeFileSync(join(hostDir, 'root', '.ssh', 'authorized_keys'), labPublicKey, { mode: 0o600 });

  const etcLibvirt = join(hostDir, 'etc-libvirt');
  cpSync('/etc/libvirt', etcLibvirt, { recursive: true, preserveTimestamps: true, filter: copyEtcLibvirtEntry });
  mkdirSync(join(etcLibvirt, 'qemu', 'networks', 'autostart'), { recursive: true });
  mkdirSync(join(etcLibvirt, 'hooks'), { recursive: true });
  // So that `lab up --guest` can start a guest without restarting libvirtd.
  ensureQemuConf(hostDir);
  // What Debian's libvirt-daemon-config-network postinst installs: `default` defined, not autostarted.
  copyFileSync('/usr/share/libvirt/networks/default.xml', join(etcLibvirt, 'qemu', 'networks', 'default.xml'));
  chmodSync(join(etcLibvirt, 'qemu', 'networks', 'default.xml'), 0o600);
  if (libvirt) writeFileSync(join(etcLibvirt, 'network.conf'), libvirt.networkConf);
  mkdirSync(join(hostDir, 'var-log', 'libvirt', 'qemu'), { recursive: true });
  mkdirSync(join(hostDir, 'var-cache-libvirt', 'qemu'), { recursive: true });

  const run = join(hostDir, HOST_RUN_SKELETON);
  for (const d of ['sshd', 'libvirt', 'lock', 'kvmnet-lab/libvirt-drivers']) mkdirSync(join(run, d), { recursive: true, mode: 0o755 });
  const key = generateEd25519(`root@${name}`);
  writeFileSync(join(run, 'kvmnet-lab', 'ssh_host_ed25519_key'), key.privateKey, { mode: 0o600 });
  writeFileSync(join(run, 'kvmnet-lab', 'ssh_host_ed25519_key.pub'), key.publicKey, { mode: 0o644 });
  writeFileSync(join(run, 'kvmnet-lab', 'sshd_config'), sshdConfig(address), { mode: 0o644 });
  const driverDir = libvirtDriverDir();
  for (const d of LAB_LIBVIRT_DRIVERS) {
    const so = driverDir && join(driverDir, `libvirt_driver_${d}.so`);
    if (so && existsSync(so)) symlinkSync(so, join(run, 'kvmnet-lab', 'libvirt-drivers', `libvirt_driver_${d}.so`));
  }
}

/** Without the driver links (unknown module dir) libvirtd must load all its drivers, just slower. */
export function hasDriverLinks(hostDir: string): boolean {
  return existsSync(join(hostDir, HOST_RUN_SKELETON, 'kvmnet-lab', 'libvirt-drivers', 'libvirt_driver_qemu.so'));
}

/** `ssh-ed25519 AAAA…` of the host's real host key. */
export function hostPublicKey(hostDir: string): string {
  const path = join(hostDir, HOST_RUN_SKELETON, 'kvmnet-lab', 'ssh_host_ed25519_key.pub');
  // Hosts made by an earlier version of the lab kept their key in ssh/.
  const text = readFileSync(existsSync(path) ? path : join(hostDir, 'ssh', 'ssh_host_ed25519_key.pub'), 'utf8');
  const [type, key] = text.trim().split(/\s+/);
  return `${type} ${key}`;
}

/** Adds the stdio handler setting to a host's qemu.conf; true when the file changed. */
export function ensureQemuConf(hostDir: string): boolean {
  const path = join(hostDir, 'etc-libvirt', 'qemu.conf');
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  if (/^\s*stdio_handler\s*=\s*"file"/m.test(text)) return false;
  appendFileSync(path, `${text === '' || text.endsWith('\n') ? '' : '\n'}# kvmnet lab: no virtlogd in a lab host\nstdio_handler = "file"\n`);
  return true;
}
