// ensure_bond: a Linux bond (mode, members, MII monitoring, LACP rate, hash policy, primary,
// MTU, up state). Members are added and removed one at a time, new ones first, so the bond never
// goes down for a membership change; a mode change (the kernel allows it only on a downed bond
// without members) is a planned re-create in place: down, release, set, re-add, up. Facts come
// from `ip -j -d link` (already in the facts exec) and /proc/net/bonding/* (this module's section).
import { z } from 'zod';
import { RefusedError } from '../errors.js';
import { describeAddrs } from '../facts/describe.js';
import type { BondInfo, Facts, LinkFact } from '../model/facts.js';
import { factsAfter, noop, type Change, type Plan } from '../model/plan.js';
import { HASH_MODES, intoBond, PRIMARY_MODES } from '../ops/link.js';
import type { BondSettings, Op } from '../ops/types.js';
import { interfaceName, persist, presence } from './common-args.js';
import { linkUpChange } from './link-changes.js';
import type { ArgProblem, FactsSection, PlannedTaskModule } from './contract.js';
import { applyBondDetails, applyProcBonding, lacpPartner, linkDetails } from './link-details.js';
import { bondDrift, bondFiles } from './link-persist.js';
import { addrsFrom, addrsTo, movedText, routesTo } from './migrate.js';

export const BOND_MODES = ['802.3ad', 'active-backup', 'balance-xor', 'balance-alb', 'balance-tlb', 'broadcast', 'balance-rr'] as const;
export const XMIT_HASH_POLICIES = ['layer2', 'layer2+3', 'layer3+4', 'encap2+3', 'encap3+4', 'vlan+srcmac'] as const;
// Modes in which the kernel honours these settings (it accepts and ignores them elsewhere): defined with the link operations.
export { HASH_MODES, PRIMARY_MODES };

const schema = z.strictObject({
  name: interfaceName,
  state: presence,
  mode: z
    .enum(BOND_MODES)
    .optional()
    .meta({ description: 'bonding mode; required with state: present. Changing it re-creates the bond in place (down, members released and re-added)' }),
  members: z
    .array(interfaceName)
    .optional()
    .meta({ description: 'the member interfaces (the whole set: others are released); omitted: membership is left alone' }),
  miimon: z.number().int().min(0).max(60000).default(100).meta({ description: 'MII link monitoring interval in ms (0: no link monitoring, so no failover)' }),
  lacp_rate: z.enum(['slow', 'fast']).optional().meta({ description: '802.3ad only: LACPDU rate asked of the partner' }),
  xmit_hash_policy: z.enum(XMIT_HASH_POLICIES).optional().meta({ description: 'member selection for 802.3ad, balance-xor, balance-tlb, balance-alb' }),
  primary: interfaceName.optional().meta({ description: 'active-backup, balance-tlb, balance-alb: the member preferred as active' }),
  mtu: z.number().int().min(68).max(65535).optional(),
  up: z.boolean().default(true),
  migrate: z
    .boolean()
    .default(false)
    .meta({ description: 'a member that holds addresses (the SSH interface) hands them and its routes to the bond in the same step' }),
  persist,
});

export type EnsureBondArgs = z.output<typeof schema>;

const isText = (v: unknown): v is string => typeof v === 'string';
const templated = (v: unknown) => isText(v) && v.includes('{{');

