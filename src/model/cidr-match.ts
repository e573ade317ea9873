// Whether an address falls inside a prefix (`default` covers every address of its family): which
// route or rule could carry the SSH session.
import { isIP } from 'node:net';

function toBigInt(address: string): bigint | undefined {
  const v = isIP(address);
  if (v === 4) return address.split('.').reduce((acc, p) => (acc << 8n) | BigInt(Number(p)), 0n);
  if (v !== 6) return undefined;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const h = head ? head.split(':') : [];
  const t = address.includes('::') && tail ? tail.split(':') : [];
  if ([...h, ...t].some((g) => g.includes('.'))) return undefined;
  const groups = [...h, ...(address.includes('::') ? Array<string>(8 - h.length - t.length).fill('0') : []), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}

/** `prefix` is `a.b.c.d/len`, a bare address (a host route), or `default`. */
export function prefixCovers(prefix: string, address: string): boolean {
  const addr = address.replace(/^::ffff:(?=\d+\.)/i, '');
  const family = isIP(addr);
  if (prefix === 'default') return family !== 0;
  const [net = '', lenText] = prefix.split('/');
  if (isIP(net) !== family) return false;
  const bits = family === 4 ? 32 : 128;
  const len = lenText === undefined ? bits : Number(lenText);
  const a = toBigInt(addr);
  const n = toBigInt(net);
  if (a === undefined || n === undefined || !Number.isInteger(len) || len < 0 || len > bits) return false;
  const shift = BigInt(bits - len);
  return a >> shift === n >> shift;
}
