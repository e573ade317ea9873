// VLAN-aware bridges persisted with ifupdown + bridge-utils (Debian 12). Pure.
//
// What Debian 12's bridge-utils 1.7.1 implements (/lib/bridge-utils/ifupdown.sh, run from
// /etc/network/if-pre-up.d/bridge; bridge-utils-interfaces(5)): `bridge_vlan_aware yes|no`
// (ifupdown exports bridge-vlan-aware and bridge_vlan_aware alike, as IF_BRIDGE_VLAN_AWARE), which
// sets vlan_filtering when it creates the bridge, before it adds the ports. `bridge-pvid` and
// `bridge-vids` are ifupdown2's: bridge-utils ignores them. So the rest is `post-up` commands in
// the bridge's stanza, which run once bridge-utils has made the bridge, added its ports and set it
// up: the default PVID (`ip link set … vlan_default_pvid`: the kernel moves every port that still
// has the old default with it), then per port the `bridge vlan` commands that turn the set a new
// port has — the bridge's default PVID, untagged — into the port's set. Those are the commands the
// runtime planner would run (vlanOps), so the file and `bridge vlan` agree by construction.
import type { PortVlan } from '../model/facts.js';
import { opsLines } from '../ops/index.js';
import { vlanOps } from './bridge-vlans.js';

const DEFAULT_PVID = /^post-up ip link set dev (\S+) type bridge vlan_default_pvid (\d+)$/;
const PORT_VLAN = /^post-up bridge vlan (add|del) dev (\S+) vid (\d+)(?:-(\d+))?((?: \w+)*)$/;

const optionLines = (content: string) => content.split('\n').map((l) => l.trim());

/** The bridge's own lines: bridge_vlan_aware, and the default PVID when it is given. */
export function ifupdownBridgeVlanLines(bridge: string, vlanFiltering: boolean | undefined, defaultPvid: number | undefined): string[] {
  if (vlanFiltering === undefined) return [];
  return [
    `bridge_vlan_aware ${vlanFiltering ? 'yes' : 'no'}`,
    ...(vlanFiltering && defaultPvid !== undefined ? [`post-up ip link set dev ${bridge} type bridge vlan_default_pvid ${defaultPvid}`] : []),
  ];
}

/** The default PVID a kvmnet bridge stanza gives new ports (the kernel's 1 without the line). */
export function ifupdownDefaultPvid(content: string): number {
  for (const l of optionLines(content)) {
    const m = DEFAULT_PVID.exec(l);
    if (m) return Number(m[2]);
  }
  return 1;
}

/** `bridge_vlan_aware` of the stanza: true, false, or undefined without the line. */
export function ifupdownVlanAware(content: string): boolean | undefined {
  const m = /^[ \t]*bridge[-_]vlan[-_]aware[ \t]+(\S+)/m.exec(content);
  return m ? /^(yes|on|1)$/i.test(m[1]!) : undefined;
}

/** The start set of a new port on a bridge whose default PVID is `pvid` (0: none). */
const startSet = (pvid: number): PortVlan[] => (pvid ? [{ id: pvid, pvid: true, untagged: true }] : []);

/** `post-up` lines that give PORT the VLAN set `wanted`, from what a port gets when it is added. */
export function ifupdownPortVlanLines(port: string, defaultPvid: number, wanted: readonly PortVlan[]): string[] {
  return opsLines(vlanOps(port, startSet(defaultPvid), wanted)).map((c) => `post-up ${c}`);
}

/** The ports that have `bridge vlan` lines in the stanza, each with the set those lines leave it with. */
export function ifupdownPortVlans(content: string): Map<string, PortVlan[]> {
  const start = startSet(ifupdownDefaultPvid(content));
  const sets = new Map<string, Map<number, PortVlan>>();
  for (const l of optionLines(content)) {
    const m = PORT_VLAN.exec(l);
    if (!m) continue;
    const [, op, port, from, to, flags = ''] = m;
    let set = sets.get(port!);
    if (!set) sets.set(port!, (set = new Map(start.map((v) => [v.id, { ...v }]))));
    // As the kernel does: `add` sets the flags anew, a new PVID takes it from the old one.
    for (let id = Number(from); id <= Number(to ?? from); id++) {
      if (op === 'del') set.delete(id);
      else {
        const pvid = / pvid\b/.test(flags);
        if (pvid) for (const v of set.values()) v.pvid = false;
        set.set(id, { id, pvid, untagged: / untagged\b/.test(flags) });
      }
    }
  }
  return new Map([...sets].map(([p, s]) => [p, [...s.values()].sort((a, b) => a.id - b.id)]));
}

/** The stanza with PORT's `bridge vlan` lines replaced by `lines`, where the old ones were (else at the end; none removes them). */
export function withIfupdownPortVlanLines(content: string, port: string, lines: readonly string[]): string {
  const out: string[] = [];
  let placed = false;
  for (const l of content.split('\n')) {
    if (PORT_VLAN.exec(l.trim())?.[2] !== port) out.push(l);
    else if (!placed) {
      out.push(...lines.map((x) => `    ${x}`));
      placed = true;
    }
  }
  while (out.length && out[out.length - 1] === '') out.pop();
  if (!placed) out.push(...lines.map((x) => `    ${x}`));
  return `${out.join('\n')}\n`;
}

/** Every port's lines again for a bridge whose default PVID is now `defaultPvid` (same sets). */
export function portVlanLinesFor(current: string | undefined, defaultPvid: number): string[] {
  if (current === undefined) return [];
  return [...ifupdownPortVlans(current)].flatMap(([port, set]) => ifupdownPortVlanLines(port, defaultPvid, set));
}
