// Pure parsers for iproute2's JSON output (`ip -j -d link`, `ip -j addr`, `ip -j route`).
import type { AddrFact, LinkFact, RouteFact } from '../model/facts.js';

interface IpLink {
  ifname: string;
  flags?: string[];
  mtu?: number;
  operstate?: string;
  address?: string;
  master?: string;
  /** `ip` names the lower device of a VLAN or macvlan here (`link: "eth0"`); a peer in another namespace is `link_netnsid`. */
  link?: string;
  linkinfo?: { info_kind?: string; info_data?: { stp_state?: number; forward_delay?: number } };
}

export function parseLinks(json: string): Record<string, LinkFact> {
  const links: Record<string, LinkFact> = {};
  for (const l of parseJsonArray<IpLink>(json, 'ip -j -d link show')) {
    const kind = l.linkinfo?.info_kind;
    const data = l.linkinfo?.info_data;
    links[l.ifname] = {
      name: l.ifname,
      kind,
      master: l.master,
      lower: typeof l.link === 'string' ? l.link : undefined,
      up: (l.flags ?? []).includes('UP'),
      operstate: l.operstate ?? 'UNKNOWN',
      mtu: l.mtu ?? 0,
      mac: l.address,
      // ip reports forward_delay in centiseconds (USER_HZ); planners work in seconds.
      bridge: kind === 'bridge' ? { stp: (data?.stp_state ?? 0) !== 0, forwardDelay: (data?.forward_delay ?? 0) / 100 } : undefined,
    };
  }
  return links;
}

interface IpAddrLink {
  ifname: string;
  addr_info?: Array<{ family: string; local: string; prefixlen: number; scope?: string }>;
}

export function parseAddrs(json: string): AddrFact[] {
  const out: AddrFact[] = [];
  for (const l of parseJsonArray<IpAddrLink>(json, 'ip -j addr show')) {
    for (const a of l.addr_info ?? []) {
      if (a.family !== 'inet' && a.family !== 'inet6') continue;
      out.push({ dev: l.ifname, family: a.family === 'inet' ? 4 : 6, address: a.local.toLowerCase(), prefix: a.prefixlen, scope: a.scope ?? 'global' });
    }
  }
  return out;
}

interface IpRoute {
  dst: string;
  dev?: string;
  gateway?: string;
  metric?: number;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  table?: string;
  type?: string;
  flags?: string[];
  metrics?: Array<Record<string, number>>;
}

/** Routes of `ip -j route show` (any table): table, onlink and mtu only where the kernel lists them. */
export function parseRoutes(json: string, family: 4 | 6): RouteFact[] {
  return parseJsonArray<IpRoute>(json, 'ip -j route show').map((r) => {
    const route: RouteFact = {
      family,
      dst: r.dst,
      dev: r.dev,
      gateway: r.gateway,
      metric: r.metric,
      protocol: r.protocol,
      scope: r.scope,
      prefsrc: r.prefsrc,
    };
    if (r.table !== undefined && r.table !== 'main') route.table = String(r.table);
    if (r.flags?.includes('onlink')) route.onlink = true;
    const mtu = r.metrics?.find((m) => typeof m.mtu === 'number')?.mtu;
    if (mtu !== undefined) route.mtu = mtu;
    return route;
  });
}

/** Routes of `ip -j route show table all` outside main and local (the core facts read main). */
export function parseOtherTableRoutes(json: string, family: 4 | 6): RouteFact[] {
  const raw = parseJsonArray<IpRoute>(json, 'ip -j route show table all');
  const keep = raw.filter((r) => r.table !== undefined && r.table !== 'main' && r.table !== 'local' && (r.type === undefined || r.type === 'unicast'));
  return parseRoutes(JSON.stringify(keep), family);
}

function parseJsonArray<T>(json: string, what: string): T[] {
  const text = json.trim();
  if (text === '') return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`cannot parse the output of '${what}' as JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!Array.isArray(value)) throw new Error(`'${what}' did not print a JSON list`);
  return value as T[];
}
