// `persist: networkmanager`: one NetworkManager keyfile profile per device a task changes,
// rendered from the running state the task leaves (the facts after its changes), so that what
// NetworkManager activates at boot is what kvmnet made at runtime. Pure.
//
// nm-settings-keyfile(5), NetworkManager 1.42 (Debian 12):
//   /etc/NetworkManager/system-connections/kvmnet-DEV.nmconnection (root, 0600: NM ignores others)
//   [connection] id, uuid (stable: derived from the name), type bond|vlan|bridge|ethernet,
//                interface-name, master= + slave-type= for a bond member or a bridge port
//   [bond] mode, miimon, lacp_rate, xmit_hash_policy, primary     (kernel bonding option names)
//   [vlan] parent, id
//   [bridge] stp, forward-delay, vlan-filtering, vlan-default-pvid
//   [bridge-port] vlans=30,99 pvid untagged,200-202               (a VLAN-aware bridge's port)
//   [ipv4] method=manual + address1… | disabled; [ipv6] method=manual + addresses | ignore
//          route1=DST/PLEN,GATEWAY,METRIC + route1_options=table=N,mtu=N,onlink=true,src=A
//          routing-rule1=priority N from P to P iif D oif D fwmark M/MASK table N
//          (NetworkManager 1.42 has no routes on a family whose method is disabled: refused)
//   [vxlan] id, local, remote (ONE unicast remote or the group), parent, destination-port, learning
import { createHash } from 'node:crypto';
import { RefusedError } from '../errors.js';
import type { Facts, LinkFact, RouteFact, RuleFact } from '../model/facts.js';
import type { FileWant } from './persistence.js';
import { persistableRoutes, persistableRules } from './routing-devices.js';

export const NM_DIR = '/etc/NetworkManager/system-connections';
export const nmProfilePath = (dev: string) => `${NM_DIR}/kvmnet-${dev}.nmconnection`;
export const isNmProfilePath = (path: string) => path.startsWith(`${NM_DIR}/kvmnet-`) && path.endsWith('.nmconnection');

/** A UUID that is the same for the same device on every run (the profile's identity). */
function stableUuid(dev: string): string {
  const h = createHash('sha256').update(`kvmnet-nm-profile:${dev}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const NM_TYPE: Record<string, string> = { bond: 'bond', vlan: 'vlan', bridge: 'bridge', vxlan: 'vxlan' };

/** The port's VLAN set in bridge-port.vlans syntax, ranges folded: `30,99 pvid untagged,200-202`. */
export function nmPortVlans(link: LinkFact): string {
  const vlans = [...(link.vlans ?? [])].sort((a, b) => a.id - b.id);
  const out: string[] = [];
  for (let i = 0; i < vlans.length;) {
    const v = vlans[i]!;
    let j = i;
    while (!v.pvid && j + 1 < vlans.length && vlans[j + 1]!.id === vlans[j]!.id + 1 && !vlans[j + 1]!.pvid && vlans[j + 1]!.untagged === v.untagged) j++;
    out.push(`${j > i ? `${v.id}-${vlans[j]!.id}` : v.id}${v.pvid ? ' pvid' : ''}${v.untagged ? ' untagged' : ''}`);
    i = j + 1;
  }
  return out.join(',');
}

const withPrefix = (p: string, family: 4 | 6) =>
  p === 'default' ? (family === 4 ? '0.0.0.0/0' : '::/0') : p.includes('/') ? p : `${p}/${family === 4 ? 32 : 128}`;
// NetworkManager takes table numbers only (main is 254, what it uses without the option).
function nmTable(table: string | undefined, what: string, dev: string): string | undefined {
  if (table === undefined || table === 'main') return undefined;
  if (!/^\d+$/.test(table))
    throw new RefusedError(
      `persist: networkmanager: ${what} on ${dev} looks up table ${table}, and NetworkManager takes table numbers only: use the table's number`,
    );
  return table;
}

/** `routeN=` and `routeN_options=` of a route as it runs (the metric always: NetworkManager's default is the device's, not the kernel's 0). */
export function nmRouteLines(r: RouteFact, k: number, dev: string): string[] {
  const gw = r.gateway ?? (r.family === 4 ? '0.0.0.0' : '::');
  const table = nmTable(r.table, `route ${r.dst}`, dev);
  const opts = [
    table !== undefined && `table=${table}`,
    r.mtu !== undefined && `mtu=${r.mtu}`,
    r.onlink && 'onlink=true',
    r.prefsrc && `src=${r.prefsrc}`,
  ].filter((o): o is string => typeof o === 'string');
  return [`route${k}=${withPrefix(r.dst, r.family)},${gw},${r.metric ?? 0}`, ...(opts.length ? [`route${k}_options=${opts.join(',')}`] : [])];
}

/** `routing-ruleN=` of a rule as it runs (NetworkManager needs a from or a to to tell the family). */
export function nmRuleLine(r: RuleFact, k: number, dev: string): string {
  const from = r.from ?? (r.to === undefined ? (r.family === 4 ? '0.0.0.0/0' : '::/0') : undefined);
  // In the order NetworkManager writes them back (nmcli --offline), so a profile it rewrites compares equal.
  const parts = [
    `priority ${r.priority}`,
    from && `from ${withPrefix(from, r.family)}`,
    r.to && `to ${withPrefix(r.to, r.family)}`,
    r.fwmark && `fwmark ${r.fwmark}`,
    r.iif && `iif ${r.iif}`,
    r.oif && `oif ${r.oif}`,
    `table ${nmTable(r.table, `rule ${r.priority}`, dev) ?? 254}`,
  ];
  return `routing-rule${k}=${parts.filter(Boolean).join(' ')}`;
}

