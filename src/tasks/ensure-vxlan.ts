// ensure_vxlan: a VXLAN (`ip link add … type vxlan`): VNI, local underlay address, underlay
// device, UDP port, MAC learning, and either unicast remotes — kept exactly as listed as all-zero
// MAC forwarding entries (`bridge fdb append 00:00:00:00:00:00 dev VX dst REMOTE`), so a host
// added to the list is flooded to and a removed one is not — or a multicast group. The VNI, local,
// group, device, port and learning are fixed at creation: a change re-creates the link (its
// bridge port and entries are put back in the same step). A port of a bridge like any other link
// (ensure_port). The MTU is checked against the underlay: VXLAN adds 50 bytes (70 over IPv6).
import { isIP } from 'node:net';
import { z } from 'zod';
import { RefusedError } from '../errors.js';
import type { Facts, LinkFact } from '../model/facts.js';
import { canonicalAddress } from '../model/ip-address.js';
import { factsAfter, noop, type Change, type Plan } from '../model/plan.js';
import { vxlanOverhead, vxlanText } from '../ops/link.js';
import { ZERO_MAC } from '../ops/rule-fdb.js';
import type { Op, VxlanSettings } from '../ops/types.js';
import { interfaceName, ip, persist, presence } from './common-args.js';
import type { ArgProblem, PlannedTaskModule } from './contract.js';
import { linkMtuChange, linkUpChange } from './link-changes.js';
import { linkDetails } from './link-details.js';
import { vxlanDrift, vxlanFiles } from './vxlan-persist.js';
import { shown } from '../text/shown.js';

const schema = z.strictObject({
  name: interfaceName,
  vni: z.number().int().min(0).max(16777215).optional().meta({ description: 'VXLAN network identifier (0–16777215); required with state: present' }),
  local: ip.optional().meta({ description: "this host's underlay address the tunnel's packets leave from" }),
  remotes: z
    .union([z.array(ip), z.string()])
    .optional()
    .meta({
      description:
        'unicast underlay addresses of the other ends, a list or one string of addresses separated by spaces or commas (what a template renders): broadcast and unknown frames are sent to each (all-zero MAC forwarding entries, kept exactly as listed; an entry equal to local is left out). Omitted: the entries are left alone',
    }),
  group: ip.optional().meta({ description: 'multicast group for flooding, instead of remotes (needs dev)' }),
  dev: interfaceName.optional().meta({ description: 'the underlay device' }),
  dstport: z.number().int().min(1).max(65535).default(4789).meta({ description: 'UDP destination port (IANA: 4789)' }),
  learning: z.boolean().default(true).meta({ description: 'learn remote MAC addresses from received packets' }),
  mtu: z
    .number()
    .int()
    .min(68)
    .max(65535)
    .optional()
    .meta({ description: "the VXLAN's MTU; at most the underlay's MTU minus 50 bytes (70 over IPv6), or frames are lost" }),
  up: z.boolean().default(true),
  state: presence,
  persist,
});

export type EnsureVxlanArgs = z.output<typeof schema>;
const isText = (v: unknown): v is string => typeof v === 'string' && !v.includes('{{');