function bondProblems(args: Record<string, unknown>): ArgProblem[] {
  const problems: ArgProblem[] = [];
  const mode = args.mode;
  const modeKnown = isText(mode) && !templated(mode);
  if ((args.state ?? 'present') === 'present' && mode === undefined)
    problems.push({ field: 'mode', message: `ensure_bond needs a mode with state: present (one of ${BOND_MODES.join(', ')})` });
  if (args.lacp_rate !== undefined && modeKnown && mode !== '802.3ad')
    problems.push({ field: 'lacp_rate', message: `lacp_rate only applies to mode 802.3ad (mode is ${mode})` });
  if (args.primary !== undefined && modeKnown && !PRIMARY_MODES.has(mode))
    problems.push({ field: 'primary', message: `primary only applies to modes ${[...PRIMARY_MODES].join(', ')} (mode is ${mode})` });
  if (args.xmit_hash_policy !== undefined && modeKnown && !HASH_MODES.has(mode))
    problems.push({ field: 'xmit_hash_policy', message: `xmit_hash_policy only applies to modes ${[...HASH_MODES].join(', ')} (mode is ${mode})` });
  if (Array.isArray(args.members)) {
    const names = args.members.filter((m) => isText(m) && !templated(m)) as string[];
    const dup = names.find((m, i) => names.indexOf(m) !== i);
    if (dup) problems.push({ field: 'members', message: `${dup} is listed twice` });
    if (isText(args.name) && names.includes(args.name)) problems.push({ field: 'members', message: `a bond cannot be a member of itself (${args.name})` });
    if (isText(args.primary) && !templated(args.primary) && names.length === args.members.length && !names.includes(args.primary)) {
      problems.push({ field: 'primary', message: `primary ${args.primary} is not one of the members (${names.join(', ')})` });
    }
  }
  return problems;
}

export const ensureBond: PlannedTaskModule<'ensure_bond', typeof schema> = {
  kind: 'planned',
  type: 'ensure_bond',
  schema,
  defaultName: (args) => `ensure_bond ${String(args.name)}${Array.isArray(args.members) ? ` (${args.members.map(String).join(', ')})` : ''}`,
  argProblems: bondProblems,
  plan: planBond,
  persistence: { files: (kind, args, facts) => bondFiles(kind, args, facts), drift: bondDrift },
  // Settings from the link section (no host cost, always read: the rollback re-creates bonds from
  // them), then /proc/net/bonding (prints nothing on a host without bonds).
  facts: [
    { id: 'bond-details', parse: (sections, facts) => applyBondDetails(linkDetails(sections), facts) },
    {
      id: 'proc-bonding',
      shell: `for f in /proc/net/bonding/*; do [ -f "$f" ] || continue; n=\${f##*/}; echo "@@kvmnet:bonding:$n@@"; cat "$f"; done\n`,
      parse(sections, facts) {
        for (const s of sections) if (s.key.startsWith('bonding:')) applyProcBonding(s.key.slice(8), s.body, facts);
      },
    },
  ],
  factsView: {
    json: (f) => ({ bonds: bondsOf(f) }),
    sections: (f): FactsSection[] => [
      {
        title: 'bonds',
        columns: ['name', 'state', 'mode', 'miimon', 'members', 'active', 'lacp partner'],
        rows: bondsOf(f).map((b) => [
          b.name,
          b.up ? 'up' : 'down',
          b.mode + (b.lacp_rate && b.mode === '802.3ad' ? ` (${b.lacp_rate})` : ''),
          String(b.miimon),
          b.members.map((m) => `${m.name}${m.mii === 'DOWN' ? '(down)' : ''}`).join(',') || '-',
          b.active_member ?? '-',
          b.partner ? `${b.partner} agg ${b.aggregator!.id} (${b.aggregator!.ports} ports)` : b.mode === '802.3ad' ? 'none' : '-',
        ]),
      },
    ],
  },
};

/** The bonds of a host, as `kvmnet facts` shows them. */
export function bondsOf(f: Facts) {
  return Object.values(f.links)
    .filter((l) => l.kind === 'bond')
    .map((b) => ({
      name: b.name,
      up: b.up,
      operstate: b.operstate,
      mode: b.bond?.mode ?? 'unknown',
      miimon: b.bond?.miimon ?? 0,
      lacp_rate: b.bond?.lacpRate ?? null,
      xmit_hash_policy: b.bond?.xmitHashPolicy ?? null,
      primary: b.bond?.primary ?? null,
      mtu: b.mtu,
      members: membersOf(f, b.name).map((m) => ({
        name: m,
        mii: f.links[m]!.bondMember?.mii ?? null,
        state: f.links[m]!.bondMember?.state ?? null,
        aggregator: f.links[m]!.bondMember?.aggregatorId ?? null,
        speed: f.links[m]!.bondMember?.speed ?? null,
      })),
      active_member: b.bond?.activeMember ?? null,
      aggregator: b.bond?.aggregator ?? null,
      partner: lacpPartner(b.bond) ?? null,
    }));
}

