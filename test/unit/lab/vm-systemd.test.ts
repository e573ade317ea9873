// `lab up --init systemd`: what a host's first boot installs, and how QEMU runs a VM that may reboot.
import { describe, expect, it } from 'vitest';
import { systemdInstallScript } from '../../../src/lab/vm-systemd.js';
import { qemuArgv } from '../../../src/lab/vm-qemu.js';

describe('a systemd lab host', () => {
  it('runs the lab sshd and libvirtd and the one manager asked for, which leaves mgmt0 alone', () => {
    const nm = systemdInstallScript('networkmanager');
    expect(nm).toContain('ln -sf /lib/systemd/system/NetworkManager.service /etc/systemd/system/multi-user.target.wants/NetworkManager.service');
    expect(nm).toContain('unmanaged-devices=interface-name:mgmt0');
    expect(nm).toContain('no-auto-default=*');
    expect(nm).not.toContain('systemd-networkd.service');
    const nd = systemdInstallScript('networkd');
    expect(nd).toContain('ManageForeignRoutes=no');
    expect(nd).toContain('/etc/systemd/system/multi-user.target.wants/systemd-networkd.service');
    // netplan renders for networkd; a (device-less) netplan file makes it the host's manager.
    expect(systemdInstallScript('netplan')).toContain('renderer: networkd');
    for (const m of ['ifupdown', 'ifupdown2'] as const) expect(systemdInstallScript(m)).toContain('source /etc/network/interfaces.d/*');
    // The controller's own enabled units are not the host's; the first boot is marked done.
    expect(nd).toContain('rm -rf /etc/systemd/system/*.wants');
    expect(nd).toContain('touch /run/kvmlab-rw/kvmlab-installed');
  });

  it('QEMU: a disk and no -no-reboot for a systemd host; a busybox guest still ends on reboot', () => {
    const base = { dir: '/tmp/lab/hosts/hv1', name: 'hv1', kernel: '/boot/vmlinuz', initrd: '/tmp/i', init: '/tmp/g', memoryMb: 1024, nics: [] };
    const sd = qemuArgv({ ...base, disk: '/tmp/lab/hosts/hv1/disk.img' });
    expect(sd).not.toContain('-no-reboot');
    expect(sd).toContain('file=/tmp/lab/hosts/hv1/disk.img,if=none,id=kvmdisk,format=raw');
    expect(qemuArgv(base)).toContain('-no-reboot');
  });
});
