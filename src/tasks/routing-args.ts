// Arguments shared by ensure_route and ensure_rule: a prefix written the way the kernel lists it
// (so a written value and the facts compare as text), routing tables, families.
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseCidr } from '../config/validators.js';
import { canonicalAddress } from '../model/ip-address.js';

/** `default`, an address, or address/prefix with no host bits set. */
export function prefixProblem(text: string, allowDefault: boolean): string | undefined {
  if (allowDefault && text === 'default') return undefined;
  if (isIP(text)) return undefined;
  const c = parseCidr(text);
  if (!c) return `expected ${allowDefault ? "'default', " : ''}an address or address/prefix, IPv4 or IPv6 (like 10.20.0.0/16 or 2001:db8:20::/48)`;
  if (kernelPrefix(text) !== `${canonicalAddress(c.address)}/${c.prefix}` && kernelPrefix(text).includes('/')) {
    return `${text} has host bits set: the network is ${kernelPrefix(text)}`;
  }
  return undefined;
}

const bitsOf = (family: 4 | 6) => (family === 4 ? 32 : 128);

function toBig(address: string, family: 4 | 6): bigint {
  if (family === 4) return address.split('.').reduce((a, p) => (a << 8n) | BigInt(Number(p)), 0n);
  const groups = canonicalAddress(address).split('::');
  const h = groups[0] ? groups[0].split(':') : [];
  const t = groups.length > 1 && groups[1] ? groups[1].split(':') : [];
  const all = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return all.reduce((a, g) => (a << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function fromBig(v: bigint, family: 4 | 6): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join('.');
  const groups = [];
  for (let i = 7; i >= 0; i--) groups.push(((v >> BigInt(i * 16)) & 0xffffn).toString(16));
  return canonicalAddress(groups.join(':'));
}

/** The prefix as `ip -j route|rule` lists it: canonical address, host routes without /32 or /128, host bits cleared. */
export function kernelPrefix(text: string): string {
  if (text === 'default') return text;
  if (isIP(text)) return canonicalAddress(text.toLowerCase());
  const c = parseCidr(text);
  if (!c) return text;
  if (c.prefix === bitsOf(c.family)) return canonicalAddress(c.address);
  const shift = BigInt(bitsOf(c.family) - c.prefix);
  return `${fromBig((toBig(c.address, c.family) >> shift) << shift, c.family)}/${c.prefix}`;
}

export const familyOf = (text: string | undefined): 4 | 6 | undefined => {
  if (!text || text === 'default') return undefined;
  const f = isIP(text.split('/')[0]!);
  return f === 4 || f === 6 ? f : undefined;
};

/** A routing table: a number (1–4294967295) or a name from /etc/iproute2/rt_tables, as `ip route` lists it. */
export const tableArg = z
  .union([z.number().int().min(1).max(4294967295), z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a table number or a name from /etc/iproute2/rt_tables')])
  .optional();

/** The table as the kernel lists it: main is 254, local 255, default 253. */
export function tableText(t: string | number | undefined): string | undefined {
  if (t === undefined) return undefined;
  const s = String(t);
  return ({ '254': 'main', '255': 'local', '253': 'default' } as Record<string, string>)[s] ?? s;
}
