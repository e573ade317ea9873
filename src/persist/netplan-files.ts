// `persist: netplan`: one kvmnet-owned netplan file per device a task is about (and the bond or
// bridge it is a member of: netplan lists members in the bond's and the bridge's definition),
// rendered from the running state the task leaves, then `netplan generate` — which validates the
// whole configuration and writes the backend's files for the next boot. Never `netplan apply`:
// kvmnet already made the change at runtime, and apply would re-configure every link. Pure.
//
// netplan(5), 0.106 (Debian 12): /etc/netplan/90-kvmnet-DEV.yaml (0600), files merged by netplan:
//   network: { version: 2, ethernets|bonds|vlans|bridges: { DEV: { … } } }
//   bonds.DEV: interfaces, parameters { mode, mii-monitor-interval, lacp-rate, transmit-hash-policy, primary }
//   vlans.DEV: id, link;  bridges.DEV: interfaces, parameters { stp, forward-delay };  addresses: [CIDR…]
//   routes: [{ to, via, metric, table, mtu, on-link, from (the preferred source), scope }]
//   routing-policy: [{ from, to, table, priority, mark }]  (no iif/oif, no mark mask: refused)
//   tunnels.DEV: mode: vxlan, id, local, remote (ONE: netplan has no flooding list), link, port, mac-learning
// netplan 0.106 has no VLAN filtering for bridges: a VLAN-aware bridge or port is refused.
import { stringify } from 'yaml';
import { RefusedError } from '../errors.js';
import type { Facts, RouteFact, RuleFact } from '../model/facts.js';
import type { FileWant } from './persistence.js';
import { persistableRoutes, persistableRules } from './routing-devices.js';

export const NETPLAN_DIR = '/etc/netplan';
// netplan 0.106 reads the files in name order and an interface must be defined before (or in) the
// file that names it (measured: `interface 'eth1' is not defined` for a bond file sorting before
// eth1's): a rank after the prefix puts NICs before bonds, bonds before VLANs, VLANs before bridges.
const RANK: Record<string, number> = { bond: 1, vlan: 2, vxlan: 2, bridge: 3 };
export const netplanPath = (dev: string, kind?: string) => `${NETPLAN_DIR}/90-kvmnet-${RANK[kind ?? ''] ?? 0}-${dev}.yaml`;
export const isNetplanPath = (path: string) => /^\/etc\/netplan\/90-kvmnet-\d-[^/]+\.yaml$/.test(path);
/** The device of a kvmnet netplan file. */
export const netplanDevice = (path: string) => path.slice(`${NETPLAN_DIR}/90-kvmnet-0-`.length, -'.yaml'.length);

const HEADER = '# Written by kvmnet; changes made here are overwritten on its next run.\n';

const tableNumber = (table: string | undefined, what: string, host: string): number | undefined => {
  if (table === undefined || table === 'main') return undefined;
  if (!/^\d+$/.test(table))
    throw new RefusedError(`persist: netplan on ${host}: ${what} looks up table ${table}, and netplan takes table numbers only: use the table's number`);
  return Number(table);
};

/** A route as netplan writes it (the metric always: the backend's default is not the kernel's 0). */
export function netplanRoute(r: RouteFact, host: string): Record<string, unknown> {
  const table = tableNumber(r.table, `route ${r.dst}`, host);
  return {
    to: r.dst,
    ...(r.gateway ? { via: r.gateway } : {}),
    metric: r.metric ?? 0,
    ...(table !== undefined ? { table } : {}),
    ...(r.scope === 'link' || r.scope === 'host' ? { scope: r.scope } : {}),
    ...(r.mtu !== undefined ? { mtu: r.mtu } : {}),
    ...(r.onlink ? { 'on-link': true } : {}),
    ...(r.prefsrc ? { from: r.prefsrc } : {}),
  };
}

/** A rule as netplan's routing-policy writes it. */
export function netplanRule(r: RuleFact, host: string): Record<string, unknown> {
  const what = `rule ${r.priority}`;
  if (r.iif || r.oif)
    throw new RefusedError(
      `persist: netplan on ${host}: ${what} matches ${r.iif ? `iif ${r.iif}` : `oif ${r.oif}`}, and netplan's routing-policy has no interface selector; use persist: networkd or none for it`,
    );
  if (r.fwmark?.includes('/'))
    throw new RefusedError(
      `persist: netplan on ${host}: ${what} matches fwmark ${r.fwmark}, and netplan's mark has no mask; use persist: networkd or none for it`,
    );
  if (r.from === undefined && r.to === undefined)
    throw new RefusedError(`persist: netplan on ${host}: ${what} has neither from nor to, which netplan's routing-policy needs`);
  return {
    ...(r.from ? { from: r.from } : {}),
    ...(r.to ? { to: r.to } : {}),
    ...(r.fwmark ? { mark: Number(r.fwmark) } : {}),
    table: tableNumber(r.table, what, host) ?? 254,
    priority: r.priority,
  };
}

