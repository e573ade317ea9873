// ensure_dhcp_host: a DHCP reservation (<host mac ip name>) of a libvirt network, changed with
// `virsh net-update … ip-dhcp-host` — live (when active) and in the persistent definition — so
// guests keep their connectivity: no network restart. The live and the persistent definition
// can differ (someone ran net-update --live only), so each is compared and changed on its own.
import { z } from 'zod';
import { LibvirtUnavailableError, RefusedError } from '../errors.js';
import type { DhcpHostEntry, Facts } from '../model/facts.js';
import { noop, type Change, type Plan } from '../model/plan.js';
import { ip, mac, networkName, presence } from './common-args.js';
import type { FactsSection, PlannedTaskModule } from './contract.js';
import {
  describeHost,
  dhcpFacts,
  dhcpState,
  groupBySide,
  hostXml,
  inSubnet,
  ipv4Subnet,
  isNetworkOrBroadcast,
  netUpdateChange,
  onlyOn as where,
  sidesOf,
  sideText,
  type Side,
} from './dhcp-hosts.js';

const schema = z.strictObject({
  network: networkName,
  mac: mac.meta({ description: "the guest's MAC address (identifies the reservation)" }),
  ip: ip.meta({ description: 'the IPv4 address reserved for it, inside the network’s subnet' }),
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/, 'expected a host name (letters, digits, dots, dashes)')
    .max(63)
    .optional(),
  state: presence,
});

export type EnsureDhcpHostArgs = z.output<typeof schema>;

export const ensureDhcpHost: PlannedTaskModule<'ensure_dhcp_host', typeof schema> = {
  kind: 'planned',
  type: 'ensure_dhcp_host',
  schema,
  defaultName: (args) => `ensure_dhcp_host ${String(args.name ?? args.mac)} → ${String(args.ip)} in ${String(args.network)}`,
  argProblems: (args) =>
    typeof args.ip === 'string' && args.ip.includes(':')
      ? [{ field: 'ip', message: 'only IPv4 reservations are supported (ip-dhcp-host of the IPv4 <ip>)' }]
      : [],
  facts: dhcpFacts,
  plan: planDhcpHost,
  factsView: { json: dhcpJson, sections: dhcpSections },
};

const sameHost = (a: DhcpHostEntry, b: DhcpHostEntry) => a.mac === b.mac && a.ip === b.ip && (a.name ?? '') === (b.name ?? '');

function planDhcpHost(args: EnsureDhcpHostArgs, facts: Facts, host: string): Plan {
  if (!facts.libvirt.available) throw new LibvirtUnavailableError(`libvirtd is not running on ${host}: ${facts.libvirt.reason}`);
  const { network } = args;
  const net = facts.libvirt.networks[network];
  if (!net) throw new RefusedError(`network ${network} is not defined on ${host}`);
  const state = dhcpState(facts, network)!;
  const want: DhcpHostEntry = { mac: args.mac.toLowerCase(), ip: args.ip, ...(args.name ? { name: args.name } : {}) };
  const sides = sidesOf(net);
  const entries = (side: Side) => (side === 'config' ? state.config : (state.live ?? []));
  const mine = (side: Side) => entries(side).find((e) => e.mac === want.mac);
  const data = { network, mac: want.mac, ip: want.ip, name: want.name ?? null };

  if (args.state === 'absent') {
    const present = sides.filter((s) => mine(s));
    if (present.length === 0) return noop(`${network} has no reservation for ${want.mac}`, data);
    const changes = groupBySide(present, (s) => mine(s)!, sameHost).map(({ sides: ss, entry }) =>
      netUpdate(network, 'delete', entry, ss, `remove reservation ${describeHost(entry)} from ${network}${where(ss, sides)}`),
    );
    return { changes, data, diff: { before: sideLines(present, mine).join('\n'), after: '(no reservation)' } };
  }

  const subnet = ipv4Subnet(net.xml);
  if (!subnet) throw new RefusedError(`network ${network} has no IPv4 <ip> on ${host}: there is nothing to reserve an address in`);
  if (!inSubnet(want.ip, subnet) || isNetworkOrBroadcast(want.ip, subnet))
    throw new RefusedError(`${want.ip} is outside the usable addresses of network ${network}'s subnet ${subnet.address}/${subnet.prefix}`);
  if (want.ip === subnet.address) throw new RefusedError(`${want.ip} is network ${network}'s own address (the guests' gateway)`);
  for (const side of sides) {
    const other = entries(side).find((e) => e.mac !== want.mac && (e.ip === want.ip || (want.name !== undefined && e.name === want.name)));
    if (other) {
      const what = other.ip === want.ip ? `ip ${want.ip}` : `name ${want.name}`;
      throw new RefusedError(
        `${what} is already reserved in network ${network} (${sideText(side)}) by another entry: ${describeHost(other)}; remove or change that entry first`,
      );
    }
  }
  const toAdd = sides.filter((s) => !mine(s));
  const toModify = sides.filter((s) => mine(s) && !sameHost(mine(s)!, want));
  if (toAdd.length === 0 && toModify.length === 0)
    return noop(`${network} reserves ${want.ip} for ${want.mac}${want.name ? ` (${want.name})` : ''}${where(sides, sides)}`, data);
  const changes: Change[] = [];
  if (toAdd.length)
    changes.push(
      netUpdate(network, 'add', want, toAdd, `reserve ${want.ip} for ${want.mac}${want.name ? ` (${want.name})` : ''} in ${network}${where(toAdd, sides)}`),
    );
  if (toModify.length)
    changes.push(
      netUpdate(network, 'modify', want, toModify, `change reservation of ${want.mac} in ${network} to ${describeHost(want)}${where(toModify, sides)}`),
    );
  const before = sideLines(sides, mine);
  return {
    changes,
    data,
    diff: { before: before.length ? before.join('\n') : '(no reservation)', after: sides.map((s) => `${s}: ${hostXml(want)}`).join('\n') },
  };
}

