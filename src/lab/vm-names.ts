// Names, MACs and addresses of a VM lab (`kvmnet lab up --kernel vm`): hosts hv1…hvN and the switch.
import { LabError } from '../errors.js';
import type { LabSubnet } from './names.js';

export const DEFAULT_VM_HOSTS = 2;
// The switch gets 2 + 3 NICs per host, one PCI slot each; the i440fx machine has 32 slots, a few
// taken. Every VM is one TCG vCPU thread: more hosts than this only make the lab slow.
export const MAX_VM_HOSTS = 6;

/** Spare NICs of a VM host, in PCI order after mgmt0: eth1+eth2 go to one LACP bond of the switch, eth3 to a trunk port. */
export const VM_HOST_NICS = ['eth1', 'eth2', 'eth3'] as const;
export type VmHostNic = (typeof VM_HOST_NICS)[number];
const NIC_LETTER: Record<VmHostNic, string> = { eth1: 'a', eth2: 'b', eth3: 'c' };

/** VLAN of the switch that is bridged (untagged) to the lab bridge: the management network reachable on a host's bond. */
export const MGMT_VLAN = 10;
// The switch's trunks carry VLANs 2…TRUNK_MAX_VLAN tagged. Every VLAN on a port costs the switch
// boot time under TCG: 2-4094 on 4 ports took 48 s.
export const TRUNK_MAX_VLAN = 299;
export const SWITCH_NAME = 'sw';

export function validateVmCount(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_VM_HOSTS) {
    throw new LabError(`invalid number of VM lab hosts ${n}: use an integer from 1 to ${MAX_VM_HOSTS}`);
  }
  return n;
}

/** Root-namespace tap of a host NIC (mgmt0 on the lab bridge; eth1-3 wired to the switch). */
export const hostTap = (prefix: string, i: number, nic: 'mgmt0' | VmHostNic): string => `${prefix}-${i}${nic === 'mgmt0' ? 'm' : NIC_LETTER[nic]}`;
/** Root-namespace tap of the switch's port facing host I's NIC. */
export const switchPortTap = (prefix: string, i: number, nic: VmHostNic): string => `${prefix}-s${i}${NIC_LETTER[nic]}`;
export const switchMgmtTap = (prefix: string): string => `${prefix}-sm`;
/** The switch's access port (VLAN MGMT_VLAN, untagged) on the lab bridge. */
export const switchUplinkTap = (prefix: string): string => `${prefix}-su`;
/** The switch's name for its port facing host I's NIC (inside the switch VM). */
export const switchPortName = (i: number, nic: VmHostNic): string => `h${i}${NIC_LETTER[nic]}`;

export const switchAddress = (subnet: LabSubnet): string => `${subnet.base}.254`;
/** Where a host can be reached over its bond on VLAN MGMT_VLAN once it has an address there (the lab offers .111-.116). */
export const hostBondAddress = (subnet: LabSubnet, i: number): string => `${subnet.base}.${110 + i}`;

/**
 * Locally administered MACs, fixed per lab/host/NIC like hostMac() in names.ts but never equal
 * to those: byte 5 is the host index (0xfe for the switch), byte 6 is 0x20 + NIC for hosts and
 * the port number for the switch.
 */
export function vmMac(subnet: LabSubnet, host: number | 'switch', nic: number): string {
  const [, second, third] = subnet.base.split('.').map(Number);
  const x = ((second ?? 18) - 18) * 256 + (third ?? 0);
  const bytes = [0x02, 0x6b, x >> 8, x & 255, host === 'switch' ? 0xfe : host, host === 'switch' ? nic : 0x20 | nic];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** One VM NIC: its name inside the guest, MAC and the root-namespace tap it is wired to. */
export interface VmNic {
  name: string;
  mac: string;
  tap: string;
}

export function hostNics(prefix: string, subnet: LabSubnet, i: number): VmNic[] {
  return (['mgmt0', ...VM_HOST_NICS] as const).map((name, k) => ({ name, mac: vmMac(subnet, i, k), tap: hostTap(prefix, i, name) }));
}

export function switchNics(prefix: string, subnet: LabSubnet, hostIndexes: number[]): VmNic[] {
  const nics: VmNic[] = [
    { name: 'mgmt0', mac: vmMac(subnet, 'switch', 0), tap: switchMgmtTap(prefix) },
    { name: 'uplink', mac: vmMac(subnet, 'switch', 1), tap: switchUplinkTap(prefix) },
  ];
  for (const i of hostIndexes) {
    VM_HOST_NICS.forEach((nic, k) =>
      nics.push({ name: switchPortName(i, nic), mac: vmMac(subnet, 'switch', 0x10 + 4 * i + k), tap: switchPortTap(prefix, i, nic) }),
    );
  }
  return nics;
}

/** The point-to-point wires between a host's spare NICs and the switch, as pairs of taps. */
export function hostWires(prefix: string, i: number): Array<[string, string]> {
  return VM_HOST_NICS.map((nic) => [hostTap(prefix, i, nic), switchPortTap(prefix, i, nic)]);
}