/** The [vxlan] section. NetworkManager's VXLAN has one remote: flooding to several is refused. */
function nmVxlan(link: LinkFact, dev: string): string[] {
  const v = link.vxlan!;
  const remotes = v.group ? [v.group] : (link.fdbRemotes ?? []);
  if (remotes.length > 1)
    throw new RefusedError(
      `persist: networkmanager: VXLAN ${dev} floods to ${remotes.length} remotes (${remotes.join(', ')}), and a NetworkManager VXLAN profile has one remote only; use persist: networkd or ifupdown for it, or persist: none`,
    );
  return [
    '',
    '[vxlan]',
    `id=${v.vni}`,
    ...(v.local ? [`local=${v.local}`] : []),
    ...(remotes[0] ? [`remote=${remotes[0]}`] : []),
    ...(v.dev ? [`parent=${v.dev}`] : []),
    `destination-port=${v.dstport}`,
    `learning=${v.learning}`,
  ];
}

/** The keyfile of DEV as it runs in FACTS. Throws RefusedError for what NetworkManager cannot say. */
export function nmProfile(facts: Facts, dev: string): string {
  const link = facts.links[dev]!;
  const type = (link.kind && NM_TYPE[link.kind]) ?? 'ethernet';
  const master = link.master ? facts.links[link.master] : undefined;
  const lines = [
    '# Written by kvmnet; changes made here are overwritten on its next run.',
    '[connection]',
    `id=kvmnet-${dev}`,
    `uuid=${stableUuid(dev)}`,
    `type=${type}`,
    `interface-name=${dev}`,
  ];
  if (master?.kind === 'bond' || master?.kind === 'bridge') lines.push(`master=${master.name}`, `slave-type=${master.kind}`);
  if (type === 'bond' && link.bond) {
    const b = link.bond;
    lines.push('', '[bond]', `mode=${b.mode}`, `miimon=${b.miimon}`);
    if (b.mode === '802.3ad' && b.lacpRate) lines.push(`lacp_rate=${b.lacpRate}`);
    if (b.xmitHashPolicy && ['802.3ad', 'balance-xor', 'balance-tlb', 'balance-alb'].includes(b.mode)) lines.push(`xmit_hash_policy=${b.xmitHashPolicy}`);
    if (b.primary) lines.push(`primary=${b.primary}`);
  }
  if (type === 'vlan' && link.vlan && link.lower) lines.push('', '[vlan]', `parent=${link.lower}`, `id=${link.vlan.id}`);
  if (type === 'vxlan' && link.vxlan) lines.push(...nmVxlan(link, dev));
  if (type === 'bridge' && link.bridge) {
    const br = link.bridge;
    // NetworkManager accepts a forward delay of 2-30 s only: below that its default (15) is what a reboot gives.
    lines.push('', '[bridge]', `stp=${br.stp}`, ...(br.forwardDelay >= 2 ? [`forward-delay=${br.forwardDelay}`] : []));
    // Off is NetworkManager's default (and what facts without the detail mean).
    if (br.vlanFiltering) lines.push('vlan-filtering=true', `vlan-default-pvid=${br.defaultPvid ?? 1}`);
  }
  if (master?.kind === 'bridge' && master.bridge?.vlanFiltering && link.vlans) lines.push('', '[bridge-port]', `vlans=${nmPortVlans(link)}`);
  if (link.mtu !== 1500) lines.push('', '[ethernet]', `mtu=${link.mtu}`);
  // A bond member or bridge port has no IP configuration of its own in NetworkManager.
  if (!master || (master.kind !== 'bond' && master.kind !== 'bridge')) {
    for (const family of [4, 6] as const) {
      const addrs = facts.addrs
        .filter((a) => a.dev === dev && a.family === family && a.scope === 'global')
        .map((a) => `${a.address}/${a.prefix}`)
        .sort();
      const routes = persistableRoutes(facts, dev, family);
      const rules = persistableRules(facts, dev, family);
      lines.push('', `[ipv${family}]`);
      if (addrs.length) {
        lines.push('method=manual', ...addrs.map((a, k) => `address${k + 1}=${a}`));
        routes.forEach((r, k) => lines.push(...nmRouteLines(r, k + 1, dev)));
        rules.forEach((r, k) => lines.push(nmRuleLine(r, k + 1, dev)));
      } else {
        if (routes.length || rules.length)
          throw new RefusedError(
            `persist: networkmanager: ${dev} has IPv${family} ${routes.length ? `routes (${routes.map((r) => r.dst).join(', ')})` : 'policy rules'} but no IPv${family} address, and NetworkManager (1.42) configures routes and rules only where the family is enabled; give ${dev} an address first, or persist them otherwise`,
          );
        lines.push(family === 4 ? 'method=disabled' : 'method=ignore');
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The profiles for DEVICES as they run in AFTER (the facts once the task's changes are applied):
 * a device that no longer exists loses its profile.
 */
export function nmProfileWants(after: Facts, devices: readonly string[]): FileWant[] {
  const seen = new Set<string>();
  const wants: FileWant[] = [];
  for (const dev of devices) {
    if (dev === 'lo' || seen.has(dev)) continue;
    seen.add(dev);
    wants.push({ path: nmProfilePath(dev), content: after.links[dev] ? nmProfile(after, dev) : null });
  }
  return wants;
}
