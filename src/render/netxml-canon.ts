// libvirt's canonical form of a network definition, so that the subset comparison sees what
// libvirt sees. libvirt parses a definition into its own structure and writes that back
// (src/conf/network_conf.c: virNetworkDefParseXML / virNetworkDefFormatBuf): a MAC or UUID comes
// back in lower case, an IPv6 address compressed, a number without leading zeros, an attribute
// at its default value is not written at all, and an element this libvirt does not know is
// silently dropped (net-define does not validate against the schema). Compared as written, each
// of those looks like a change on every run, and every run redefines and restarts the network.
// Pure: XML trees and the host's libvirt version in, canonical trees and what was ignored out.
import { isIPv6 } from 'node:net';
import type { XmlElement } from './netxml.js';

type Version = readonly [number, number, number];

/** A part of the wanted definition the host's libvirt does not keep, and why. */
export interface IgnoredPart {
  /** `<forward><driver model>` */
  what: string;
  /** `not supported before 10.0.0` */
  why: string;
}

export interface CanonicalPair {
  desired: XmlElement;
  actual: XmlElement | undefined;
  ignored: IgnoredPart[];
}

// Parts of the network XML newer libvirt releases added; an older libvirt drops them when it parses.
// Only entries checked against libvirt's schema history (9.0.0's network.rng has <driver name>
// only; `model` came with variant VFIO drivers, "Since 10.0.0" in formatdomain's hostdev driver).
const SINCE: ReadonlyArray<{ path: readonly string[]; attr?: string; since: Version }> = [
  { path: ['network', 'forward', 'driver'], attr: 'model', since: [10, 0, 0] },
];

// Attributes libvirt leaves out of its XML when they hold their default: absent there means this
// value. Filled into the actual definition, so that a wanted `ipv6='no'` matches a network that
// has no ipv6 attribute, and a wanted `ipv6='yes'` still does not.
const DEFAULTS: ReadonlyArray<{ path: readonly string[]; attr: string; value: string }> = [
  { path: ['network'], attr: 'ipv6', value: 'no' }, // virNetworkDefFormatBuf: only ipv6nogw=true is written
  { path: ['network', 'portgroup'], attr: 'default', value: 'no' },
  { path: ['network', 'vlan'], attr: 'trunk', value: 'no' },
  { path: ['network', 'portgroup', 'vlan'], attr: 'trunk', value: 'no' },
  { path: ['network', 'bridge'], attr: 'macTableManager', value: 'default' },
  { path: ['network', 'dns', 'srv'], attr: 'port', value: '0' },
  { path: ['network', 'dns', 'srv'], attr: 'priority', value: '0' },
  { path: ['network', 'dns', 'srv'], attr: 'weight', value: '0' },
  { path: ['network', 'ip'], attr: 'prefix', value: '0' },
];

// Attributes whose values libvirt reads as numbers and writes back in decimal without leading zeros.
const NUMERIC = new Set(['delay', 'size', 'prefix', 'port', 'priority', 'weight', 'expiry', 'average', 'peak', 'burst', 'floor', 'id', 'connections']);
const NUMERIC_EXCEPT: ReadonlyArray<readonly string[]> = [['network', 'ip', 'dhcp', 'host']]; // <host id='…'> is a DUID, not a number
// Attributes that hold IP addresses (an IPv6 one comes back in its compressed form).
const ADDRESS = new Set(['address', 'netmask', 'start', 'end', 'ip', 'gateway', 'addr', 'server']);
// A PCI address in a hostdev pool: libvirt writes domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'.
const PCI_WIDTH: Record<string, number> = { domain: 4, bus: 2, slot: 2, function: 1 };

/**
 * Both definitions in libvirt's canonical form. The wanted one loses what the host's libvirt
 * (`version`, e.g. `9.0.0`; unknown: nothing is dropped) does not keep, each reported in `ignored`.
 */
export function canonicalPair(desired: XmlElement, actual: XmlElement | undefined, version: string | undefined): CanonicalPair {
  const ignored: IgnoredPart[] = [];
  const v = parseVersion(version);
  const forwardMode = (el: XmlElement) => el.children.find((c) => c.tag === 'forward')?.attrs.mode;
  const d = canonical(desired, [], {
    version: v,
    ignored,
    forwardMode: forwardMode(desired) ?? (desired.children.some((c) => c.tag === 'forward') ? 'nat' : undefined),
  });
  const a = actual && withDefaults(canonical(actual, [], { version: undefined, ignored: [], forwardMode: forwardMode(actual) }), []);
  return { desired: d, actual: a, ignored };
}

/** `libvirt 9.0.0 on hv1 ignores <forward><driver model> (not supported before 10.0.0)`. */
export function describeIgnored(ignored: readonly IgnoredPart[], version: string | undefined, host: string): string | undefined {
  if (ignored.length === 0) return undefined;
  return `libvirt ${version ?? '(version unknown)'} on ${host} ignores ${ignored.map((i) => `${i.what} (${i.why})`).join(', ')}`;
}

interface Walk {
  version: Version | undefined;
  ignored: IgnoredPart[];
  forwardMode: string | undefined;
}