/** The netplan file of DEV as it runs in FACTS. Throws RefusedError for what netplan cannot say. */
export function netplanFile(facts: Facts, dev: string, host: string): string {
  const link = facts.links[dev]!;
  const members = () =>
    Object.values(facts.links)
      .filter((l) => l.master === dev)
      .map((l) => l.name)
      .sort();
  const def: Record<string, unknown> = {};
  let section = 'ethernets';
  if (link.kind === 'bond' && link.bond) {
    section = 'bonds';
    const b = link.bond;
    if (members().length) def.interfaces = members();
    def.parameters = {
      mode: b.mode,
      'mii-monitor-interval': b.miimon,
      ...(b.mode === '802.3ad' && b.lacpRate ? { 'lacp-rate': b.lacpRate } : {}),
      ...(b.xmitHashPolicy && ['802.3ad', 'balance-xor', 'balance-tlb', 'balance-alb'].includes(b.mode) ? { 'transmit-hash-policy': b.xmitHashPolicy } : {}),
      ...(b.primary ? { primary: b.primary } : {}),
    };
  } else if (link.kind === 'vlan' && link.vlan && link.lower) {
    section = 'vlans';
    Object.assign(def, { id: link.vlan.id, link: link.lower });
  } else if (link.kind === 'bridge' && link.bridge) {
    if (link.bridge.vlanFiltering)
      throw new RefusedError(
        `persist: netplan on ${host}: ${dev} is a VLAN-aware bridge, and netplan (0.106) cannot configure VLAN filtering; use persist: networkd or none for it`,
      );
    section = 'bridges';
    if (members().length) def.interfaces = members();
    def.parameters = { stp: link.bridge.stp, 'forward-delay': link.bridge.forwardDelay };
  } else if (link.kind === 'vxlan' && link.vxlan) {
    section = 'tunnels';
    const v = link.vxlan;
    const remotes = v.group ? [v.group] : (link.fdbRemotes ?? []);
    if (remotes.length > 1)
      throw new RefusedError(
        `persist: netplan on ${host}: VXLAN ${dev} floods to ${remotes.length} remotes (${remotes.join(', ')}), and netplan's VXLAN has one remote only; use persist: networkd or ifupdown for it, or persist: none`,
      );
    // netplan needs the underlay defined in its configuration too (measured: "interface 'mgmt0' is not defined").
    if (v.dev && !Object.keys(facts.persisted ?? {}).some((p) => isNetplanPath(p) && netplanDevice(p) === v.dev)) {
      throw new RefusedError(
        `persist: netplan on ${host}: VXLAN ${dev} sits on ${v.dev}, which netplan must define too, and kvmnet has no netplan file of ${v.dev}; persist ${v.dev} with netplan first, or give the VXLAN a local address instead of dev`,
      );
    }
    Object.assign(def, {
      mode: 'vxlan',
      id: v.vni,
      ...(v.local ? { local: v.local } : {}),
      ...(remotes[0] ? { remote: remotes[0] } : {}),
      ...(v.dev ? { link: v.dev } : {}),
      port: v.dstport,
      'mac-learning': v.learning,
    });
  } else if (link.kind !== undefined) {
    throw new RefusedError(`persist: netplan on ${host}: kvmnet does not write netplan definitions of ${link.kind} links (${dev})`);
  }
  const master = link.master ? facts.links[link.master] : undefined;
  if (master?.kind === 'bridge' && master.bridge?.vlanFiltering)
    throw new RefusedError(`persist: netplan on ${host}: ${dev} is a port of the VLAN-aware bridge ${master.name}, which netplan (0.106) cannot configure`);
  if (!master) {
    const addrs = facts.addrs
      .filter((a) => a.dev === dev && a.scope === 'global')
      .map((a) => `${a.address}/${a.prefix}`)
      .sort();
    if (addrs.length) def.addresses = addrs;
    const routes = [4, 6].flatMap((family) => persistableRoutes(facts, dev, family as 4 | 6)).map((r) => netplanRoute(r, host));
    if (routes.length) def.routes = routes;
    const rules = [4, 6].flatMap((family) => persistableRules(facts, dev, family as 4 | 6)).map((r) => netplanRule(r, host));
    if (rules.length) def['routing-policy'] = rules;
  }
  if (link.mtu !== 1500) def.mtu = link.mtu;
  return HEADER + stringify({ network: { version: 2, [section]: { [dev]: def } } });
}

/** The files for DEVICES and the bonds/bridges they are members of, as they run in AFTER (a device gone: its file goes). */
export function netplanWants(after: Facts, devices: readonly string[], host: string, before: Facts = after): FileWant[] {
  const all = new Set<string>();
  for (const d of devices) {
    if (d === 'lo') continue;
    all.add(d);
    const master = after.links[d]?.master;
    if (master && ['bond', 'bridge'].includes(after.links[master]?.kind ?? '')) all.add(master);
  }
  return [...all].flatMap((dev): FileWant[] => {
    const link = after.links[dev];
    if (link) return [{ path: netplanPath(dev, link.kind), content: netplanFile(after, dev, host) }];
    return Object.keys(before.persisted ?? {})
      .filter((p) => isNetplanPath(p) && netplanDevice(p) === dev)
      .map((path) => ({ path, content: null }));
  });
}
