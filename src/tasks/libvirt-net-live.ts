// Which differences between a wanted and a current network definition libvirt can apply to a
// RUNNING network (`virsh net-update … --live --config`: guests keep their link), and which need
// the network destroyed and started again (its bridge is deleted and made anew: every guest tap
// drops out of it). Pure: XML trees and the host's libvirt version in, a classification out.
import type { Op } from '../ops/types.js';
import { isSubset, prettyXml, type XmlElement } from '../render/netxml.js';

export type LiveSection = 'ip-dhcp-range' | 'ip-dhcp-host' | 'dns-host' | 'dns-txt' | 'dns-srv' | 'forward-interface' | 'portgroup';

// virNetworkUpdate came with libvirt 0.10.2, but daemons before 1.2.6 read its command and section
// arguments swapped (virsh compensated in ways that differ by version): below that, restart.
// Every section here is the same floor; the table is per section so a later one can differ.
const LIVE_SINCE: Record<LiveSection, readonly [number, number, number]> = {
  'ip-dhcp-range': [1, 2, 6],
  'ip-dhcp-host': [1, 2, 6],
  'dns-host': [1, 2, 6],
  'dns-txt': [1, 2, 6],
  'dns-srv': [1, 2, 6],
  'forward-interface': [1, 2, 6],
  portgroup: [1, 2, 6],
};

export interface LiveOp {
  command: 'add' | 'delete';
  section: LiveSection;
  /** Index of the <ip> element, for the DHCP sections. */
  parentIndex?: number;
  element: XmlElement;
}

export type NetChange =
  | { way: 'same' }
  | { way: 'live'; ops: LiveOp[] }
  /** `parts`: the elements that differ beyond what net-update changes (empty when the host's libvirt is what forbids it); `why`: one phrase. */
  | { way: 'restart'; parts: string[]; why: string };

