import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../errors.js';
import { LAB_PATH, run } from './exec.js';

export const LAB_PACKAGES = 'apt-get install -y openssh-server libvirt-daemon-system libvirt-clients dnsmasq-base iproute2';

const REQUIRED_COMMANDS: Record<string, string> = {
  ip: 'iproute2',
  bridge: 'iproute2',
  nsenter: 'util-linux',
  unshare: 'util-linux',
  mount: 'mount',
  sshd: 'openssh-server',
  'ssh-keygen': 'openssh-client',
  libvirtd: 'libvirt-daemon-system',
  virsh: 'libvirt-clients',
  dnsmasq: 'dnsmasq-base',
};

export function findCommand(name: string): string | null {
  for (const dir of LAB_PATH.split(':')) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // keep looking
    }
  }
  return null;
}

/** Where libvirtd loads its connection drivers from (differs per distro and arch); null if unknown. */
export function libvirtDriverDir(): string | null {
  const dirs = ['/usr/lib64/libvirt/connection-driver'];
  try {
    for (const d of readdirSync('/usr/lib')) dirs.push(`/usr/lib/${d}/libvirt/connection-driver`);
  } catch {
    // no /usr/lib
  }
  return dirs.find((d) => existsSync(d)) ?? null;
}

// virsh's default URI as root is qemu:///system: without the QEMU driver libvirtd refuses that
// URI even for network calls. On Debian 12 the network driver is in libvirt-daemon (older
// releases: libvirt-daemon-driver-network) and the QEMU one in libvirt-daemon-driver-qemu.
function missingLibvirtDrivers(): string[] {
  const dir = libvirtDriverDir();
  if (!dir) return []; // unknown layout: let libvirtd itself complain
  const missing: string[] = [];
  if (!existsSync(join(dir, 'libvirt_driver_network.so'))) missing.push('libvirt-daemon (network driver)');
  if (!existsSync(join(dir, 'libvirt_driver_qemu.so'))) missing.push('libvirt-daemon-driver-qemu');
  return missing;
}

/** Checks everything `up` needs before touching anything, with errors that say what to do. */
export async function preflight(): Promise<void> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new LabError('kvmnet lab must run as root: it creates network namespaces, veth links and bridges, and runs sshd and libvirtd (try sudo)');
  }
  const missing = Object.entries(REQUIRED_COMMANDS).filter(([cmd]) => !findCommand(cmd));
  if (missing.length > 0) {
    const list = missing.map(([cmd, pkg]) => `${cmd} (${pkg})`).join(', ');
    throw new LabError(`kvmnet lab needs commands that are not installed: ${list}. On Debian/Ubuntu: ${LAB_PACKAGES}`);
  }
  const drivers = missingLibvirtDrivers();
  if (drivers.length > 0) {
    throw new LabError(`libvirt is missing drivers: ${drivers.join(', ')}. On Debian/Ubuntu: ${LAB_PACKAGES}`);
  }
  const probe = await run(['unshare', '--net', '--mount', '--uts', '--propagation', 'private', 'true'], { check: false, timeoutMs: 10_000 });
  if (probe.exitCode !== 0) {
    throw new LabError(
      `network/mount namespaces are unavailable here (unshare --net --mount --uts failed: ${probe.stderr.trim()}); ` +
        'the lab needs a kernel with namespaces and CAP_SYS_ADMIN/CAP_NET_ADMIN (in a container: --privileged)',
    );
  }
  for (const dir of ['/etc/libvirt', '/var/lib/libvirt', '/var/log']) {
    if (!existsSync(dir)) throw new LabError(`${dir} does not exist; is libvirt installed? ${LAB_PACKAGES}`);
  }
}
