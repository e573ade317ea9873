// The effect of `link.up` on the facts is what the kernel does to the link's routes and addresses,
// against facts captured in a network namespace before and after `ip link set … down` and up again
// (test/fixtures/facts/link-down-fixtures.md).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALL_FRAGMENTS } from '../../src/facts/needs.js';
import { parseFacts } from '../../src/facts/parse.js';
import type { Facts } from '../../src/model/facts.js';
import { applyOps } from '../../src/ops/index.js';
import { ipv4Network } from '../../src/ops/link-updown.js';

const capture = (name: string): Facts =>
  parseFacts(readFileSync(new URL(`../fixtures/facts/${name}.stdout`, import.meta.url), 'utf8'), '', ALL_FRAGMENTS).facts;

/**
 * Addresses and routes, sorted. Left out: IPv6 link-local addresses and fe80::/64, which the kernel
 * makes again on up by its own address generation and DAD (kvmnet's effect leaves them to the next read).
 */
function l3(f: Facts) {
  const sorted = <T>(xs: T[]) => xs.map((x) => JSON.parse(JSON.stringify(x)) as T).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  return {
    addrs: sorted(f.addrs.filter((a) => a.scope !== 'link')),
    routes: sorted(f.routes.filter((r) => !(r.family === 6 && r.dst.startsWith('fe80')))),
  };
}

describe('link.up: the effect is what the kernel does', () => {
  const before = capture('link-down-before');
  const down = capture('link-down-after');
  const up = capture('link-down-up');

  it('the captures show it: down drops every route through the link and its IPv6 addresses; its IPv4 addresses stay', () => {
    expect(before.routes.filter((r) => r.dev === 'klft0').map((r) => r.dst)).toEqual(
      expect.arrayContaining(['default', '198.18.250.0/24', '198.18.251.0/24', '198.18.252.0/24', '2001:db8:251::/64', '198.18.253.0/24']),
    );
    expect(down.routes.filter((r) => r.dev === 'klft0')).toEqual([]);
    expect(down.addrs.filter((a) => a.dev === 'klft0').map((a) => a.address)).toEqual(['198.18.250.1', '198.18.249.1']);
    // The peer lost its carrier only: its routes stay.
    expect(
      down.routes
        .filter((r) => r.dev === 'klft1')
        .map((r) => r.dst)
        .sort(),
    ).toEqual(['198.18.248.0/24', '198.18.254.0/24', 'fe80::/64']);
  });

  it('down: the effect on the facts before gives the facts read after', () => {
    const f = structuredClone(before);
    applyOps([{ op: 'link.up', name: 'klft0', up: false }], f);
    expect(f.links.klft0!.up).toBe(false);
    expect(l3(f)).toEqual(l3(down));
    // Link-local ones as well: they go down with the link.
    expect(f.addrs.filter((a) => a.dev === 'klft0' && a.family === 6)).toEqual([]);
  });

  it('up again: the connected route of each IPv4 address comes back (not of a /32), nothing that was added', () => {
    const f = structuredClone(down);
    applyOps([{ op: 'link.up', name: 'klft0', up: true }], f);
    expect(f.links.klft0!.up).toBe(true);
    expect(l3(f)).toEqual(l3(up));
  });

  it('a link already in that state: nothing moves', () => {
    const f = structuredClone(before);
    applyOps([{ op: 'link.up', name: 'klft0', up: true }], f);
    expect(l3(f)).toEqual(l3(before));
    const g = structuredClone(down);
    applyOps([{ op: 'link.up', name: 'klft0', up: false }], g);
    expect(l3(g)).toEqual(l3(down));
  });

  it('ipv4Network', () => {
    expect([
      ipv4Network('198.18.250.1', 24),
      ipv4Network('10.1.2.3', 8),
      ipv4Network('192.168.7.200', 26),
      ipv4Network('255.255.255.255', 1),
      ipv4Network('1.2.3.4', 0),
    ]).toEqual(['198.18.250.0', '10.0.0.0', '192.168.7.192', '128.0.0.0', '0.0.0.0']);
  });
});
