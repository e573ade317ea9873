// One spelling per IP address, so that `2001:DB8:0::1` and `2001:db8::1` compare equal.
import { isIP } from 'node:net';

/** RFC 5952: lower case, no leading zeros, the longest run of two or more zero groups as `::`. */
export function canonicalAddress(address: string): string {
  if (isIP(address) !== 6) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const h = head ? head.split(':') : [];
  const t = address.includes('::') && tail ? tail.split(':') : [];
  // An embedded IPv4 tail (::ffff:1.2.3.4) stays as written.
  if ([...h, ...t].some((g) => g.includes('.'))) return address.toLowerCase();
  const groups = [...h, ...(address.includes('::') ? Array<string>(8 - h.length - t.length).fill('0') : []), ...t].map((g) => g.replace(/^0+(?=.)/, ''));
  let best = { start: -1, len: 0 };
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.len && j - i >= 2) best = { start: i, len: j - i };
    i = j;
  }
  if (best.start < 0) return groups.join(':');
  return `${groups.slice(0, best.start).join(':')}::${groups.slice(best.start + best.len).join(':')}`;
}

export const sameAddress = (a: string, b: string): boolean => canonicalAddress(a) === canonicalAddress(b);
