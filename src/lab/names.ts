import { LabError } from '../errors.js';

export const DEFAULT_PREFIX = 'kvl';
export const DEFAULT_HOSTS = 3;
// Host addresses are .11 … .(10+n) of one /24.
export const MAX_HOSTS = 200;

// Short enough that the longest root-namespace name, `${prefix}-${200}m`, stays far below the
// 15-byte limit of Linux interface names.
const PREFIX_RE = /^[a-z][a-z0-9]{0,5}$/;

export function validatePrefix(prefix: string): string {
  if (!PREFIX_RE.test(prefix)) {
    throw new LabError(`invalid lab prefix ${JSON.stringify(prefix)}: use 1-6 characters, a lowercase letter then lowercase letters or digits`);
  }
  return prefix;
}

export function validateCount(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_HOSTS) {
    throw new LabError(`invalid number of lab hosts ${n}: use an integer from 1 to ${MAX_HOSTS}`);
  }
  return n;
}

export const hostName = (i: number): string => `hv${i}`;

// The `-` separator keeps names of different labs apart: without it prefix `kvl` host 11 and
// prefix `kvl1` host 1 would both own `kvl11m`. Prefixes cannot contain `-`.
export const netnsName = (prefix: string, i: number): string => `${prefix}-hv${i}`;
export const bridgeName = (prefix: string): string => `${prefix}-br`;

/** Root-namespace ends of a host's veth pairs, keyed by the name of the peer inside the host. */
export function rootLinkNames(prefix: string, i: number): { mgmt0: string; eth1: string; eth2: string } {
  return { mgmt0: `${prefix}-${i}m`, eth1: `${prefix}-${i}a`, eth2: `${prefix}-${i}b` };
}

/** Every root-namespace interface or netns name this prefix can own (for `down` after a crash). */
export function ownsLinkName(prefix: string, name: string): boolean {
  // VM labs add `c` (a third spare NIC) and the switch's taps `s…` (vm-names.ts).
  return name === bridgeName(prefix) || new RegExp(`^${prefix}-(s?[1-9][0-9]*[mabc]|s[mu])$`).test(name);
}

export function ownsNetnsName(prefix: string, name: string): boolean {
  return new RegExp(`^${prefix}-hv[1-9][0-9]*$`).test(name);
}

export interface LabSubnet {
  /** e.g. `198.18.42.0/24` */
  cidr: string;
  /** The lab bridge's address, the hosts' default gateway. */
  gateway: string;
  /** First three octets, e.g. `198.18.42`. */
  base: string;
}

// 198.18.0.0/15 is reserved for benchmarking (RFC 2544): it never collides with a real network
// the lab could leak into. The /24 is derived from the prefix so that a lab keeps its addresses
// across down/up and two labs with different prefixes usually differ.
export function subnetForPrefix(prefix: string): LabSubnet {
  let h = 0x811c9dc5; // FNV-1a
  for (const ch of Buffer.from(prefix)) h = Math.imul(h ^ ch, 0x01000193) >>> 0;
  const x = h % 512;
  const base = `198.${18 + (x >> 8)}.${x & 255}`;
  return { cidr: `${base}.0/24`, gateway: `${base}.1`, base };
}

export const hostAddress = (subnet: LabSubnet, i: number): string => `${subnet.base}.${10 + i}`;

/**
 * Fixed, locally administered MACs (02:6b:…): a recreated host keeps its MAC, so the root
 * namespace's cached ARP entry for its address stays right (with a random MAC, SSH to a recreated
 * host hangs until that entry expires). Bytes: lab subnet, host index, side<<4 | NIC.
 */
export function hostMac(subnet: LabSubnet, index: number, nic: 'mgmt0' | 'eth1' | 'eth2', side: 'host' | 'root'): string {
  const [, second, third] = subnet.base.split('.').map(Number);
  const x = ((second ?? 18) - 18) * 256 + (third ?? 0);
  const nicByte = (side === 'root' ? 0x10 : 0) | ['mgmt0', 'eth1', 'eth2'].indexOf(nic);
  return [0x02, 0x6b, x >> 8, x & 255, index, nicByte].map((b) => b.toString(16).padStart(2, '0')).join(':');
}