function vxlanProblems(args: Record<string, unknown>): ArgProblem[] {
  const problems: ArgProblem[] = [];
  if ((args.state ?? 'present') === 'present' && args.vni === undefined)
    problems.push({ field: 'vni', message: 'ensure_vxlan needs a vni with state: present' });
  if (args.group !== undefined && args.remotes !== undefined)
    problems.push({ field: 'group', message: 'give either remotes (unicast) or group (multicast), not both' });
  if (args.group !== undefined && args.dev === undefined) problems.push({ field: 'dev', message: 'a multicast group needs the underlay device (dev)' });
  if (isText(args.group) && isIP(args.group) && !isMulticast(args.group))
    problems.push({ field: 'group', message: `${args.group} is not a multicast address (224.0.0.0/4 or ff00::/8)` });
  if (isText(args.remotes)) {
    const bad = splitRemotes(args.remotes).filter((r) => !isIP(r));
    if (bad.length) problems.push({ field: 'remotes', message: `not IP addresses: ${bad.join(', ')}` });
  }
  const fam = isText(args.local) ? isIP(args.local) : 0;
  const list = Array.isArray(args.remotes) ? args.remotes : isText(args.remotes) ? splitRemotes(args.remotes) : undefined;
  if (fam && list) {
    list.forEach((r, i) => {
      if (isText(r) && isIP(r) && isIP(r) !== fam)
        problems.push({ field: 'remotes', at: [i], message: `${r} is IPv${isIP(r)}, local ${String(args.local)} is IPv${fam}` });
    });
  }
  return problems;
}

const isMulticast = (a: string) => (isIP(a) === 4 ? Number(a.split('.')[0]) >= 224 && Number(a.split('.')[0]) <= 239 : a.toLowerCase().startsWith('ff'));

export function wantedVxlan(args: EnsureVxlanArgs): VxlanSettings {
  const v: VxlanSettings = { vni: args.vni ?? 0, dstport: args.dstport, learning: args.learning };
  if (args.local) v.local = canonicalAddress(args.local);
  if (args.group) v.group = canonicalAddress(args.group);
  if (args.dev) v.dev = args.dev;
  return v;
}

const splitRemotes = (text: string) => text.split(/[\s,]+/).filter(Boolean);

/** The remotes as the kernel lists them, without local and duplicates; undefined: left alone. */
export function wantedRemotes(args: EnsureVxlanArgs): string[] | undefined {
  if (args.remotes === undefined) return undefined;
  const list = typeof args.remotes === 'string' ? splitRemotes(args.remotes) : args.remotes;
  const local = args.local && canonicalAddress(args.local);
  return [...new Set(list.map(canonicalAddress))].filter((r) => r !== local);
}

/** The underlay: dev, else the device holding local. */
function underlay(v: VxlanSettings, facts: Facts): LinkFact | undefined {
  if (v.dev) return facts.links[v.dev];
  const dev = v.local ? facts.addrs.find((a) => canonicalAddress(a.address) === v.local)?.dev : undefined;
  return dev ? facts.links[dev] : undefined;
}

/** Why the VXLAN's MTU does not fit in the underlay's, or undefined when it fits or the underlay is unknown. */
export function mtuProblem(name: string, v: VxlanSettings, mtu: number, facts: Facts): string | undefined {
  const under = underlay(v, facts);
  const overhead = vxlanOverhead(v);
  if (!under || mtu + overhead <= under.mtu) return undefined;
  return `VXLAN ${name} mtu ${mtu} + ${overhead} bytes of encapsulation is more than the underlay ${under.name}'s mtu ${under.mtu}: frames above ${under.mtu - overhead} bytes will be lost; set mtu: ${under.mtu - overhead} or raise ${under.name}'s mtu`;
}

