// libvirt network operations: define, undefine, start, destroy, autostart, and net-update of one
// element (DHCP hosts and ranges, DNS records, forward interfaces, portgroups) without a restart.
import { shellJoin, shellQuote } from '../connection/quote.js';
import type { DhcpHostEntry, DnsHostEntry, Facts, NetworkDhcpFact, NetworkFact } from '../model/facts.js';
import { sameAddress } from '../model/ip-address.js';
import { isSubset, networkXmlSummary, parseXml, prettyXml, readableXml, type XmlElement } from '../render/netxml.js';
import { canonicalPair } from '../render/netxml-canon.js';
import type { NetOp, NetUpdateSection, Op, OpKind } from './types.js';

type Of<K extends NetOp['op']> = Extract<NetOp, { op: K }>;
type NetUpdate = Of<'net.update'>;

const virsh = (...args: string[]) => [shellJoin(['virsh', '-q', ...args])];
const networksOf = (f: Facts) => (f.libvirt.available ? f.libvirt.networks : undefined);
const netTouch = (op: { name: string }) => [{ kind: 'network' as const, name: op.name }];

function setNet(f: Facts, name: string, patch: Partial<NetworkFact>): void {
  const n = networksOf(f)?.[name];
  if (n) Object.assign(n, patch);
}

function forget(f: Facts, name: string): void {
  delete networksOf(f)?.[name];
  delete f.dhcp?.[name];
}

/** Compares one aspect of a network in the expected and the read-back facts. */
function checkNet(name: string, expected: Facts, actual: Facts, aspect: (n: NetworkFact) => string, what: string): string | undefined {
  const want = networksOf(expected)?.[name];
  const nets = networksOf(actual);
  if (!nets) return undefined;
  const got = nets[name];
  if (!want) return got ? `network ${name} still exists` : undefined;
  if (!got) return `network ${name} does not exist`;
  return aspect(want) === aspect(got) ? undefined : `network ${name} is ${aspect(got)}, expected ${aspect(want)} (${what})`;
}

// ---- net-update: where an element of each section lives in the definition, and what it does to the facts.

type Mutable = { tag: string; attrs: Record<string, string>; text: string; children: Mutable[] };
const clone = (e: XmlElement): Mutable => ({ tag: e.tag, attrs: { ...e.attrs }, text: e.text, children: e.children.map(clone) });

/** The element a section's entries are children of (made when missing and `make`). */
function sectionParent(net: Mutable, op: Pick<NetUpdate, 'section' | 'parentIndex'>, make: boolean): Mutable | undefined {
  const child = (parent: Mutable | undefined, tag: string) => {
    if (!parent) return undefined;
    let c = parent.children.find((x) => x.tag === tag);
    if (!c && make) parent.children.push((c = { tag, attrs: {}, text: '', children: [] }));
    return c;
  };
  if (op.section === 'ip-dhcp-host' || op.section === 'ip-dhcp-range') {
    const ips = net.children.filter((c) => c.tag === 'ip');
    // Without a parent index libvirt takes the first IPv4 <ip>.
    return child(
      op.parentIndex !== undefined ? ips[op.parentIndex] : ips.find((c) => c.attrs.family !== 'ipv6' && !(c.attrs.address ?? '').includes(':')),
      'dhcp',
    );
  }
  if (op.section === 'forward-interface') return child(net, 'forward');
  if (op.section === 'portgroup') return net;
  return child(net, 'dns');
}

/** The entry an update replaces or deletes: the same MAC (DHCP host), address (DNS host) or name, else an equal element. */
function sameEntry(section: NetUpdateSection, a: XmlElement, b: XmlElement): boolean {
  if (a.tag !== b.tag) return false;
  if (section === 'ip-dhcp-host' && a.attrs.mac && b.attrs.mac) return a.attrs.mac.toLowerCase() === b.attrs.mac.toLowerCase();
  if (section === 'dns-host' && a.attrs.ip && b.attrs.ip) return sameAddress(a.attrs.ip, b.attrs.ip);
  if (a.attrs.name !== undefined && (section === 'portgroup' || section === 'ip-dhcp-host')) return a.attrs.name === b.attrs.name;
  return isSubset(a, b);
}

/** The definition after the update. */
export function updatedXml(xml: string, op: Pick<NetUpdate, 'section' | 'parentIndex' | 'command' | 'xml'>): string {
  const net = clone(parseXml(xml));
  const parent = sectionParent(net, op, op.command !== 'delete');
  const element = parseXml(op.xml);
  if (parent) {
    const i = parent.children.findIndex((c) => sameEntry(op.section, element, c));
    if (op.command === 'delete' || op.command === 'modify') {
      if (i >= 0) parent.children.splice(i, 1, ...(op.command === 'modify' ? [clone(element)] : []));
    } else parent.children.push(clone(element));
  }
  return `${prettyXml(net)}\n`;
}

