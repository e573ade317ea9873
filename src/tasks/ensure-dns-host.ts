// ensure_dns_host: a DNS host record (<dns><host ip><hostname>…) of a libvirt network, answered
// by the network's dnsmasq to its guests. Changed like DHCP reservations (ensure_dhcp_host):
// `virsh net-update … dns-host`, live when active and persistent, each side compared on its own.
// libvirt cannot modify a dns-host record, so a changed one is deleted and added again.
import { isIP } from 'node:net';
import { z } from 'zod';
import { LibvirtUnavailableError, RefusedError } from '../errors.js';
import type { DnsHostEntry, Facts } from '../model/facts.js';
import { noop, type Change, type Plan } from '../model/plan.js';
import { ip, networkName, presence } from './common-args.js';
import type { FactsSection, PlannedTaskModule } from './contract.js';
import { dhcpFacts, dhcpState, dnsHostXml, groupBySide, netUpdateChange, onlyOn as where, sidesOf, sideText, type Side } from './dhcp-hosts.js';

const hostname = z
  .string()
  .regex(/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/, 'expected a DNS name like www.lab.example')
  .max(253);

const schema = z.strictObject({
  network: networkName,
  ip: ip.meta({ description: 'the address the names resolve to (identifies the record)' }),
  hostnames: z.array(hostname).min(1).meta({ description: 'names of the record (at least one)' }),
  state: presence,
});

export type EnsureDnsHostArgs = z.output<typeof schema>;

export const ensureDnsHost: PlannedTaskModule<'ensure_dns_host', typeof schema> = {
  kind: 'planned',
  type: 'ensure_dns_host',
  schema,
  defaultName: (args) =>
    `ensure_dns_host ${Array.isArray(args.hostnames) ? args.hostnames.join(', ') : String(args.hostnames)} → ${String(args.ip)} in ${String(args.network)}`,
  // The reservations' fragment reads the DNS records too (the live and the persistent definition).
  facts: dhcpFacts,
  plan: planDnsHost,
  factsView: { json: (f) => ({ dns_hosts: dnsRows(f) }), sections: dnsSections },
};

const sameNames = (a: string[], b: string[]) => a.length === b.length && [...a].sort().every((n, i) => n === [...b].sort()[i]);
const describe = (h: DnsHostEntry) => `${h.hostnames.join(', ')} → ${h.ip}`;
const sameIp = (a: string, b: string) => (isIP(a) === 6 && isIP(b) === 6 ? a.toLowerCase() === b.toLowerCase() : a === b);
const sameHost = (a: DnsHostEntry, b: DnsHostEntry) => sameIp(a.ip, b.ip) && sameNames(a.hostnames, b.hostnames);

function planDnsHost(args: EnsureDnsHostArgs, facts: Facts, host: string): Plan {
  if (!facts.libvirt.available) throw new LibvirtUnavailableError(`libvirtd is not running on ${host}: ${facts.libvirt.reason}`);
  const { network } = args;
  const net = facts.libvirt.networks[network];
  if (!net) throw new RefusedError(`network ${network} is not defined on ${host}`);
  const state = dhcpState(facts, network)!;
  const want: DnsHostEntry = { ip: args.ip, hostnames: args.hostnames };
  const sides = sidesOf(net);
  const entries = (s: Side) => (s === 'config' ? (state.dnsConfig ?? []) : (state.dnsLive ?? []));
  const mine = (s: Side) => entries(s).find((e) => sameIp(e.ip, want.ip));
  const data = { network, ip: want.ip, hostnames: want.hostnames };

  if (args.state === 'absent') {
    const present = sides.filter((s) => mine(s));
    if (present.length === 0) return noop(`${network} has no DNS host record for ${want.ip}`, data);
    const changes = groupBySide(present, (s) => mine(s)!, sameHost).map((g) =>
      netUpdate(network, 'delete', g.entry, g.sides, `remove DNS host ${describe(g.entry)} from ${network}${where(g.sides, sides)}`),
    );
    return { changes, data, diff: { before: present.map((s) => `${s}: ${dnsHostXml(mine(s)!)}`).join('\n'), after: '(no record)' } };
  }

  for (const s of sides) {
    const other = entries(s).find((e) => !sameIp(e.ip, want.ip) && e.hostnames.some((n) => want.hostnames.includes(n)));
    if (other)
      throw new RefusedError(
        `name ${other.hostnames.find((n) => want.hostnames.includes(n))} is already a DNS host record of network ${network} (${sideText(s)}) for another address: ${describe(other)}; remove or change that record first`,
      );
  }
  const changes: Change[] = [];
  const changed = sides.filter((s) => mine(s) && !sameNames(mine(s)!.hostnames, want.hostnames));
  for (const g of groupBySide(changed, (s) => mine(s)!, sameHost)) {
    changes.push(
      netUpdate(
        network,
        'delete',
        g.entry,
        g.sides,
        `remove DNS host ${describe(g.entry)} from ${network} (to add it with other names)${where(g.sides, sides)}`,
      ),
    );
  }
  const toAdd = sides.filter((s) => !mine(s) || !sameNames(mine(s)!.hostnames, want.hostnames));
  if (toAdd.length === 0) return noop(`${network} resolves ${describe(want)}`, data);
  changes.push(netUpdate(network, 'add', want, toAdd, `add DNS host ${describe(want)} to ${network}${where(toAdd, sides)}`));
  const before = sides.flatMap((s) => (mine(s) ? [`${s}: ${dnsHostXml(mine(s)!)}`] : []));
  return {
    changes,
    data,
    diff: { before: before.length ? before.join('\n') : '(no record)', after: sides.map((s) => `${s}: ${dnsHostXml(want)}`).join('\n') },
  };
}

function netUpdate(network: string, op: 'add' | 'delete', entry: DnsHostEntry, sides: Side[], summary: string): Change {
  return netUpdateChange(network, op, 'dns-host', dnsHostXml(entry), sides, summary);
}

interface DnsRow {
  network: string;
  ip: string;
  hostnames: string[];
  in: 'both' | 'config' | 'live';
}

function dnsRows(f: Facts): DnsRow[] | null {
  if (!f.dhcp) return null;
  const rows: DnsRow[] = [];
  for (const [network, st] of Object.entries(f.dhcp)) {
    const config = st.dnsConfig ?? [];
    const live = st.dnsLive;
    for (const h of config)
      rows.push({ network, ip: h.ip, hostnames: h.hostnames, in: live === undefined || live.some((l) => sameHost(l, h)) ? 'both' : 'config' });
    for (const h of live ?? []) if (!config.some((c) => sameHost(c, h))) rows.push({ network, ip: h.ip, hostnames: h.hostnames, in: 'live' });
  }
  return rows;
}

function dnsSections(f: Facts): FactsSection[] {
  const rows = dnsRows(f);
  if (!rows) return [];
  const inText = { both: 'live+config', config: 'config only', live: 'live only' } as const;
  return [
    { title: 'DNS host records', columns: ['network', 'ip', 'names', 'in'], rows: rows.map((r) => [r.network, r.ip, r.hostnames.join(', '), inText[r.in]]) },
  ];
}