/** `9.0.0` → [9, 0, 0]; undefined when the text holds no version. */
export function parseVersion(text: string | undefined): [number, number, number] | undefined {
  const m = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(text ?? '');
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

const atLeast = (v: readonly number[], min: readonly number[]) => {
  for (let i = 0; i < 3; i++) if ((v[i] ?? 0) !== min[i]) return (v[i] ?? 0) > min[i]!;
  return true;
};

// Where each section's elements sit: in a container under the root (or under each <ip>).
const ROOT_SLOTS: ReadonlyArray<{ container: string | null; tag: string; section: LiveSection }> = [
  { container: 'dns', tag: 'host', section: 'dns-host' },
  { container: 'dns', tag: 'txt', section: 'dns-txt' },
  { container: 'dns', tag: 'srv', section: 'dns-srv' },
  { container: 'forward', tag: 'interface', section: 'forward-interface' },
  { container: null, tag: 'portgroup', section: 'portgroup' },
];
const IP_SLOTS: ReadonlyArray<{ tag: string; section: LiveSection }> = [
  { tag: 'range', section: 'ip-dhcp-range' },
  { tag: 'host', section: 'ip-dhcp-host' },
];

const isEmpty = (e: XmlElement) => e.children.length === 0 && !e.text && Object.keys(e.attrs).length === 0;

/** The definition without what net-update can change; a <dhcp> or <dns> left empty goes too. */
export function withoutLiveParts(net: XmlElement): XmlElement {
  const stripContainer = (el: XmlElement, tags: string[]): XmlElement => ({ ...el, children: el.children.filter((c) => !tags.includes(c.tag)) });
  const children = net.children
    .filter((c) => c.tag !== 'portgroup')
    .map((c) => {
      if (c.tag === 'dns') return stripContainer(c, ['host', 'txt', 'srv']);
      if (c.tag === 'forward') return stripContainer(c, ['interface']);
      if (c.tag === 'ip') {
        const ipChildren = c.children
          .map((d) => (d.tag === 'dhcp' ? stripContainer(d, ['range', 'host']) : d))
          .filter((d) => !(d.tag === 'dhcp' && isEmpty(d)));
        return { ...c, children: ipChildren };
      }
      return c;
    })
    .filter((c) => !(c.tag === 'dns' && isEmpty(c)));
  return { ...net, children };
}

/** One-to-one: the wanted elements no current one satisfies (add), the current ones no wanted one claims (delete). */
function diffElements(want: XmlElement[], have: XmlElement[]): { add: XmlElement[]; del: XmlElement[] } {
  const used = new Set<number>();
  const add: XmlElement[] = [];
  for (const w of want) {
    const i = have.findIndex((h, idx) => !used.has(idx) && isSubset(w, h));
    if (i < 0) add.push(w);
    else used.add(i);
  }
  return { add, del: have.filter((_, i) => !used.has(i)) };
}

const childrenOf = (el: XmlElement | undefined, tag: string) => el?.children.filter((c) => c.tag === tag) ?? [];
const child = (el: XmlElement | undefined, tag: string) => el?.children.find((c) => c.tag === tag);

/**
 * How `desired` (what the task gives) gets onto a running network whose persistent definition is
 * `actual`: nothing to do, net-update operations, or a restart (with the parts that force it).
 * `version` is the host's libvirt version; unknown means restart, as before live updates existed.
 */
export function classifyNetworkChange(desired: XmlElement, actual: XmlElement, version: string | undefined): NetChange {
  if (isSubset(desired, actual)) return { way: 'same' };
  const d = withoutLiveParts(desired);
  const a = withoutLiveParts(actual);
  if (!isSubset(d, a)) {
    const parts = restartReasons(d, a);
    return { way: 'restart', parts, why: `${parts.join(', ')} cannot change without a restart` };
  }

  const ops: LiveOp[] = [];
  const push = (section: LiveSection, want: XmlElement[], have: XmlElement[], parentIndex?: number) => {
    // As in the subset comparison: a tag the definition does not mention is left as it is.
    if (want.length === 0) return;
    const { add, del } = diffElements(want, have);
    for (const element of del) ops.push({ command: 'delete', section, parentIndex, element });
    for (const element of add) ops.push({ command: 'add', section, parentIndex, element });
  };
  for (const slot of ROOT_SLOTS) {
    const wantParent = slot.container ? child(desired, slot.container) : desired;
    const haveParent = slot.container ? child(actual, slot.container) : actual;
    push(slot.section, childrenOf(wantParent, slot.tag), childrenOf(haveParent, slot.tag));
  }
  // Each wanted <ip> goes with the current one it matches apart from DHCP (as the subset test paired them).
  const actualIps = childrenOf(actual, 'ip');
  const used = new Set<number>();
  for (const wantIp of childrenOf(desired, 'ip')) {
    const index = actualIps.findIndex(
      (h, i) =>
        !used.has(i) &&
        isSubset(withoutLiveParts({ ...desired, children: [wantIp] }).children[0]!, withoutLiveParts({ ...actual, children: [h] }).children[0]!),
    );
    if (index < 0) return { way: 'restart', parts: ['<ip>'], why: '<ip> cannot change without a restart' };
    used.add(index);
    for (const slot of IP_SLOTS) push(slot.section, childrenOf(child(wantIp, 'dhcp'), slot.tag), childrenOf(child(actualIps[index], 'dhcp'), slot.tag), index);
  }
  if (ops.length === 0) return { way: 'same' };

  const v = parseVersion(version);
  if (!v) return { way: 'restart', parts: [], why: 'the libvirt version on the host is unknown (live updates need 1.2.6 or later)' };
  const old = [...new Set(ops.filter((o) => !atLeast(v, LIVE_SINCE[o.section])).map((o) => o.section))];
  if (old.length > 0)
    return { way: 'restart', parts: [], why: old.map((s) => `libvirt ${v.join('.')} cannot update ${s} live (needs ${LIVE_SINCE[s].join('.')})`).join('; ') };
  // Deletions first: libvirt refuses to add a DHCP host whose MAC, name or address is still taken.
  return { way: 'live', ops: [...ops.filter((o) => o.command === 'delete'), ...ops.filter((o) => o.command === 'add')] };
}

function restartReasons(d: XmlElement, a: XmlElement): string[] {
  const reasons: string[] = [];
  for (const [k, v] of Object.entries(d.attrs)) if (a.attrs[k] !== v) reasons.push(`<network ${k}>`);
  for (const tag of new Set(d.children.map((c) => c.tag))) {
    if (!isSubset({ ...d, attrs: {}, children: childrenOf(d, tag) }, { ...a, attrs: {}, children: childrenOf(a, tag) })) reasons.push(`<${tag}>`);
  }
  return reasons.length ? reasons : ['the definition'];
}

const one = (el: XmlElement) => prettyXml(el).replace(/\n\s*/g, '');

/** `delete ip-dhcp-range <range start="…" end="…"/>`, for summaries and diffs. */
export const describeOp = (op: LiveOp): string => `${op.command} ${op.section} ${one(op.element)}`;

/** The net-update operation of one change (applies to the running network and its persistent definition). */
export function netUpdateOp(network: string, op: LiveOp): Op {
  return {
    op: 'net.update',
    name: network,
    command: op.command,
    section: op.section,
    xml: one(op.element),
    ...(op.parentIndex !== undefined ? { parentIndex: op.parentIndex } : {}),
    live: true,
    config: true,
  };
}