function dhcpEntry(el: XmlElement): DhcpHostEntry {
  return { ip: el.attrs.ip ?? '', ...(el.attrs.mac ? { mac: el.attrs.mac.toLowerCase() } : {}), ...(el.attrs.name ? { name: el.attrs.name } : {}) };
}
const dnsEntry = (el: XmlElement): DnsHostEntry => ({ ip: el.attrs.ip ?? '', hostnames: el.children.filter((c) => c.tag === 'hostname').map((c) => c.text) });

/** The DHCP/DNS host lists of the facts after the update, on one side. */
function updateGuestSide(st: NetworkDhcpFact, op: NetUpdate, side: 'config' | 'live'): void {
  const el = parseXml(op.xml);
  if (op.section === 'ip-dhcp-host') {
    const e = dhcpEntry(el);
    const list = (side === 'config' ? st.config : (st.live ?? [])).filter((h) => !(e.mac ? h.mac === e.mac : h.ip === e.ip));
    if (op.command !== 'delete') list.push(e);
    if (side === 'config') st.config = list;
    else st.live = list;
  } else if (op.section === 'dns-host') {
    const e = dnsEntry(el);
    const list = (side === 'config' ? (st.dnsConfig ?? []) : (st.dnsLive ?? [])).filter((h) => !sameAddress(h.ip, e.ip));
    if (op.command !== 'delete') list.push(e);
    if (side === 'config') st.dnsConfig = list;
    else st.dnsLive = list;
  }
}

/** Whether the definition has the element as `op` gives it (add, modify) or any entry it names (delete); undefined when unreadable. */
function hasEntry(xml: string | undefined, op: NetUpdate, version?: string): boolean | undefined {
  const net = readableXml(xml);
  if (!net) return undefined;
  const element = parseXml(op.xml);
  if (op.command === 'delete') return (sectionParent(clone(net), op, false)?.children ?? []).some((c) => sameEntry(op.section, element, c));
  // Compared as libvirt keeps it: the element in a network of its own, both in libvirt's canonical form.
  const alone: Mutable = { tag: 'network', attrs: {}, text: '', children: [] };
  if (op.section.startsWith('ip-')) alone.children.push({ tag: 'ip', attrs: {}, text: '', children: [] });
  const at = sectionParent(alone, { section: op.section }, true) ?? alone;
  at.children.push(clone(element));
  const pair = canonicalPair(alone, net, version);
  const wanted = sectionParent(clone(pair.desired), { section: op.section }, false)?.children.at(-1);
  const parent = pair.actual && sectionParent(clone(pair.actual), op, false);
  return wanted !== undefined && (parent?.children ?? []).some((c) => isSubset(wanted, c));
}

function updateInverse(op: NetUpdate, before: Facts): Op[] {
  if (op.command === 'add') return [{ ...op, command: 'delete' }];
  const xml = networksOf(before)?.[op.name]?.xml;
  const net = readableXml(xml);
  const parent = net && sectionParent(clone(net), op, false);
  const old = parent?.children.find((c) => sameEntry(op.section, parseXml(op.xml), c));
  if (!old) return [];
  const oneLine = prettyXml(old).replace(/\n\s*/g, '');
  return [{ ...op, command: op.command === 'delete' ? 'add' : 'modify', xml: oneLine }];
}

