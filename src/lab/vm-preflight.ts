// What `lab up --kernel vm` needs on top of a namespace lab, checked before anything is made.
import { existsSync } from 'node:fs';
import { LabError } from '../errors.js';
import { findCommand, preflight } from './preflight.js';
import { VM_PACKAGES, findVmKernel, type VmKernel } from './vm-boot.js';

const VM_COMMANDS: Record<string, string> = {
  'qemu-system-x86_64': 'qemu-system-x86',
  busybox: 'busybox',
  cpio: 'cpio',
  gzip: 'gzip',
  modprobe: 'kmod',
  ldd: 'libc-bin',
  tc: 'iproute2',
};

/** Everything the namespace lab needs, plus QEMU, a kernel with its modules, and the initramfs tools. Returns the kernel to boot. */
export async function preflightVm(): Promise<VmKernel> {
  await preflight();
  const missing = Object.entries(VM_COMMANDS)
    .filter(([cmd]) => !findCommand(cmd))
    .map(([cmd, pkg]) => `${cmd} (${pkg})`);
  const kernel = findVmKernel();
  if (!kernel) missing.push('a kernel in /boot with its modules (9p, overlay, bonding, 8021q, virtio_net) in /lib/modules (linux-image-amd64)');
  if (!existsSync('/dev/net/tun')) missing.push('/dev/net/tun (the tun module; in a container: --device /dev/net/tun)');
  if (missing.length > 0 || !kernel) {
    throw new LabError(`kvmnet lab up --kernel vm needs what is not installed here: ${missing.join(', ')}. On Debian/Ubuntu: ${VM_PACKAGES}`);
  }
  return kernel;
}
