// VLAN-aware bridges: the facts (`vlan_filtering` from `ip -j -d link`, each port's VLAN set from
// `bridge -j vlan show`), VLAN sets as written in playbooks (ids and ranges), and the
// `bridge vlan add/del` commands that turn one set into another. Pure.
import type { Facts, PortVlan } from '../model/facts.js';
import type { BridgeVlanOp } from '../ops/types.js';
import type { FactsFragment } from '../facts/fragment.js';
import { linkDetails } from './link-details.js';

/**
 * Shell of the facts exec: `bridge -j vlan show` only when some bridge filters VLANs (read from
 * sysfs, no process), so hosts without VLAN-aware bridges print nothing more.
 */
export const BRIDGE_VLAN_SHELL = `for f in /sys/class/net/*/bridge/vlan_filtering; do [ -f "$f" ] || continue; read v < "$f"; if [ "$v" = 1 ]; then echo '@@kvmnet:bridge-vlan@@'; bridge -j vlan show 2>/dev/null; break; fi; done\n`;

interface BridgeVlanJson {
  ifname: string;
  vlans?: Array<{ vlan: number; vlanEnd?: number; flags?: string[] }>;
}

/**
 * ensure_bridge's and ensure_port's fragments: vlan_filtering from the link section (no host
 * cost, always read: the rollback re-creates bridges with it), port VLAN sets from `bridge -j
 * vlan show` (run only when some bridge filters VLANs).
 */
export const bridgeVlanFacts: readonly FactsFragment[] = [
  { id: 'bridge-filtering', parse: (sections, facts) => parseBridgeFiltering(sections, facts) },
  { id: 'bridge-vlans', shell: BRIDGE_VLAN_SHELL, parse: (sections, facts) => parseBridgeVlanTable(sections, facts) },
];

function parseBridgeFiltering(sections: ReadonlyArray<{ key: string; body: string }>, facts: Facts): void {
  for (const l of linkDetails(sections)) {
    const link = facts.links[l.ifname];
    const d = l.linkinfo?.info_kind === 'bridge' ? l.linkinfo.info_data : undefined;
    if (!link?.bridge || !d) continue;
    if (typeof d.vlan_filtering === 'number') link.bridge.vlanFiltering = d.vlan_filtering === 1;
    if (typeof d.vlan_default_pvid === 'number') link.bridge.defaultPvid = d.vlan_default_pvid;
  }
}

function parseBridgeVlanTable(sections: ReadonlyArray<{ key: string; body: string }>, facts: Facts): void {
  const body = sections.find((s) => s.key === 'bridge-vlan')?.body.trim();
  if (!body) return;
  let list: BridgeVlanJson[];
  try {
    list = JSON.parse(body) as BridgeVlanJson[];
  } catch {
    return;
  }
  for (const entry of list) {
    const link = facts.links[entry.ifname];
    if (!link) continue;
    const vlans: PortVlan[] = [];
    for (const v of entry.vlans ?? []) {
      for (let id = v.vlan; id <= (v.vlanEnd ?? v.vlan); id++) {
        const flags = v.flags ?? [];
        vlans.push({ id, pvid: flags.includes('PVID'), untagged: flags.includes('Egress Untagged') });
      }
    }
    link.vlans = vlans;
  }
}

/** `[10, "200-202"]` → [10, 200, 201, 202]; throws on a bad element (the schema checks them first). */
export function expandVlanList(list: ReadonlyArray<number | string>): number[] {
  const out = new Set<number>();
  for (const item of list) {
    const m = typeof item === 'number' ? [String(item), String(item), String(item)] : /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(item);
    if (!m) throw new Error(`not a VLAN id or range: ${String(item)}`);
    const from = Number(m[1]);
    const to = Number(m[2] ?? m[1]);
    for (let id = from; id <= to; id++) out.add(id);
  }
  return [...out].sort((a, b) => a - b);
}