export const networkOps: { [K in NetOp['op']]: OpKind<Of<K>> } = {
  'net.define': {
    // The definition on stdin: no temporary file, and any size fits in one exec.
    lines: (op) => [`printf '%s' ${shellQuote(op.xml)} | virsh -q net-define /dev/stdin >/dev/null`],
    touches: netTouch,
    effect: (op, f) => {
      const nets = networksOf(f);
      if (!nets) return;
      const prev = nets[op.name];
      const summary = networkXmlSummary(op.xml);
      nets[op.name] = {
        name: op.name,
        active: prev?.active ?? false,
        autostart: prev?.autostart ?? false,
        persistent: true,
        bridge: summary.bridge ?? prev?.bridge,
        forwardMode: summary.forwardMode,
        xml: op.xml,
      };
    },
    inverse: (op, before) => {
      const prev = networksOf(before)?.[op.name];
      if (prev?.persistent && prev.xml) return [{ op: 'net.define', name: op.name, xml: prev.xml }];
      return prev ? [] : [{ op: 'net.undefine', name: op.name }];
    },
    check: (op, expected, actual) => {
      const missing = checkNet(op.name, expected, actual, (n) => (n.persistent ? 'defined' : 'transient'), 'definition');
      if (missing) return missing;
      const want = readableXml(networksOf(expected)?.[op.name]?.xml);
      const got = readableXml(networksOf(actual)?.[op.name]?.xml);
      if (!want || !got) return undefined;
      // Compared as libvirt keeps definitions (its spellings, its defaults, minus what this libvirt does not know).
      const version = actual.libvirt.available ? actual.libvirt.version : undefined;
      const pair = canonicalPair(want, got, version);
      return isSubset(pair.desired, pair.actual!)
        ? undefined
        : `libvirt's definition of ${op.name} differs from the one defined (libvirt dropped or rewrote part of it)`;
    },
  },
  'net.undefine': {
    lines: (op) => virsh('net-undefine', op.name),
    touches: netTouch,
    // An active network stays, transient; an inactive one is gone.
    effect: (op, f) => (networksOf(f)?.[op.name]?.active ? setNet(f, op.name, { persistent: false, autostart: false }) : forget(f, op.name)),
    inverse: (op, before) => {
      const prev = networksOf(before)?.[op.name];
      if (!prev?.xml) return [];
      return [{ op: 'net.define', name: op.name, xml: prev.xml }, ...(prev.autostart ? [{ op: 'net.autostart' as const, name: op.name, on: true }] : [])];
    },
    check: (op, expected, actual) => checkNet(op.name, expected, actual, (n) => (n.persistent ? 'defined' : 'transient'), 'definition'),
  },
  'net.start': {
    lines: (op) => virsh('net-start', op.name),
    touches: netTouch,
    effect: (op, f) => setNet(f, op.name, { active: true }),
    inverse: (op) => [{ op: 'net.destroy', name: op.name }],
    check: (op, expected, actual) => checkNet(op.name, expected, actual, (n) => (n.active ? 'active' : 'inactive'), 'state'),
  },
  'net.destroy': {
    lines: (op) => virsh('net-destroy', op.name),
    touches: netTouch,
    // Destroying a transient network removes it altogether.
    effect: (op, f) => (op.transient ? forget(f, op.name) : setNet(f, op.name, { active: false })),
    inverse: (op, before) => (op.transient ? [] : networksOf(before)?.[op.name]?.active ? [{ op: 'net.start', name: op.name }] : []),
    check: (op, expected, actual) => checkNet(op.name, expected, actual, (n) => (n.active ? 'active' : 'inactive'), 'state'),
  },
  'net.autostart': {
    lines: (op) => (op.on ? virsh('net-autostart', op.name) : virsh('net-autostart', '--disable', op.name)),
    touches: netTouch,
    effect: (op, f) => setNet(f, op.name, { autostart: op.on }),
    inverse: (op, before) => {
      const prev = networksOf(before)?.[op.name];
      return prev?.persistent ? [{ op: 'net.autostart', name: op.name, on: prev.autostart }] : [];
    },
    check: (op, expected, actual) => checkNet(op.name, expected, actual, (n) => (n.autostart ? 'autostarted' : 'not autostarted'), 'autostart'),
  },
  'net.update': {
    lines: (op) => [
      `${shellJoin(['virsh', '-q', 'net-update', op.name, op.command, op.section, op.xml, ...(op.parentIndex !== undefined ? ['--parent-index', String(op.parentIndex)] : []), ...(op.config ? ['--config'] : []), ...(op.live ? ['--live'] : [])])} >/dev/null`,
    ],
    touches: netTouch,
    effect: (op, f) => {
      const net = networksOf(f)?.[op.name];
      if (op.config && net?.xml) net.xml = updatedXml(net.xml, op);
      const st = f.dhcp?.[op.name];
      if (!st) return;
      if (op.config) updateGuestSide(st, op, 'config');
      if (op.live && st.live !== undefined) updateGuestSide(st, op, 'live');
      // The running definition too: a later task of the run plans and verifies on it.
      if (op.live && st.liveXml) st.liveXml = updatedXml(st.liveXml, op);
    },
    inverse: updateInverse,
    // Judged on the step's end state: a portgroup changed in place is deleted and added again.
    check: (op, expected, actual) => {
      const problem = (which: string, want: boolean) => `the ${which} definition of ${op.name} ${want ? 'lacks' : 'still has'} ${op.section} ${op.xml}`;
      const version = actual.libvirt.available ? actual.libvirt.version : undefined;
      const want = hasEntry(networksOf(expected)?.[op.name]?.xml, op, version) ?? op.command !== 'delete';
      const config = hasEntry(networksOf(actual)?.[op.name]?.xml, op, version);
      if (op.config && config !== undefined && config !== want) return problem('persistent', want);
      const live = hasEntry(actual.dhcp?.[op.name]?.liveXml, op, version);
      const wantLive = op.config ? want : op.command !== 'delete';
      if (op.live && live !== undefined && live !== wantLive) return problem('running', wantLive);
      return undefined;
    },
  },
};
