// The guests' side of a libvirt network, shared by ensure_dhcp_host, ensure_dns_host and ensure_port_forward:
// DHCP reservations (<ip><dhcp><host>) in the persistent and the live definition, the leases
// dnsmasq handed out, and the network's IPv4 subnet. Pure parsers and queries; the facts
// fragment adds `net-dumpxml` (live) and `net-dhcp-leases` of every active network to the ONE
// virsh invocation.
import { isIP } from 'node:net';
import { netmaskToPrefix } from '../config/validators.js';
import type { DhcpHostEntry, DhcpLease, DnsHostEntry, Facts, NetworkDhcpFact, NetworkFact } from '../model/facts.js';
import { parseXml, type XmlElement } from '../render/netxml.js';
import type { Change } from '../model/plan.js';
import type { FactsFragment } from '../facts/fragment.js';

// Active networks have a status file in /run/libvirt/network; only they have a live definition and leases.
const VIRSH = `for f in /run/libvirt/network/*.xml; do
  [ -e "$f" ] || continue; n=\${f##*/}; n=\${n%.xml}; case "$n" in *[!A-Za-z0-9_.+-]*|'') continue;; esac
  cmds="$cmds; echo @@kvmnet:dhcp-live:$n@@; net-dumpxml $n; echo @@kvmnet:dhcp-leases:$n@@; net-dhcp-leases $n"
done
`;

export const dhcpFacts: FactsFragment = {
  id: 'dhcp',
  virsh: VIRSH,
  parse(sections, facts) {
    if (!facts.libvirt.available) return;
    const dhcp: Record<string, NetworkDhcpFact> = {};
    for (const net of Object.values(facts.libvirt.networks)) dhcp[net.name] = { config: safeHosts(net.xml), leases: [], dnsConfig: safeDns(net.xml) };
    for (const s of sections) {
      const live = /^dhcp-live:(.+)$/.exec(s.key)?.[1];
      const leases = /^dhcp-leases:(.+)$/.exec(s.key)?.[1];
      if (live && dhcp[live] && s.body.includes('<network')) {
        dhcp[live].live = safeHosts(s.body);
        dhcp[live].liveXml = s.body.trim();
        dhcp[live].dnsLive = safeDns(s.body);
      }
      if (leases && dhcp[leases]) dhcp[leases].leases = parseLeases(s.body);
    }
    facts.dhcp = dhcp;
  },
};

/** The `<ip>` of IPv4 in a network definition (the one DHCP reservations of IPv4 live in). */
function ipv4Element(net: XmlElement): XmlElement | undefined {
  return net.children.find((c) => c.tag === 'ip' && (c.attrs.family === undefined || c.attrs.family === 'ipv4') && isIP(c.attrs.address ?? '') === 4);
}

/** The DHCP reservations of a network definition, in document order. */
export function dhcpHostsOf(xml: string): DhcpHostEntry[] {
  const ip = ipv4Element(parseXml(xml));
  const dhcp = ip?.children.find((c) => c.tag === 'dhcp');
  return (dhcp?.children ?? [])
    .filter((c) => c.tag === 'host' && c.attrs.ip !== undefined)
    .map((c) => ({ ip: c.attrs.ip!, ...(c.attrs.mac ? { mac: c.attrs.mac.toLowerCase() } : {}), ...(c.attrs.name ? { name: c.attrs.name } : {}) }));
}

// libvirt's own output; if it ever does not parse, the network simply shows no reservations.
function safeHosts(xml: string | undefined): DhcpHostEntry[] {
  if (!xml) return [];
  try {
    return dhcpHostsOf(xml);
  } catch {
    return [];
  }
}

/** The DNS host records of a network definition (`<dns><host ip><hostname>…`), in document order. */
export function dnsHostsOf(xml: string): DnsHostEntry[] {
  const dns = parseXml(xml).children.find((c) => c.tag === 'dns');
  return (dns?.children ?? [])
    .filter((c) => c.tag === 'host' && c.attrs.ip !== undefined)
    .map((c) => ({ ip: c.attrs.ip!, hostnames: c.children.filter((h) => h.tag === 'hostname').map((h) => h.text) }));
}

function safeDns(xml: string | undefined): DnsHostEntry[] {
  if (!xml) return [];
  try {
    return dnsHostsOf(xml);
  } catch {
    return [];
  }
}

export interface Subnet {
  address: string;
  prefix: number;
}

/** The network's IPv4 subnet (`<ip address='192.168.30.1' netmask='255.255.255.0'>` → 192.168.30.1/24). */
export function ipv4Subnet(xml: string | undefined): Subnet | undefined {
  if (!xml) return undefined;
  const ip = ipv4Element(parseXml(xml));
  if (!ip) return undefined;
  const prefix = ip.attrs.prefix !== undefined ? Number(ip.attrs.prefix) : ip.attrs.netmask !== undefined ? netmaskToPrefix(ip.attrs.netmask) : 24;
  return prefix === undefined ? undefined : { address: ip.attrs.address!, prefix };
}

const toInt = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);