export const membersOf = (f: Facts, bond: string) =>
  Object.values(f.links)
    .filter((l) => l.master === bond)
    .map((l) => l.name)
    .sort();

/** One line per bond setting the task talks about: the before/after of the diff. */
function describeBond(f: Facts, name: string): string {
  const link = f.links[name];
  if (!link) return `${name}: absent`;
  const b = link.bond;
  const parts = [`${name}: bond`, `mode ${b?.mode ?? '?'}`, `miimon ${b?.miimon ?? '?'}`];
  if (b?.mode === '802.3ad' && b.lacpRate) parts.push(`lacp_rate ${b.lacpRate}`);
  if (b?.xmitHashPolicy && HASH_MODES.has(b.mode)) parts.push(`xmit_hash_policy ${b.xmitHashPolicy}`);
  if (b?.primary) parts.push(`primary ${b.primary}`);
  parts.push(`mtu ${link.mtu}`, link.up ? 'up' : 'down');
  if (link.master) parts.push(`master ${link.master}`);
  return [parts.join(' '), `${name} members: ${membersOf(f, name).join(' ') || 'none'}`, describeAddrs(f, name)].join('\n');
}

function refuseMember(args: EnsureBondArgs, member: string, facts: Facts, host: string): void {
  const link = facts.links[member];
  if (!link) {
    const candidates = Object.values(facts.links)
      .filter((l) => !l.kind && l.name !== 'lo')
      .map((l) => l.name);
    throw new RefusedError(`member ${member} of bond ${args.name} does not exist on ${host} (interfaces there: ${candidates.join(', ') || 'none'})`);
  }
  if (link.kind && link.kind !== 'veth' && link.kind !== 'dummy')
    throw new RefusedError(`${member} is a ${link.kind}; only network interfaces can be members of bond ${args.name}`);
  if (link.master && link.master !== args.name) {
    const m = facts.links[link.master];
    if (m?.kind === 'bridge') {
      throw new RefusedError(
        `${member} is a port of bridge ${link.master} on ${host}; a bond member cannot be a bridge port. Release it first (ensure_port ${member} → ${link.master} state: absent) and make ${args.name} the bridge's port instead`,
      );
    }
    throw new RefusedError(`${member} is already a member of ${m?.kind ?? 'device'} ${link.master} on ${host}; remove it there first`);
  }
  const holdsAddresses = facts.addrs.some((a) => a.dev === member && a.scope === 'global');
  if (facts.session?.dev === member && !args.migrate) {
    throw new RefusedError(
      `${member} carries this SSH session on ${host} (${facts.session.serverAddress}); making it a member of ${args.name} would cut the host off, because its address stays on ${member}. Set migrate: true to move its addresses and routes to ${args.name} in the same step`,
    );
  }
  if (holdsAddresses && !args.migrate) {
    throw new RefusedError(
      `${member} holds addresses on ${host} (${describeAddrs(facts, member)}); a bond member's addresses stop working. Set migrate: true to move them to ${args.name}, or remove them first`,
    );
  }
}

/** The change that makes `member` a member of `bond` (it must be down to be enslaved). */
function addMember(bond: string, member: string, facts: Facts, migrate: boolean, firstMember: boolean): Change {
  const link = facts.links[member]!;
  const addrs = facts.addrs.filter((a) => a.dev === member && a.scope === 'global');
  if (!(migrate && addrs.length)) return { summary: `add ${member} to ${bond}`, ops: intoBond(member, bond) };
  // Migration: the bond holds the addresses before the member goes down (downing it flushes its
  // routes), then the member is enslaved and the routes are put back on the bond. A first member
  // gives the bond its MAC by itself; otherwise the bond takes the member's, so that neighbours'
  // ARP entries for these addresses stay right.
  const routes = facts.routes.filter((r) => r.dev === member && r.protocol !== 'kernel');
  const ops: Op[] = [];
  if (!firstMember && link.mac) ops.push({ op: 'link.mac', name: bond, mac: link.mac });
  ops.push(...addrsTo(addrs, bond), ...intoBond(member, bond), { op: 'link.up', name: bond, up: true }, ...addrsFrom(addrs), ...routesTo(routes, bond));
  return { summary: `migrate ${member} into ${bond}: move ${movedText(addrs, routes)} to ${bond}, then add ${member} to ${bond}`, ops };
}

