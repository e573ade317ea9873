// Semantic comparison of libvirt network XML. libvirt rewrites what you define (adds uuid, mac,
// default attributes), so the desired document must match the actual one as a SUBSET:
// every attribute, text and element the user wrote must be there; what libvirt added is ignored.
// Repeated elements (DHCP ranges, hosts) must match one to one, so a changed or removed
// range is a change.
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export interface XmlElement {
  tag: string;
  attrs: Record<string, string>;
  text: string;
  children: XmlElement[];
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: true,
  commentPropName: '#comment',
});

type Ordered = Array<Record<string, unknown>>;

// Every host brings the same documents back (a rendered template; libvirt's output differs only by
// uuid and mac; the facts and the planner read the same text): each text is parsed once. A small
// bound is enough, since a host's facts are planned right after they are parsed.
const parsed = new Map<string, XmlElement>();
const PARSED_KEPT = 64;

/** The document's root element. Shared between callers, so frozen: nobody may change it. */
export function parseXml(text: string): XmlElement {
  const known = parsed.get(text);
  if (known) return known;
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new Error(`invalid XML at line ${valid.err.line}: ${valid.err.msg}`);
  const roots = toElements(parser.parse(text) as Ordered).filter((e) => !e.tag.startsWith('?'));
  if (roots.length !== 1) throw new Error(`expected one root element, found ${roots.length}`);
  const root = deepFreeze(roots[0]!);
  if (parsed.size >= PARSED_KEPT) parsed.delete(parsed.keys().next().value!);
  parsed.set(text, root);
  return root;
}

/** A document libvirt gave us, or undefined when there is none or we cannot read it (views then show the network without that part). */
export function readableXml(text: string | undefined): XmlElement | undefined {
  if (!text) return undefined;
  try {
    return parseXml(text);
  } catch {
    return undefined;
  }
}

function deepFreeze(el: XmlElement): XmlElement {
  Object.freeze(el.attrs);
  el.children.forEach(deepFreeze);
  Object.freeze(el.children);
  return Object.freeze(el);
}

function toElements(nodes: Ordered): XmlElement[] {
  const out: XmlElement[] = [];
  for (const node of nodes) {
    const tag = Object.keys(node).find((k) => k !== ':@');
    if (!tag || tag === '#text' || tag === '#comment') continue;
    const childNodes = (node[tag] as Ordered) ?? [];
    const text = childNodes
      .filter((c) => '#text' in c)
      .map((c) => String(c['#text']))
      .join('')
      .trim();
    out.push({ tag, attrs: (node[':@'] as Record<string, string>) ?? {}, text, children: toElements(childNodes) });
  }
  return out;
}

/** libvirt spells some values several ways (`yes`/`on`); compare the meaning. */
function normalize(value: string): string {
  const v = value.trim();
  if (v === 'on' || v === 'yes') return 'yes';
  if (v === 'off' || v === 'no') return 'no';
  return v;
}

export function isSubset(desired: XmlElement, actual: XmlElement): boolean {
  if (desired.tag !== actual.tag) return false;
  for (const [k, v] of Object.entries(desired.attrs)) {
    if (actual.attrs[k] === undefined || normalize(actual.attrs[k]) !== normalize(v)) return false;
  }
  if (desired.text && desired.text !== actual.text) return false;
  const tags = new Set(desired.children.map((c) => c.tag));
  for (const tag of tags) {
    const want = desired.children.filter((c) => c.tag === tag);
    const have = actual.children.filter((c) => c.tag === tag);
    if (want.length !== have.length) return false;
    const used = new Set<number>();
    for (const w of want) {
      const i = have.findIndex((h, idx) => !used.has(idx) && isSubset(w, h));
      if (i < 0) return false;
      used.add(i);
    }
  }
  return true;
}

export function xmlMatches(desiredXml: string, actualXml: string): boolean {
  return isSubset(parseXml(desiredXml), parseXml(actualXml));
}

/** A stable pretty-print (attributes in document order, two-space indent) for diffs. */
export function prettyXml(el: XmlElement, indent = ''): string {
  const attrs = Object.entries(el.attrs)
    .map(([k, v]) => ` ${k}="${escapeAttr(v)}"`)
    .join('');
  if (el.children.length === 0 && !el.text) return `${indent}<${el.tag}${attrs}/>`;
  if (el.children.length === 0) return `${indent}<${el.tag}${attrs}>${escapeText(el.text)}</${el.tag}>`;
  const inner = el.children.map((c) => prettyXml(c, indent + '  ')).join('\n');
  return `${indent}<${el.tag}${attrs}>\n${inner}\n${indent}</${el.tag}>`;
}

const escapeAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
const escapeText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/**
 * The part of `actual` that `desired` talks about: only its tags and attributes. Diffing this
 * against `desired` shows the real differences, not what libvirt added on its own.
 */
export function project(actual: XmlElement, desired: XmlElement): XmlElement {
  const attrs = Object.fromEntries(Object.entries(actual.attrs).filter(([k]) => k in desired.attrs));
  const children: XmlElement[] = [];
  const tags = [...new Set(desired.children.map((c) => c.tag))];
  for (const tag of tags) {
    const want = desired.children.filter((c) => c.tag === tag);
    actual.children
      .filter((c) => c.tag === tag)
      .forEach((c, i) => children.push(project(c, want.find((w) => isSubset(w, c)) ?? want[Math.min(i, want.length - 1)]!)));
  }
  return { tag: actual.tag, attrs, text: desired.text ? actual.text : '', children };
}

/**
 * Forward mode and bridge name from a network's XML (no <forward> means isolated, a <forward>
 * without mode is NAT).
 */
export function networkXmlSummary(text: string): { forwardMode: string; bridge?: string } {
  const net = parseXml(text);
  const forward = net.children.find((c) => c.tag === 'forward');
  const bridge = net.children.find((c) => c.tag === 'bridge');
  return { forwardMode: forward ? (forward.attrs.mode ?? 'nat') : 'isolated', bridge: bridge?.attrs.name };
}
