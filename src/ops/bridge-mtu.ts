// The kernel gives a bridge the smallest MTU of its ports (1500 without any) whenever a port joins,
// leaves or changes its MTU, unless the bridge's own MTU was set by hand (net/bridge/br_if.c
// br_mtu_auto_adjust, BROPT_MTU_SET_BY_USER). Facts cannot see that flag: a bridge whose MTU is not
// its ports' smallest is taken as set by hand and left alone. Measured in a namespace: a 1450 port
// brought its bridge to 1450 and leaving put it back to 1500; after `ip link set BR mtu 1400` a
// 1500 port left it at 1400.
import type { Facts } from '../model/facts.js';

const ETH_DATA_LEN = 1500;

/** The MTU the kernel gives BRIDGE from its ports. */
function portsMtu(f: Facts, bridge: string): number {
  const mtus = Object.values(f.links)
    .filter((l) => l.master === bridge)
    .map((l) => l.mtu);
  return mtus.length ? Math.min(...mtus) : ETH_DATA_LEN;
}

/** Applies CHANGE to F, then the MTU the kernel gives each of BRIDGES whose MTU followed its ports. */
export function followingBridgeMtu(f: Facts, bridges: ReadonlyArray<string | undefined>, change: () => void): void {
  const following = [...new Set(bridges)].filter((b): b is string => b !== undefined && f.links[b]?.kind === 'bridge' && f.links[b].mtu === portsMtu(f, b));
  change();
  for (const b of following) if (f.links[b]) f.links[b].mtu = portsMtu(f, b);
}