/**
 * Leaving 802.3ad (or re-negotiating it): the switch drops this bond as its LACP partner only
 * after 3 missed LACPDUs (the bond's own rate: 1 s fast, 30 s slow), so until then a path that
 * is about to break still works. Undefined when the bond has no LACP partner.
 */
export function lacpGoneAfterS(b: BondInfo): number | undefined {
  if (b.mode !== '802.3ad' || !lacpPartner(b)) return undefined;
  return (b.lacpRate === 'fast' ? 3 : 90) + 1;
}

function removeMember(bond: string, member: string): Change {
  return { summary: `release ${member} from ${bond}`, ops: [{ op: 'link.master', name: member, master: null }] };
}

function planBond(args: EnsureBondArgs, facts: Facts, host: string): Plan {
  const { name } = args;
  const link = facts.links[name];
  if (args.state === 'absent') return planAbsent(name, link, facts, host);
  if (!args.mode) throw new RefusedError(`ensure_bond ${name} needs a mode`);
  if (link && link.kind !== 'bond')
    throw new RefusedError(`${name} exists on ${host} but is ${link.kind ? `a ${link.kind}` : 'not a bond'}; refusing to replace it`);

  const current = link ? membersOf(facts, name) : [];
  const wanted = args.members ?? current;
  const toAdd = wanted.filter((m) => !current.includes(m));
  const toRemove = args.members ? current.filter((m) => !wanted.includes(m)) : [];
  for (const m of toAdd) refuseMember(args, m, facts, host);
  const migrating = toAdd.some((m) => facts.addrs.some((a) => a.dev === m && a.scope === 'global'));

  const changes: Change[] = [];
  let upNow = link?.up ?? false;
  const mode = args.mode;
  const lacpRate = mode === '802.3ad' ? args.lacp_rate : undefined;
  const xmit = HASH_MODES.has(mode) ? args.xmit_hash_policy : undefined;
  if (!link) {
    changes.push({
      summary: `create bond ${name} (mode ${mode}, miimon ${args.miimon}${lacpRate ? `, lacp_rate ${lacpRate}` : ''}${xmit ? `, xmit_hash_policy ${xmit}` : ''})`,
      ops: [{ op: 'link.add', name, kind: 'bond', bond: { mode, miimon: args.miimon, lacpRate, xmitHashPolicy: xmit } }],
    });
  } else {
    // What the bond will be after each change below: later comparisons read it.
    const b: BondInfo = { ...(link.bond ?? { mode: 'unknown', miimon: 0 }) };
    const modeChange = b.mode !== mode;
    const rateChange = lacpRate !== undefined && (b.lacpRate ?? 'slow') !== lacpRate;
    if (modeChange || rateChange) {
      // The kernel changes the mode only on a downed bond without members, and lacp_rate only
      // on a downed bond: a planned re-create in place. Upper devices (VLANs, the bridge the bond
      // is a port of) and their addresses stay; traffic stops until the members are back.
      const keep = current.filter((m) => !toRemove.includes(m));
      const release = modeChange ? current : [];
      const opts = { mode: modeChange ? mode : undefined, lacpRate: rateChange || (modeChange && lacpRate) ? lacpRate : undefined };
      const ops: Op[] = [{ op: 'link.up', name, up: false }];
      for (const m of release) ops.push({ op: 'link.master', name: m, master: null });
      ops.push({ op: 'link.bond', name, bond: opts });
      for (const m of release.filter((x) => keep.includes(x))) ops.push(...intoBond(m, name));
      if (args.up) ops.push({ op: 'link.up', name, up: true });
      const what = [modeChange && `mode ${b.mode} → ${mode}`, rateChange && `lacp_rate ${b.lacpRate ?? 'slow'} → ${lacpRate}`].filter(Boolean).join(', ');
      changes.push({
        settleS: lacpGoneAfterS(b),
        summary: modeChange
          ? `re-create bond ${name} in place (${what}): take ${name} down, release ${release.join(', ') || 'no members'}, set the mode, re-add ${release.filter((x) => keep.includes(x)).join(', ') || 'none'}, bring it up`
          : `set ${name} ${what} (the kernel allows it only on a downed bond: ${name} goes down and up)`,
        ops,
      });
      b.mode = mode;
      if (opts.lacpRate) b.lacpRate = opts.lacpRate;
      upNow = args.up;
      // Members the re-create released and did not re-add are gone already.
      if (modeChange) toRemove.length = 0;
    }
    const set: BondSettings = {};
    const what: string[] = [];
    if (b.miimon !== args.miimon) {
      set.miimon = args.miimon;
      what.push(`miimon ${b.miimon} → ${args.miimon}`);
    }
    if (xmit !== undefined && (b.xmitHashPolicy ?? 'layer2') !== xmit) {
      set.xmitHashPolicy = xmit;
      what.push(`xmit_hash_policy ${b.xmitHashPolicy ?? 'layer2'} → ${xmit}`);
    }
    if (what.length) changes.push({ summary: `set ${name} ${what.join(', ')}`, ops: [{ op: 'link.bond', name, bond: set }] });
  }
  // New members first, then the ones to release: the bond always keeps a member that works.
  let first = current.length === 0;
  for (const m of toAdd) {
    const c = addMember(name, m, facts, args.migrate, first);
    changes.push(c);
    if (c.ops.some((o) => o.op === 'link.up' && o.name === name && o.up)) upNow = true;
    first = false;
  }
  for (const m of toRemove) changes.push(removeMember(name, m));
  if (args.primary !== undefined && PRIMARY_MODES.has(mode) && link?.bond?.primary !== args.primary) {
    changes.push({ summary: `make ${args.primary} the primary member of ${name}`, ops: [{ op: 'link.bond', name, bond: { primary: args.primary } }] });
  }
  if (args.mtu !== undefined && args.mtu !== (link?.mtu ?? 1500)) {
    changes.push({ summary: `set ${name} mtu ${link?.mtu ?? 1500} → ${args.mtu} (and its members')`, ops: [{ op: 'link.mtu', name, mtu: args.mtu }] });
  }
  if (args.up !== upNow) changes.push(linkUpChange(name, args.up));
  const data = { name, mode, members: wanted };
  if (changes.length === 0) {
    const b = link!.bond!;
    const partner =
      mode === '802.3ad' ? (lacpPartner(b) ? `, LACP partner ${lacpPartner(b)}` : ', no LACP partner yet') : b.activeMember ? `, active ${b.activeMember}` : '';
    return noop(`bond ${name} exists as wanted (${mode}, members ${current.join(', ') || 'none'}${partner})`, data);
  }
  // The diff: the bond's own description before and after (mode, settings, members, addresses).
  const after = factsAfter(changes, facts);
  const notes = changes.some((c) => c.summary.startsWith('re-create'))
    ? [`${name} is re-created in place: it is down, without members, while its mode changes`]
    : undefined;
  return {
    changes,
    data,
    devices: [name, ...toAdd, ...toRemove],
    diff: { before: describeBond(facts, name), after: describeBond(after, name), notes },
    consent: migrating ? 'migrate: true' : undefined,
  };
}

function planAbsent(name: string, link: LinkFact | undefined, facts: Facts, host: string): Plan {
  if (!link) return noop(`bond ${name} does not exist`, { name, members: [] });
  if (link.kind !== 'bond') throw new RefusedError(`${name} on ${host} is ${link.kind ? `a ${link.kind}` : 'not a bond'}; ensure_bond will not delete it`);
  const members = membersOf(facts, name);
  const uppers = Object.values(facts.links)
    .filter((l) => l.lower === name)
    .map((l) => l.name);
  if (facts.session?.dev === name || uppers.includes(facts.session?.dev ?? '')) {
    throw new RefusedError(
      `bond ${name} carries this SSH session on ${host} (${facts.session!.serverAddress} on ${facts.session!.dev}); deleting it would cut the host off`,
    );
  }
  return {
    changes: [
      {
        summary: `delete bond ${name} (releases ${members.join(', ') || 'no members'}${uppers.length ? `; the kernel deletes ${uppers.join(', ')} on it too` : ''})`,
        ops: [{ op: 'link.del', name }],
      },
    ],
    data: { name, members: [] },
    devices: [name, ...members],
  };
}