function sideLines(sides: Side[], mine: (s: Side) => DhcpHostEntry | undefined): string[] {
  return sides.flatMap((s) => (mine(s) ? [`${s}: ${hostXml(mine(s)!)}`] : []));
}

function netUpdate(network: string, op: 'add' | 'modify' | 'delete', entry: DhcpHostEntry, sides: Side[], summary: string): Change {
  return netUpdateChange(network, op, 'ip-dhcp-host', hostXml(entry), sides, summary);
}

// The guests' view: which running guest (domiflist MAC) holds which reservation, and its lease.
interface ReservationRow {
  network: string;
  mac: string;
  ip: string;
  name: string | null;
  in: 'both' | 'config' | 'live';
  guest: string | null;
  lease: string | null;
}

export function reservations(f: Facts): ReservationRow[] {
  if (!f.libvirt.available || !f.dhcp) return [];
  const guests = f.libvirt.guests;
  const rows: ReservationRow[] = [];
  for (const [network, st] of Object.entries(f.dhcp)) {
    const all = [...st.config, ...(st.live ?? []).filter((l) => !st.config.some((c) => sameHost(c, l)))];
    for (const h of all) {
      const inConfig = st.config.some((c) => sameHost(c, h));
      const inLive = st.live?.some((l) => sameHost(l, h)) ?? false;
      const g = h.mac ? guests.find((x) => x.mac.toLowerCase() === h.mac) : undefined;
      const lease = h.mac ? st.leases.find((l) => l.mac === h.mac) : undefined;
      rows.push({
        network,
        mac: h.mac ?? '',
        ip: h.ip,
        name: h.name ?? null,
        in: inConfig && (inLive || st.live === undefined) ? 'both' : inConfig ? 'config' : 'live',
        guest: g ? `${g.guest} (${g.interface})` : null,
        lease: lease ? lease.address : null,
      });
    }
  }
  return rows;
}

function dhcpJson(f: Facts): Record<string, unknown> {
  if (!f.dhcp) return { dhcp_reservations: null, dhcp_leases: null };
  return {
    dhcp_reservations: reservations(f),
    dhcp_leases: Object.entries(f.dhcp).flatMap(([network, st]) => st.leases.map((l) => ({ network, ...l }))),
  };
}

function dhcpSections(f: Facts): FactsSection[] {
  if (!f.dhcp) return [];
  const inText = { both: 'live+config', config: 'config only', live: 'live only' } as const;
  return [
    {
      title: 'DHCP reservations',
      columns: ['network', 'mac', 'ip', 'name', 'in', 'guest', 'lease'],
      rows: reservations(f).map((r) => [r.network, r.mac, r.ip, r.name ?? '-', inText[r.in], r.guest ?? '-', r.lease ?? '-']),
    },
    {
      title: 'DHCP leases',
      columns: ['network', 'mac', 'address', 'hostname', 'expires'],
      rows: Object.entries(f.dhcp).flatMap(([network, st]) => st.leases.map((l) => [network, l.mac, l.address, l.hostname ?? '-', l.expiry])),
    },
  ];
}
