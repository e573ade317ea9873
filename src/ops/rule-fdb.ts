// Policy-routing rules and a VXLAN's unicast flooding entries (all-zero MAC forwarding entries:
// broadcast, unknown unicast and multicast frames are sent to every listed remote).
import { shellJoin } from '../connection/quote.js';
import { prefixCovers } from '../model/cidr-match.js';
import type { Facts, RuleFact } from '../model/facts.js';
import type { Touch } from '../model/plan.js';
import type { FdbOp, OpKind, RuleOp, RuleSpec } from './types.js';

type Of<K extends RuleOp['op'] | FdbOp['op']> = Extract<RuleOp | FdbOp, { op: K }>;

export const ZERO_MAC = '00:00:00:00:00:00';

/** `ip rule add|del` arguments; the selector and the priority identify the rule on delete. */
export function ruleArgs(r: RuleSpec | RuleFact, verb: 'add' | 'del'): string[] {
  const argv = ['ip', ...(r.family === 6 ? ['-6'] : []), 'rule', verb];
  if (r.from) argv.push('from', r.from);
  if (r.to) argv.push('to', r.to);
  if (r.iif) argv.push('iif', r.iif);
  if (r.oif) argv.push('oif', r.oif);
  if (r.fwmark) argv.push('fwmark', r.fwmark);
  argv.push('priority', String(r.priority));
  if (r.table !== undefined) argv.push('table', r.table);
  return argv;
}

const selector = (r: RuleSpec | RuleFact) => [r.family, r.priority, r.from ?? 'all', r.to ?? 'all', r.iif ?? '', r.oif ?? '', r.fwmark ?? ''].join(' ');
/** The same rule as the kernel lists it: selector, priority and table. */
export const sameRule = (a: RuleSpec | RuleFact, b: RuleSpec | RuleFact): boolean =>
  selector(a) === selector(b) && a.table === b.table && !a.action === !b.action;
export const ruleText = (r: RuleSpec | RuleFact): string =>
  `rule ${r.priority}: ${r.family === 6 ? '-6 ' : ''}from ${r.from ?? 'all'}${r.to ? ` to ${r.to}` : ''}${r.iif ? ` iif ${r.iif}` : ''}${r.oif ? ` oif ${r.oif}` : ''}${r.fwmark ? ` fwmark ${r.fwmark}` : ''} lookup ${r.table ?? '?'}`;
const hasRule = (f: Facts, r: RuleSpec) => (f.rules ?? []).some((x) => sameRule(x, r));

/**
 * A rule can steer the session's replies (locally generated: iif lo, unmarked, from the session's
 * address to the client) when its selector matches them: it touches the device of the session.
 */
function ruleTouches(r: RuleSpec, f: Facts): Touch[] {
  const devs = [r.iif, r.oif].filter((d): d is string => d !== undefined && d !== 'lo');
  const s = f.session;
  if (
    s?.dev &&
    !r.fwmark &&
    (r.iif === undefined || r.iif === 'lo') &&
    (r.oif === undefined || r.oif === s.dev) &&
    (r.from === undefined || prefixCovers(r.from, s.serverAddress)) &&
    (r.to === undefined || prefixCovers(r.to, s.clientAddress))
  ) {
    devs.push(s.dev);
  }
  return [...new Set(devs)].map((dev) => ({ kind: 'route', dev, dst: ruleText(r), op: 'add' }));
}

function checkRule(r: RuleSpec, expected: Facts, actual: Facts): string | undefined {
  // Facts without rules (no ensure_rule fragment) say nothing.
  if (!expected.rules || !actual.rules) return undefined;
  const want = hasRule(expected, r);
  const got = hasRule(actual, r);
  return want === got ? undefined : `${ruleText(r)} is ${got ? 'present' : 'absent'}, expected ${want ? 'present' : 'absent'}`;
}

const remotesOf = (f: Facts, dev: string) => f.links[dev]?.fdbRemotes;

function checkFdb(op: FdbOp, expected: Facts, actual: Facts): string | undefined {
  const want = remotesOf(expected, op.dev);
  const got = remotesOf(actual, op.dev);
  if (!want || !got) return undefined;
  const w = want.includes(op.dst);
  const g = got.includes(op.dst);
  return w === g ? undefined : `${op.dev}: flooding entry to ${op.dst} is ${g ? 'present' : 'absent'}, expected ${w ? 'present' : 'absent'}`;
}

const fdbArgs = (verb: 'append' | 'del', op: FdbOp) => ['bridge', 'fdb', verb, ZERO_MAC, 'dev', op.dev, 'dst', op.dst];

export const ruleFdbOps: { [K in RuleOp['op'] | FdbOp['op']]: OpKind<Of<K>> } = {
  'rule.add': {
    lines: (op) => [shellJoin(ruleArgs(op.rule, 'add'))],
    touches: (op, f) => ruleTouches(op.rule, f),
    effect: (op, f) => {
      if (f.rules && !hasRule(f, op.rule)) f.rules = [...f.rules, { ...op.rule }].sort((a, b) => a.family - b.family || a.priority - b.priority);
    },
    inverse: (op, before) => (hasRule(before, op.rule) ? [] : [{ op: 'rule.del', rule: op.rule }]),
    check: (op, expected, actual) => checkRule(op.rule, expected, actual),
  },
  'rule.del': {
    lines: (op) => [shellJoin(ruleArgs(op.rule, 'del'))],
    touches: (op, f) => ruleTouches(op.rule, f),
    effect: (op, f) => {
      if (f.rules) f.rules = f.rules.filter((x) => !sameRule(x, op.rule));
    },
    inverse: (op, before) => (hasRule(before, op.rule) ? [{ op: 'rule.add', rule: op.rule }] : []),
    check: (op, expected, actual) => checkRule(op.rule, expected, actual),
  },
  'fdb.append': {
    lines: (op) => [shellJoin(fdbArgs('append', op))],
    touches: (op) => [{ kind: 'link', name: op.dev, op: 'settings' }],
    effect: (op, f) => {
      const l = f.links[op.dev];
      if (l && !(l.fdbRemotes ?? []).includes(op.dst)) l.fdbRemotes = [...(l.fdbRemotes ?? []), op.dst];
    },
    inverse: (op, before) => (before.links[op.dev] && !(remotesOf(before, op.dev) ?? []).includes(op.dst) ? [{ op: 'fdb.del', dev: op.dev, dst: op.dst }] : []),
    check: checkFdb,
  },
  'fdb.del': {
    lines: (op) => [shellJoin(fdbArgs('del', op))],
    touches: (op) => [{ kind: 'link', name: op.dev, op: 'settings' }],
    effect: (op, f) => {
      const l = f.links[op.dev];
      if (l?.fdbRemotes) l.fdbRemotes = l.fdbRemotes.filter((d) => d !== op.dst);
    },
    inverse: (op, before) => ((remotesOf(before, op.dev) ?? []).includes(op.dst) ? [{ op: 'fdb.append', dev: op.dev, dst: op.dst }] : []),
    check: checkFdb,
  },
};
