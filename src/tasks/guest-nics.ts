// Guests' NICs as facts: every domain's <interface>s from `virsh dumpxml` (running domains, live)
// and `virsh dumpxml --inactive` (defined domains, persistent), read in the ONE virsh invocation.
// The names come from libvirt's state (/run/libvirt/qemu) and config (/etc/libvirt/qemu)
// directories, as the core's guest and network names do. Pure parser, pure views.
import type { Facts, GuestDomainFact, GuestNicFact } from '../model/facts.js';
import { parseXml, type XmlElement } from '../render/netxml.js';
import type { FactsFragment } from '../facts/fragment.js';
import type { FactsSection } from './contract.js';

const NAME_SAFE = `case "$n" in *[!A-Za-z0-9_.+-]*|'') continue;; esac`;

// `gnic` says the fragment ran (then a host without domains has none, not "unknown").
const VIRSH = `cmds="$cmds; echo @@kvmnet:gnic@@"
for f in /etc/libvirt/qemu/*.xml; do
  [ -e "$f" ] || continue; n=\${f##*/}; n=\${n%.xml}; ${NAME_SAFE}
  cmds="$cmds; echo @@kvmnet:gnic-config:$n@@; dumpxml --inactive $n"
done
for f in /run/libvirt/qemu/*.xml; do
  [ -e "$f" ] || continue; n=\${f##*/}; n=\${n%.xml}; ${NAME_SAFE}
  cmds="$cmds; echo @@kvmnet:gnic-live:$n@@; dumpxml $n"
done
`;

const child = (e: XmlElement, tag: string) => e.children.find((c) => c.tag === tag);

/** One <interface> of a domain definition. A live NIC on a network shows libvirt's actual type (`bridge`); the network it asked for is its source. */
export function nicOf(e: XmlElement): GuestNicFact | undefined {
  const mac = child(e, 'mac')?.attrs.address;
  if (!mac) return undefined;
  const src = child(e, 'source')?.attrs ?? {};
  const network = src.network;
  const type = network !== undefined ? 'network' : (e.attrs.type ?? 'unknown');
  const source = network ?? src.bridge ?? src.dev ?? src.name ?? '';
  const mtu = Number(child(e, 'mtu')?.attrs.size);
  const tap = child(e, 'target')?.attrs.dev;
  const model = child(e, 'model')?.attrs.type;
  return {
    mac: mac.toLowerCase(),
    type,
    source,
    ...(src.portgroup ? { portgroup: src.portgroup } : {}),
    ...(model ? { model } : {}),
    ...(tap ? { tap } : {}),
    // No <link> element: the link is up.
    link: child(e, 'link')?.attrs.state === 'down' ? 'down' : 'up',
    ...(Number.isInteger(mtu) && mtu > 0 ? { mtu } : {}),
  };
}

/** The NICs of a domain's XML, in document order; undefined when the text is not a domain (virsh's error). */
export function domainNics(xml: string): GuestNicFact[] | undefined {
  if (!xml.includes('<domain')) return undefined;
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch {
    return undefined;
  }
  const devices = child(root, 'devices');
  return (devices?.children ?? []).filter((c) => c.tag === 'interface').flatMap((c) => nicOf(c) ?? []);
}

export function parseGuestNics(sections: ReadonlyArray<{ key: string; body: string }>, facts: Facts): void {
  if (!facts.libvirt.available || !sections.some((s) => s.key === 'gnic')) return;
  const domains: Record<string, GuestDomainFact> = {};
  const domain = (name: string) => (domains[name] ??= { name, running: false, persistent: false });
  for (const s of sections) {
    const m = /^gnic-(live|config):(.+)$/.exec(s.key);
    if (!m) continue;
    const nics = domainNics(s.body);
    // A name whose dumpxml failed (the domain went away between the listing and virsh) is no domain.
    if (!nics) continue;
    const d = domain(m[2]!);
    if (m[1] === 'live') Object.assign(d, { running: true, live: nics });
    else Object.assign(d, { persistent: true, config: nics });
  }
  facts.guestNics = domains;
}

export const guestNicFacts: FactsFragment = { id: 'guest-nics', virsh: VIRSH, parse: parseGuestNics };

export interface GuestNicRow {
  domain: string;
  state: 'running' | 'shut off';
  mac: string;
  type: string;
  source: string;
  portgroup: string | null;
  model: string | null;
  tap: string | null;
  link: 'up' | 'down';
  mtu: number | null;
  /** Which definitions have it; `differs` when both have it but not alike. */
  in: 'live+config' | 'live only' | 'config only' | 'differs';
}

const aspects = (n: GuestNicFact) => `${n.type} ${n.source} ${n.portgroup ?? ''} ${n.model ?? ''} ${n.link} ${n.mtu ?? ''}`;

/** Every guest NIC on the host: one row per MAC and domain, the live definition where the domain runs. */
export function guestNicRows(f: Facts): GuestNicRow[] {
  const rows: GuestNicRow[] = [];
  for (const d of Object.values(f.guestNics ?? {}).sort((a, b) => a.name.localeCompare(b.name))) {
    const macs = [...new Set([...(d.live ?? []), ...(d.config ?? [])].map((n) => n.mac))];
    for (const mac of macs) {
      const live = d.live?.find((n) => n.mac === mac);
      const config = d.config?.find((n) => n.mac === mac);
      const n = (live ?? config)!;
      const where = !d.persistent
        ? 'live only'
        : !d.running
          ? 'config only'
          : live && config
            ? aspects(live) === aspects(config)
              ? 'live+config'
              : 'differs'
            : live
              ? 'live only'
              : 'config only';
      rows.push({
        domain: d.name,
        state: d.running ? 'running' : 'shut off',
        mac,
        type: n.type,
        source: n.source,
        portgroup: n.portgroup ?? null,
        model: n.model ?? null,
        tap: live?.tap ?? null,
        link: n.link,
        mtu: n.mtu ?? null,
        in: where,
      });
    }
  }
  return rows;
}

export const guestNicsView = {
  json: (f: Facts): Record<string, unknown> => ({ guest_nics: f.guestNics ? guestNicRows(f) : null }),
  sections: (f: Facts): FactsSection[] =>
    f.guestNics
      ? [
          {
            title: 'Guest NICs',
            columns: ['domain', 'state', 'mac', 'type', 'source', 'portgroup', 'model', 'tap', 'link', 'mtu', 'in'],
            rows: guestNicRows(f).map((r) => [
              r.domain,
              r.state,
              r.mac,
              r.type,
              r.source,
              r.portgroup ?? '-',
              r.model ?? '-',
              r.tap ?? '-',
              r.link,
              r.mtu === null ? '-' : String(r.mtu),
              r.in,
            ]),
            empty: 'no guests',
          },
        ]
      : [],
};