/** Problems of one element of a `vlans`/`untagged` list (undefined when fine). */
export function vlanItemProblem(item: unknown): string | undefined {
  if (typeof item === 'string' && item.includes('{{')) return undefined;
  const m = typeof item === 'number' ? [String(item), String(item)] : typeof item === 'string' ? /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(item) : null;
  if (!m) return `expected a VLAN id (1–4094) or a range like "200-299", found ${JSON.stringify(item)}`;
  const from = Number(m[1]);
  const to = Number(m[2] ?? m[1]);
  if (!Number.isInteger(from) || from < 1 || to > 4094 || from > to) return `VLAN ids are 1–4094 and a range goes up (found ${JSON.stringify(item)})`;
  return undefined;
}

/** `30, 99 PVID untagged, 200-202`: a port's VLAN set on one line. */
export function describeVlans(vlans: readonly PortVlan[] | undefined): string {
  if (!vlans?.length) return 'none';
  const parts: string[] = [];
  const sorted = [...vlans].sort((a, b) => a.id - b.id);
  for (let i = 0; i < sorted.length;) {
    const v = sorted[i]!;
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1]!.id === sorted[j]!.id + 1 && !v.pvid && !sorted[j + 1]!.pvid && sorted[j + 1]!.untagged === v.untagged) j++;
    const flags = [v.pvid && 'PVID', v.untagged && 'untagged'].filter(Boolean).join(' ');
    parts.push(`${j > i ? `${v.id}-${sorted[j]!.id}` : v.id}${flags ? ` ${flags}` : ''}`);
    i = j + 1;
  }
  return parts.join(', ');
}

const same = (a: PortVlan | undefined, b: PortVlan) => a !== undefined && a.pvid === b.pvid && a.untagged === b.untagged;

/** The `bridge vlan` operations that turn `current` into `wanted` on port `dev` (additions in ranges where the flags allow). */
export function vlanOps(dev: string, current: readonly PortVlan[], wanted: readonly PortVlan[]): BridgeVlanOp[] {
  const cur = new Map(current.map((v) => [v.id, v]));
  const want = new Map(wanted.map((v) => [v.id, v]));
  const add = wanted.filter((v) => !same(cur.get(v.id), v)).sort((a, b) => a.id - b.id);
  const del = current
    .filter((v) => !want.has(v.id))
    .map((v) => v.id)
    .sort((a, b) => a - b);
  const ops: BridgeVlanOp[] = [];
  // The PVID first: a port without one drops untagged frames in between.
  for (const v of add.filter((x) => x.pvid)) ops.push({ op: 'bridge-vlan.add', dev, vid: v.id, pvid: true, untagged: v.untagged });
  const rest = add.filter((x) => !x.pvid);
  for (let i = 0; i < rest.length;) {
    let j = i;
    while (j + 1 < rest.length && rest[j + 1]!.id === rest[j]!.id + 1 && rest[j + 1]!.untagged === rest[i]!.untagged) j++;
    ops.push({ op: 'bridge-vlan.add', dev, vid: j > i ? [rest[i]!.id, rest[j]!.id] : rest[i]!.id, pvid: false, untagged: rest[i]!.untagged });
    i = j + 1;
  }
  for (let i = 0; i < del.length;) {
    let j = i;
    while (j + 1 < del.length && del[j + 1] === del[j]! + 1) j++;
    ops.push({ op: 'bridge-vlan.del', dev, vid: j > i ? [del[i]!, del[j]!] : del[i]! });
    i = j + 1;
  }
  return ops;
}

/** The port VLAN set a task asks for: tagged `vlans`, the `pvid` (PVID), egress-untagged `untagged`. */
export function wantedVlans(
  vlans: ReadonlyArray<number | string> | undefined,
  pvid: number | undefined,
  untagged: ReadonlyArray<number | string> | undefined,
): PortVlan[] {
  const ids = new Set(expandVlanList(vlans ?? []));
  if (pvid !== undefined) ids.add(pvid);
  const untag = new Set(expandVlanList(untagged ?? []));
  return [...ids].sort((a, b) => a - b).map((id) => ({ id, pvid: id === pvid, untagged: untag.has(id) }));
}
