// Checks for values that end up in a remote shell or in libvirt XML. They run before any host is contacted.
import { isIP } from 'node:net';

/** Linux IFNAMSIZ is 16 including the NUL; the kernel also rejects '/', ':' (aliases) and whitespace; '%' is printf-expanded by `ip`. */
export function interfaceNameProblem(name: string): string | undefined {
  const bytes = Buffer.byteLength(name);
  if (bytes === 0) return 'an interface name cannot be empty';
  if (bytes > 15) return `an interface name is at most 15 bytes, this one is ${bytes}`;
  if (name === '.' || name === '..') return `'${name}' is not a valid interface name`;
  const bad = /[\s/:%]/.exec(name);
  if (bad) return `an interface name cannot contain ${describeChar(bad[0])}`;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(name)) return 'an interface name cannot contain control characters';
  // Stricter than the kernel on purpose: these names pass through shells and XML.
  if (!/^[A-Za-z0-9_.@+-]+$/.test(name)) return 'an interface name may only use letters, digits and _ . @ + -';
  return undefined;
}

function describeChar(c: string): string {
  if (c === ' ') return 'a space';
  if (c === '\n') return 'a newline';
  if (c === '\t') return 'a tab';
  return `'${c}'`;
}

/** libvirt network names become file names and bridge-less identifiers; keep them plain. */
export function networkNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'a network name cannot be empty';
  if (name.length > 64) return 'a network name is at most 64 characters';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/.test(name)) return 'a libvirt network name may only use letters, digits and _ . + - (starting with a letter or digit)';
  return undefined;
}

export interface Cidr {
  address: string;
  prefix: number;
  family: 4 | 6;
}

export function parseCidr(text: string): Cidr | undefined {
  const m = /^([^/\s]+)\/(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const family = isIP(m[1]!);
  const prefix = Number(m[2]);
  if (family === 0) return undefined;
  if (prefix > (family === 4 ? 32 : 128)) return undefined;
  return { address: m[1]!.toLowerCase(), prefix, family: family as 4 | 6 };
}

export function cidrProblem(text: string): string | undefined {
  if (!text.includes('/')) return 'expected an address with a prefix length, like 192.168.0.90/24 or 2001:db8::1/64';
  return parseCidr(text) ? undefined : 'expected an IPv4 or IPv6 address with a prefix length, like 192.168.0.90/24 or 2001:db8::1/64';
}

export function ipProblem(text: string): string | undefined {
  return isIP(text) ? undefined : 'expected an IPv4 or IPv6 address';
}

export function macProblem(text: string): string | undefined {
  return /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(text) ? undefined : 'expected a MAC address like 52:54:00:12:34:56';
}

/** Netmask 255.255.255.0 → 24; undefined when the mask is not contiguous. */
export function netmaskToPrefix(mask: string): number | undefined {
  if (isIP(mask) !== 4) return undefined;
  const bits = mask
    .split('.')
    .map((o) => Number(o).toString(2).padStart(8, '0'))
    .join('');
  return /^1*0*$/.test(bits) ? (bits.indexOf('0') === -1 ? 32 : bits.indexOf('0')) : undefined;
}
