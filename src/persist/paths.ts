// Where persisted configuration lives, per format. Pure: names in, paths out.
import { isIP } from 'node:net';

export type PersistKind = 'networkd' | 'ifupdown' | 'none';
export type PersistFormat = Exclude<PersistKind, 'none'>;
export const PERSIST_KINDS = ['networkd', 'ifupdown', 'none'] as const;

export const NETWORKD_DIR = '/etc/systemd/network';
export const IFUPDOWN_DIR = '/etc/network/interfaces.d';
export const PERSIST_DIRS: Record<PersistFormat, string> = { networkd: NETWORKD_DIR, ifupdown: IFUPDOWN_DIR };

// networkd applies only the FIRST .network file (alphanumeric order over /etc, /run and /usr/lib)
// that matches a link; systemd.network(5) recommends a number below 70 so that catch-alls such as
// 80-*.network or 89-ethernet.network, and generated files, do not win over ours.
const NETWORKD_PREFIX = '10-kvmnet-';

export const networkdPaths = {
  netdev: (name: string) => `${NETWORKD_DIR}/${NETWORKD_PREFIX}${name}.netdev`,
  network: (name: string) => `${NETWORKD_DIR}/${NETWORKD_PREFIX}${name}.network`,
  /** Drop-ins of a .network are merged into it: several Address= lines add up (one file per address). */
  dropIns: (name: string) => `${NETWORKD_DIR}/${NETWORKD_PREFIX}${name}.network.d`,
  address: (dev: string, address: string) => `${networkdPaths.dropIns(dev)}/address-${address}.conf`,
};

// With `source-directory` ifupdown reads only files whose names match ^[a-zA-Z0-9_-]+$ (a dot,
// e.g. of eth1.100, would make it skip the file silently), so other characters become _XX (hex).
// `_` itself is escaped, so `__` never occurs in an encoded name and can separate the address.
export function encodeIfupdownName(name: string): string {
  return [...Buffer.from(name, 'utf8')].map((b) => (/[A-Za-z0-9-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `_${b.toString(16).padStart(2, '0')}`)).join('');
}

export const ifupdownPaths = {
  /** The interface's stanza (`auto`, `iface … inet manual`, bridge options with all its ports). */
  main: (name: string) => `${IFUPDOWN_DIR}/kvmnet-${encodeIfupdownName(name)}`,
  /** One more `iface DEV inet[6] static` stanza per address; sorts after the main file. */
  address: (dev: string, address: string) => `${ifupdownPaths.main(dev)}__${address.replace(/[.:]/g, '-')}`,
};

/**
 * One spelling per address, so `2001:DB8:0::1` and `2001:db8::1` name the same file (RFC 5952:
 * lower case, no leading zeros, the longest run of two or more zero groups as `::`).
 */
export function canonicalAddress(address: string): string {
  if (isIP(address) !== 6) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const h = head ? head.split(':') : [];
  const t = address.includes('::') && tail ? tail.split(':') : [];
  // An embedded IPv4 tail (::ffff:1.2.3.4) stays as written.
  if ([...h, ...t].some((g) => g.includes('.'))) return address.toLowerCase();
  const groups = [...h, ...(address.includes('::') ? Array<string>(8 - h.length - t.length).fill('0') : []), ...t].map((g) => g.replace(/^0+(?=.)/, ''));
  let best = { start: -1, len: 0 };
  for (let i = 0; i < 8; ) {
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

/** Which kvmnet file a path is, or undefined for anything else. */
export type PersistedPath =
  | { format: 'networkd'; role: 'netdev' | 'network'; name: string }
  | { format: 'networkd'; role: 'address'; name: string }
  | { format: 'ifupdown'; role: 'main' | 'address' };

export function classifyPath(path: string): PersistedPath | undefined {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const nwd = new RegExp(`^${esc(NETWORKD_DIR)}/${esc(NETWORKD_PREFIX)}(.+?)(\\.netdev|\\.network|\\.network\\.d/[^/]+\\.conf)$`).exec(path);
  if (nwd) return { format: 'networkd', role: nwd[2] === '.netdev' ? 'netdev' : nwd[2] === '.network' ? 'network' : 'address', name: nwd[1]! };
  const ifd = new RegExp(`^${esc(IFUPDOWN_DIR)}/kvmnet-[A-Za-z0-9_-]+$`).exec(path);
  if (ifd) return { format: 'ifupdown', role: path.includes('__') ? 'address' : 'main' };
  return undefined;
}