function planVxlan(args: EnsureVxlanArgs, facts: Facts, host: string): Plan {
  const { name } = args;
  const link = facts.links[name];
  if (args.state === 'absent') {
    if (!link) return noop(`VXLAN ${name} does not exist`);
    if (link.kind !== 'vxlan') throw new RefusedError(`${name} on ${host} is ${link.kind ? `a ${link.kind}` : 'not a VXLAN'}; ensure_vxlan will not delete it`);
    return { changes: [{ summary: `delete VXLAN ${name}`, ops: [{ op: 'link.del', name }] }], devices: [name] };
  }
  if (link && link.kind !== 'vxlan')
    throw new RefusedError(`${name} exists on ${host} but is ${link.kind ? `a ${link.kind}` : 'not a VXLAN'}; refusing to replace it`);
  const want = wantedVxlan(args);
  if (want.dev && !facts.links[want.dev]) throw new RefusedError(`underlay device ${want.dev} of VXLAN ${name} does not exist on ${host}`);
  if (want.local && !facts.addrs.some((a) => canonicalAddress(a.address) === want.local)) {
    throw new RefusedError(`local ${want.local} of VXLAN ${name} is not an address of ${host}; packets could not leave from it`);
  }
  const remotes = wantedRemotes(args);
  const changes: Change[] = [];
  const recreate = link && link.vxlan && vxlanText(link.vxlan) !== vxlanText(want);
  if (!link || recreate) {
    const ops: Op[] = [];
    if (recreate) ops.push({ op: 'link.del', name });
    ops.push({ op: 'link.add', name, kind: 'vxlan', vxlan: want });
    // The kernel gives a new VXLAN a random MAC: a re-created one keeps its old one, so the
    // neighbours' ARP and FDB entries (and the MAC of a bridge it is the lowest port of) stay valid.
    if (recreate && link.mac) ops.push({ op: 'link.mac', name, mac: link.mac });
    if (args.mtu !== undefined) ops.push({ op: 'link.mtu', name, mtu: args.mtu });
    if (recreate && link.master) ops.push({ op: 'link.master', name, master: link.master });
    for (const dst of remotes ?? (recreate ? (link.fdbRemotes ?? []) : [])) ops.push({ op: 'fdb.append', dev: name, dst });
    if (args.up) ops.push({ op: 'link.up', name, up: true });
    const what = `${vxlanText(want)}${remotes?.length ? `, remotes ${remotes.join(' ')}` : ''}`;
    changes.push({
      summary: recreate
        ? `re-create VXLAN ${name}: it is ${vxlanText(link.vxlan!)}, wanted ${what}${link.master ? ` (back into ${link.master})` : ''}`
        : `create VXLAN ${name} (${what})`,
      ops,
    });
  } else {
    if (args.mtu !== undefined && args.mtu !== link.mtu) changes.push(linkMtuChange(name, link.mtu, args.mtu));
    if (remotes) {
      const have = link.fdbRemotes ?? [];
      const add = remotes.filter((r) => !have.includes(r));
      const del = have.filter((r) => !remotes.includes(r));
      if (add.length) changes.push({ summary: `${name}: flood to ${add.join(', ')}`, ops: add.map((dst) => ({ op: 'fdb.append' as const, dev: name, dst })) });
      if (del.length)
        changes.push({
          summary: `${name}: stop flooding to ${del.join(', ')} (not listed)`,
          ops: del.map((dst) => ({ op: 'fdb.del' as const, dev: name, dst })),
        });
    }
    if (args.up !== link.up) changes.push(linkUpChange(name, args.up));
  }
  const after = factsAfter(changes, facts);
  const mtu = after.links[name]?.mtu ?? args.mtu ?? 1500;
  const warning = mtuProblem(name, want, mtu, after);
  if (changes.length === 0)
    return noop(
      `VXLAN ${name} is as wanted (${vxlanText(want)}${remotes ? `, ${remotes.length} remote${remotes.length === 1 ? '' : 's'}` : ''})${warning ? `; warning: ${warning}` : ''}`,
    );
  if (warning) changes[0]!.summary += ` (warning: ${warning})`;
  const describe = (f: Facts) => {
    const l = f.links[name];
    return l
      ? `${name}: ${l.vxlan ? vxlanText(l.vxlan) : 'vxlan'} mtu ${l.mtu} ${l.up ? 'up' : 'down'}${l.master ? ` master ${l.master}` : ''}\n${name} remotes: ${(l.fdbRemotes ?? []).join(' ') || '-'}`
      : `${name}: absent`;
  };
  return { changes, devices: [name], diff: { before: describe(facts), after: describe(after), notes: warning ? [warning] : undefined } };
}

interface FdbEntry {
  mac?: string;
  dst?: string;
}