export function inSubnet(ip: string, subnet: Subnet): boolean {
  if (isIP(ip) !== 4) return false;
  const size = 2 ** (32 - subnet.prefix);
  return Math.floor(toInt(ip) / size) === Math.floor(toInt(subnet.address) / size);
}

/** The network and broadcast address of the subnet (never a guest's). */
export function isNetworkOrBroadcast(ip: string, subnet: Subnet): boolean {
  if (subnet.prefix >= 31) return false;
  const size = 2 ** (32 - subnet.prefix);
  const offset = toInt(ip) % size;
  return offset === 0 || offset === size - 1;
}

/** ` 2026-12-01 16:44:40   52:54:00:aa:00:10   ipv4   192.168.30.10/24   web1   01:52:…` rows (with -q, no header). */
export function parseLeases(text: string): DhcpLease[] {
  const out: DhcpLease[] = [];
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 5 || cols[0] === 'Expiry' || /^-+$/.test(cols[0]!)) continue;
    const [date, time, mac, protocol, address, hostname, clientId] = cols as [string, string, string, string, string, string?, string?];
    if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac)) continue;
    out.push({
      expiry: `${date} ${time}`,
      mac: mac.toLowerCase(),
      protocol,
      address,
      ...(hostname && hostname !== '-' ? { hostname } : {}),
      ...(clientId && clientId !== '-' ? { clientId } : {}),
    });
  }
  return out;
}

/**
 * The reservations of a network as the facts know them. A network an earlier task of this run
 * defined has no dhcp facts yet: its definition's XML (kept up to date in memory) says. With
 * `store` (in a change's effect only: planners are pure), the derived state is kept in the facts.
 */
export function dhcpState(facts: Facts, network: string, store = false): NetworkDhcpFact | undefined {
  if (!facts.libvirt.available) return undefined;
  const net = facts.libvirt.networks[network];
  if (!net) return undefined;
  const known = facts.dhcp?.[network];
  if (known) return known;
  const state: NetworkDhcpFact = { config: safeHosts(net.xml), leases: [], dnsConfig: safeDns(net.xml) };
  if (net.active) {
    state.live = [...state.config];
    state.dnsLive = [...state.dnsConfig!];
  }
  if (store) facts.dhcp = { ...(facts.dhcp ?? {}), [network]: state };
  return state;
}

export const describeHost = (h: DhcpHostEntry): string =>
  [h.mac ? `mac ${h.mac}` : '', h.name ? `name ${h.name}` : '', `ip ${h.ip}`].filter(Boolean).join(', ');

/** `<host mac='…' name='…' ip='…'/>`, the element `virsh net-update … ip-dhcp-host` takes. */
export function hostXml(h: DhcpHostEntry): string {
  const attr = (k: string, v: string | undefined) => (v === undefined ? '' : ` ${k}='${esc(v)}'`);
  return `<host${attr('mac', h.mac)}${attr('name', h.name)}${attr('ip', h.ip)}/>`;
}

function esc(v: string): string {
  return v.replace(/&/g, '&amp;').replace(/'/g, '&apos;').replace(/</g, '&lt;');
}

/** `<host ip='…'><hostname>…</hostname></host>`, the element `virsh net-update … dns-host` takes. */
export function dnsHostXml(h: DnsHostEntry): string {
  return `<host ip='${esc(h.ip)}'>${h.hostnames.map((n) => `<hostname>${esc(n)}</hostname>`).join('')}</host>`;
}

// ---- changing entries with `virsh net-update`, the persistent and the live definition each on its own

/** A network's definitions: the persistent one (`--config`) and, while active, the running one (`--live`). */
export type Side = 'config' | 'live';
const SIDE_TEXT: Record<Side, string> = { config: 'persistent definition', live: 'live network' };

export const sideText = (side: Side): string => SIDE_TEXT[side];

export const sidesOf = (net: NetworkFact): Side[] => [...(net.persistent ? (['config'] as const) : []), ...(net.active ? (['live'] as const) : [])];

/** ` (live network only)` when a change applies to some of the network's definitions, else nothing. */
export const onlyOn = (these: Side[], all: Side[]): string => (these.length === all.length ? '' : ` (${these.map(sideText).join(' and ')} only)`);

/** Sides whose entry is the same go into one net-update (`--config --live`). */
export function groupBySide<E>(sides: Side[], entry: (s: Side) => E, same: (a: E, b: E) => boolean): Array<{ sides: Side[]; entry: E }> {
  const groups: Array<{ sides: Side[]; entry: E }> = [];
  for (const s of sides) {
    const g = groups.find((x) => same(x.entry, entry(s)));
    if (g) g.sides.push(s);
    else groups.push({ sides: [s], entry: entry(s) });
  }
  return groups;
}

/** One `virsh net-update` of SECTION on the given sides (its effect on the reservations is the operation's). */
export function netUpdateChange(
  network: string,
  command: 'add' | 'modify' | 'delete',
  section: 'ip-dhcp-host' | 'dns-host',
  xml: string,
  sides: Side[],
  summary: string,
): Change {
  return { summary, ops: [{ op: 'net.update', name: network, command, section, xml, config: sides.includes('config'), live: sides.includes('live') }] };
}
