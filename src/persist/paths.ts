// Where persisted configuration lives, per format. Pure: names in, paths out.

import { IFUPDOWN_DIR, NETWORKD_DIR } from '../model/persist-kinds.js';

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
  return [...Buffer.from(name, 'utf8')]
    .map((b) => (/[A-Za-z0-9-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `_${b.toString(16).padStart(2, '0')}`))
    .join('');
}

export const ifupdownPaths = {
  /** The interface's stanza (`auto`, `iface … inet manual`, bridge options with all its ports). */
  main: (name: string) => `${IFUPDOWN_DIR}/kvmnet-${encodeIfupdownName(name)}`,
  /** One more `iface DEV inet[6] static` stanza per address; sorts after the main file. */
  address: (dev: string, address: string) => `${ifupdownPaths.main(dev)}__${address.replace(/[.:]/g, '-')}`,
};

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
