import { describe, expect, it } from 'vitest';
import { ownsLinkName, subnetForPrefix } from '../../../src/lab/names.js';
import { MAX_VM_HOSTS, hostNics, hostWires, switchNics, validateVmCount } from '../../../src/lab/vm-names.js';
import { qemuArgv } from '../../../src/lab/vm-qemu.js';

// The longest prefix (6 characters) with the most hosts: every root-namespace name must fit
// Linux's 15 bytes and belong to the prefix, so `down` finds it even after a crashed `up`.
describe('VM lab names', () => {
  const prefix = 'abcdef';
  const subnet = subnetForPrefix(prefix);
  const indexes = Array.from({ length: MAX_VM_HOSTS }, (_, k) => k + 1);
  const nics = [...indexes.flatMap((i) => hostNics(prefix, subnet, i)), ...switchNics(prefix, subnet, indexes)];

  it('taps fit 15 bytes, are owned by their prefix and by no other', () => {
    for (const nic of nics) {
      expect(Buffer.byteLength(nic.tap)).toBeLessThanOrEqual(15);
      expect(ownsLinkName(prefix, nic.tap), nic.tap).toBe(true);
      expect(ownsLinkName('abcde', nic.tap), nic.tap).toBe(false);
    }
    expect(new Set(nics.map((n) => n.tap)).size).toBe(nics.length);
  });

  it('MACs are unique, locally administered unicast', () => {
    expect(new Set(nics.map((n) => n.mac)).size).toBe(nics.length);
    for (const { mac } of nics) expect(mac).toMatch(/^02:6b(:[0-9a-f]{2}){4}$/);
  });

  it('every spare NIC of a host is wired to its own switch port', () => {
    const sw = new Set(switchNics(prefix, subnet, indexes).map((n) => n.tap));
    const wires = indexes.flatMap((i) => hostWires(prefix, i));
    expect(wires).toHaveLength(3 * MAX_VM_HOSTS);
    for (const [hostEnd, switchEnd] of wires) {
      expect(hostEnd.startsWith(`${prefix}-`) && !sw.has(hostEnd)).toBe(true);
      expect(sw.has(switchEnd)).toBe(true);
    }
  });

  it('host counts outside 1..MAX_VM_HOSTS are refused', () => {
    for (const n of [0, MAX_VM_HOSTS + 1, 1.5]) expect(() => validateVmCount(n)).toThrow(/VM lab hosts/);
  });

  it('QEMU gets NICs with a speed and full duplex (bonding needs them for LACP), in fixed PCI slots', () => {
    const argv = qemuArgv({
      dir: '/l/hosts/hv1',
      name: 'hv1',
      kernel: '/boot/k',
      initrd: '/l/vm/initrd.img',
      init: '/l/vm/guest-init.sh',
      memoryMb: 512,
      nics: hostNics(prefix, subnet, 1),
    });
    const devices = argv.filter((_, k) => argv[k - 1] === '-device' && argv[k]!.startsWith('virtio-net-pci'));
    expect(devices).toHaveLength(4);
    devices.forEach((d, k) => expect(d).toContain(`addr=0x${(4 + k).toString(16)},speed=1000,duplex=full`));
    expect(argv[argv.indexOf('-append') + 1]).toContain('kvmlab.dir=/l/hosts/hv1');
  });
});