/** `bridge -j fdb show dev VX`: the all-zero MAC entries' destinations (the flooding list). Pure. */
export function parseFdbRemotes(json: string): string[] {
  const text = json.trim();
  if (!text) return [];
  const list = JSON.parse(text) as FdbEntry[];
  if (!Array.isArray(list)) throw new Error("'bridge -j fdb show' did not print a JSON list");
  return [...new Set(list.filter((e) => e.mac === ZERO_MAC && e.dst).map((e) => canonicalAddress(e.dst!)))];
}

const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

export function applyVxlanDetails(links: ReturnType<typeof linkDetails>, facts: Facts): void {
  for (const l of links) {
    const link = facts.links[l.ifname];
    const d = l.linkinfo?.info_kind === 'vxlan' ? l.linkinfo.info_data : undefined;
    if (!link || !d) continue;
    const v: VxlanSettings = { vni: num(d.id) ?? 0, dstport: num(d.port) ?? 0, learning: d.learning === true };
    const local = str(d.local) ?? str(d.local6);
    const group = str(d.group) ?? str(d.group6);
    if (local) v.local = canonicalAddress(local);
    if (group) v.group = canonicalAddress(group);
    if (str(d.link)) v.dev = str(d.link);
    link.vxlan = v;
  }
}

export function applyFdbRemotes(sections: ReadonlyArray<{ key: string; body: string }>, facts: Facts): void {
  for (const s of sections) {
    if (!s.key.startsWith('fdb:')) continue;
    const link = facts.links[s.key.slice(4)];
    if (link) link.fdbRemotes = parseFdbRemotes(s.body);
  }
}

export const vxlansOf = (f: Facts) =>
  Object.values(f.links)
    .filter((l) => l.kind === 'vxlan')
    .map((l) => ({
      name: l.name,
      ...(l.vxlan ?? {}),
      mtu: l.mtu,
      up: l.up,
      master: l.master ?? null,
      remotes: l.fdbRemotes ?? [],
      mtuWarning: l.vxlan ? (mtuProblem(l.name, l.vxlan, l.mtu, f) ?? null) : null,
    }));

export const ensureVxlan: PlannedTaskModule<'ensure_vxlan', typeof schema> = {
  kind: 'planned',
  type: 'ensure_vxlan',
  schema,
  defaultName: (args) => `ensure_vxlan ${String(args.name)}${args.vni !== undefined ? ` (vni ${shown(args.vni)})` : ''}`,
  argProblems: vxlanProblems,
  plan: planVxlan,
  persistence: { files: vxlanFiles, drift: vxlanDrift },
  facts: [
    // The VXLANs' settings, from the core link section (free: always read).
    { id: 'vxlan-details', parse: (sections, facts) => applyVxlanDetails(linkDetails(sections), facts) },
    {
      id: 'vxlan-fdb',
      // The flooding entries of each VXLAN (names from `ip -o link`, which cannot hold a space or a colon).
      shell: `for n in $(ip -o link show type vxlan 2>/dev/null | sed -n 's/^[0-9]*: \\([^:@]*\\).*/\\1/p'); do echo "@@kvmnet:fdb:$n@@"; bridge -j fdb show dev "$n" 2>/dev/null; done\n`,
      parse: applyFdbRemotes,
    },
  ],
  factsView: {
    json: (f) => ({ vxlans: vxlansOf(f) }),
    sections: (f) => [
      {
        title: 'vxlans',
        columns: ['name', 'vni', 'local', 'dev', 'port', 'mtu', 'master', 'remotes'],
        rows: vxlansOf(f).map((v) => [
          v.name + (v.mtuWarning ? ' (!mtu)' : ''),
          String(v.vni ?? '?'),
          v.local ?? v.group ?? '-',
          v.dev ?? '-',
          String(v.dstport ?? '?'),
          String(v.mtu),
          v.master ?? '-',
          v.remotes.join(' ') || '-',
        ]),
      },
    ],
  },
};