function canonical(el: XmlElement, parents: readonly string[], walk: Walk): XmlElement {
  const path = [...parents, el.tag];
  const attrs: Record<string, string> = {};
  // A lease that never expires (expiry 0) is written without its unit.
  const neverExpires = el.tag === 'lease' && el.attrs.expiry?.trim().replace(/^0+(?=\d)/, '') === '0';
  for (const [name, raw] of Object.entries(el.attrs)) {
    if (neverExpires && name === 'unit') continue;
    const dropped = droppedBy(walk, path, name);
    if (dropped) {
      walk.ignored.push(dropped);
      continue;
    }
    const value = canonicalValue(path, name, raw, walk);
    if (value !== undefined) attrs[name] = value;
  }
  const children: XmlElement[] = [];
  for (const c of el.children) {
    const dropped = droppedBy(walk, [...path, c.tag]);
    if (dropped) {
      walk.ignored.push(dropped);
      continue;
    }
    const kept = canonical(c, path, walk);
    // An element left with nothing once this libvirt's unknown attributes are gone is not written either.
    const emptied = Object.keys(c.attrs).length > 0 && Object.keys(kept.attrs).length === 0 && kept.children.length === 0 && !kept.text;
    if (!emptied) children.push(kept);
  }
  const text = path.join('/') === 'network/uuid' ? canonicalUuid(el.text) : el.text;
  return { tag: el.tag, attrs, text, children };
}

/** The part the host's libvirt does not know, if this element (or attribute) is one. */
function droppedBy(walk: Walk, path: readonly string[], attr?: string): IgnoredPart | undefined {
  if (!walk.version) return undefined;
  const entry = SINCE.find((s) => s.attr === attr && samePath(s.path, path));
  if (!entry || atLeast(walk.version, entry.since)) return undefined;
  const where = path
    .slice(1)
    .map((t, i, all) => (i === all.length - 1 && attr ? `<${t} ${attr}>` : `<${t}>`))
    .join('');
  return { what: where, why: `not supported before ${entry.since.join('.')}` };
}

/** The value as libvirt writes it back, or undefined when libvirt drops the attribute. */
function canonicalValue(path: readonly string[], name: string, raw: string, walk: Walk): string | undefined {
  const value = raw.trim();
  const tag = path[path.length - 1]!;
  const where = path.join('/');
  if ((tag === 'mac' && name === 'address') || (tag === 'host' && name === 'mac')) return canonicalMac(value);
  // virNetworkDefParseXML: any stp but 'off' is on.
  if (where === 'network/bridge' && name === 'stp') return value === 'off' ? 'off' : 'on';
  // <forward managed> means something only to a hostdev pool (and 'yes' in any case is yes).
  if (where === 'network/forward' && name === 'managed') return walk.forwardMode === 'hostdev' ? (value.toLowerCase() === 'yes' ? 'yes' : 'no') : undefined;
  if (where === 'network/portgroup' && name === 'default') return value.toLowerCase() === 'yes' ? 'yes' : 'no';
  if (tag === 'address' && where === 'network/forward/address' && PCI_WIDTH[name] !== undefined && /^(0x)?[0-9a-f]+$/i.test(value)) {
    return `0x${parseInt(value, 16).toString(16).padStart(PCI_WIDTH[name], '0')}`;
  }
  if (ADDRESS.has(name) && isIPv6(value)) return canonicalIPv6(value);
  if (NUMERIC.has(name) && /^\d+$/.test(value) && !NUMERIC_EXCEPT.some((p) => samePath(p, path))) return String(Number(value));
  return raw;
}

// Which attributes of an element withDefaults filled in (libvirt did not write them).
const filled = new WeakMap<XmlElement, readonly string[]>();

/** Fills in the attributes libvirt leaves out when they hold their default. */
function withDefaults(el: XmlElement, parents: readonly string[]): XmlElement {
  const path = [...parents, el.tag];
  const attrs = { ...el.attrs };
  const added: string[] = [];
  const fill = (name: string, value: string) => {
    if (attrs[name] !== undefined) return;
    attrs[name] = value;
    added.push(name);
  };
  for (const d of DEFAULTS) if (samePath(d.path, path)) fill(d.attr, d.value);
  if (el.tag === 'lease' && attrs.expiry !== undefined && attrs.expiry !== '0') fill('unit', 'minutes');
  const out = { ...el, attrs, children: el.children.map((c) => withDefaults(c, path)) };
  if (added.length) filled.set(out, added);
  return out;
}

/**
 * An element of the canonical actual definition as libvirt wrote it (without the defaults filled
 * in for the comparison): what a `net-update … delete` names and its check looks for.
 */
export function asLibvirtWrote(el: XmlElement): XmlElement {
  const added = filled.get(el) ?? [];
  return { ...el, attrs: Object.fromEntries(Object.entries(el.attrs).filter(([k]) => !added.includes(k))), children: el.children.map(asLibvirtWrote) };
}

/** virMacAddrParse takes hex octets in either case, one or two digits; virMacAddrFormat writes %02x. */
export function canonicalMac(value: string): string {
  const parts = value.split(':');
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-f]{1,2}$/i.test(p))) return value;
  return parts.map((p) => p.toLowerCase().padStart(2, '0')).join(':');
}

/** virUUIDParse skips dashes and blanks between hex digits; virUUIDFormat writes 8-4-4-4-12 in lower case. */
export function canonicalUuid(value: string): string {
  const hex = value.replace(/[-\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex)) return value;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** inet_ntop's form: lower case, no leading zeros, the longest run of two or more zero groups as `::`. */
export function canonicalIPv6(value: string): string {
  // The WHATWG URL serializer writes IPv6 hosts so (RFC 5952, as glibc's inet_ntop); it would
  // also rewrite an embedded IPv4 tail, which inet_ntop keeps: leave those as written.
  if (value.includes('.')) return value.toLowerCase();
  return new URL(`http://[${value}]/`).hostname.slice(1, -1);
}

function parseVersion(text: string | undefined): Version | undefined {
  const m = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(text ?? '');
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

const atLeast = (v: Version, min: Version) => {
  for (let i = 0; i < 3; i++) if (v[i] !== min[i]) return v[i]! > min[i]!;
  return true;
};

const samePath = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((t, i) => t === b[i]);
