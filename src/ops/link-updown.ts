// What the kernel does to a link's addresses and routes when it is set down or up (measured in a
// network namespace, test/fixtures/facts/link-down-fixtures.md): down removes every route through
// the link, of both families and in every table, and its IPv6 addresses (keep_addr_on_down is off
// by default); its IPv4 addresses stay. Up adds back the connected route of each IPv4 address (not
// of a /32), and nothing else kvmnet or a user added. A link that only loses its carrier (the peer
// of a downed veth, a cable pulled) keeps its routes, flagged linkdown: this is the admin state only.
import type { Facts } from '../model/facts.js';

export function linkDownEffect(f: Facts, name: string): void {
  f.routes = f.routes.filter((r) => r.dev !== name);
  f.addrs = f.addrs.filter((a) => !(a.dev === name && a.family === 6));
}

// IPv6 link-local addresses and fe80::/64 come back too, but from the kernel's address generation
// and DAD, on its own time: the facts leave them to the next read (as after any link change).
export function linkUpEffect(f: Facts, name: string): void {
  for (const a of f.addrs.filter((x) => x.dev === name && x.family === 4 && x.prefix < 32)) {
    const dst = `${ipv4Network(a.address, a.prefix)}/${a.prefix}`;
    if (f.routes.some((r) => r.family === 4 && r.dev === name && r.dst === dst && r.table === undefined && r.protocol === 'kernel')) continue;
    f.routes.push({ family: 4, dst, dev: name, protocol: 'kernel', scope: 'link', prefsrc: a.address });
  }
}

/** 198.18.250.1, 24 → 198.18.250.0 */
export function ipv4Network(address: string, prefix: number): string {
  const n = address.split('.').reduce((acc, o) => ((acc << 8) | Number(o)) >>> 0, 0);
  const net = prefix === 0 ? 0 : (n & (~0 << (32 - prefix))) >>> 0;
  return [24, 16, 8, 0].map((s) => (net >>> s) & 255).join('.');
}
