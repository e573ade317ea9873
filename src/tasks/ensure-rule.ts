// ensure_rule: a policy-routing rule (`ip rule`): a selector (from, to, iif, oif, fwmark) at a
// priority, looking up a table. Compared as `ip -j rule` lists rules (this module's facts
// fragment); a rule at the same priority and selector with another table is replaced.
import { z } from 'zod';
import { kernelRule, ruleDevice } from '../persist/routing-devices.js';
import type { Facts, RuleFact } from '../model/facts.js';
import { noop, type Change, type Plan } from '../model/plan.js';
import { ruleText, sameRule } from '../ops/rule-fdb.js';
import type { RuleSpec } from '../ops/types.js';
import { interfaceName, persist, presence } from './common-args.js';
import type { ArgProblem, PlannedTaskModule } from './contract.js';
import { familyOf, kernelPrefix, prefixProblem, tableArg, tableText } from './routing-args.js';
import { ruleDrift, ruleFiles } from './routing-persist.js';
import { shown } from '../text/shown.js';

const schema = z.strictObject({
  priority: z
    .number()
    .int()
    .min(1)
    .max(32765)
    .meta({ description: "the rule's priority (lower is looked at first; 0, 32766 and 32767 are the kernel's own rules)" }),
  from: z.string().optional().meta({ description: 'source prefix or address the rule matches (default all)' }),
  to: z.string().optional().meta({ description: 'destination prefix or address the rule matches (default all)' }),
  iif: interfaceName.optional().meta({ description: 'incoming interface (lo: traffic the host itself sends)' }),
  oif: interfaceName.optional().meta({ description: 'outgoing interface (sockets bound to a device)' }),
  fwmark: z
    .union([z.number().int().min(0).max(4294967295), z.string().regex(/^(0x[0-9a-fA-F]+|\d+)(\/(0x[0-9a-fA-F]+|\d+))?$/, 'a mark like 16, 0x10 or 0x10/0xff')])
    .optional()
    .meta({ description: 'firewall mark (and /mask) the rule matches' }),
  table: tableArg.meta({ description: 'the table the rule looks up (a number or a name from /etc/iproute2/rt_tables); required with state: present' }),
  family: z
    .union([z.literal(4), z.literal(6)])
    .optional()
    .meta({ description: 'IPv4 or IPv6 rule when neither from nor to tells (default 4)' }),
  state: presence,
  persist,
});

export type EnsureRuleArgs = z.output<typeof schema>;
const isText = (v: unknown): v is string => typeof v === 'string' && !v.includes('{{');

function ruleProblems(args: Record<string, unknown>): ArgProblem[] {
  const problems: ArgProblem[] = [];
  for (const field of ['from', 'to'] as const) {
    if (!isText(args[field])) continue;
    const p = prefixProblem(args[field], false);
    if (p) problems.push({ field, message: p });
  }
  const f1 = isText(args.from) ? familyOf(args.from) : undefined;
  const f2 = isText(args.to) ? familyOf(args.to) : undefined;
  if (f1 && f2 && f1 !== f2) problems.push({ field: 'to', message: `from is IPv${f1}, to is IPv${f2}` });
  if (typeof args.family === 'number' && (f1 ?? f2) && args.family !== (f1 ?? f2))
    problems.push({ field: 'family', message: `family ${args.family} does not match from/to (IPv${f1 ?? f2})` });
  if ((args.state ?? 'present') === 'present' && args.table === undefined)
    problems.push({ field: 'table', message: 'ensure_rule needs the table to look up with state: present' });
  return problems;
}

/** A mark as the kernel lists it: hex, the mask left out when it is all ones. */
export function kernelMark(mark: string | number | undefined): string | undefined {
  if (mark === undefined) return undefined;
  const [m, mask] = String(mark).split('/');
  const hex = (v: string) => `0x${Number(v).toString(16)}`;
  return mask === undefined || Number(mask) === 0xffffffff ? hex(m!) : `${hex(m!)}/${hex(mask)}`;
}

export function wantedRule(args: EnsureRuleArgs): RuleSpec {
  const family = familyOf(args.from) ?? familyOf(args.to) ?? args.family ?? 4;
  const rule: RuleSpec = { family, priority: args.priority, table: tableText(args.table) ?? '' };
  if (args.from) rule.from = kernelPrefix(args.from);
  if (args.to) rule.to = kernelPrefix(args.to);
  if (args.iif) rule.iif = args.iif;
  if (args.oif) rule.oif = args.oif;
  const mark = kernelMark(args.fwmark);
  if (mark) rule.fwmark = mark;
  return rule;
}

interface IpRule {
  priority: number;
  src?: string;
  srclen?: number;
  dst?: string;
  dstlen?: number;
  iif?: string;
  oif?: string;
  fwmark?: string;
  fwmask?: string;
  table?: string;
  action?: string;
}

/** `ip -j rule show` (one family). Pure. */
export function parseRules(json: string, family: 4 | 6): RuleFact[] {
  const text = json.trim();
  if (!text) return [];
  const list = JSON.parse(text) as IpRule[];
  if (!Array.isArray(list)) throw new Error("'ip -j rule show' did not print a JSON list");
  return list.map((r) => {
    const rule: RuleFact = { family, priority: r.priority };
    if (r.src && r.src !== 'all') rule.from = r.srclen !== undefined ? `${r.src}/${r.srclen}` : r.src;
    if (r.dst && r.dst !== 'all') rule.to = r.dstlen !== undefined ? `${r.dst}/${r.dstlen}` : r.dst;
    if (r.iif) rule.iif = r.iif;
    if (r.oif) rule.oif = r.oif;
    if (r.fwmark) rule.fwmark = r.fwmask ? `${r.fwmark}/${r.fwmask}` : r.fwmark;
    if (r.table !== undefined) rule.table = String(r.table);
    else rule.action = r.action ?? 'unknown';
    return rule;
  });
}

const sameSelector = (a: RuleSpec | RuleFact, b: RuleSpec | RuleFact) =>
  a.family === b.family &&
  a.priority === b.priority &&
  (a.from ?? '') === (b.from ?? '') &&
  (a.to ?? '') === (b.to ?? '') &&
  (a.iif ?? '') === (b.iif ?? '') &&
  (a.oif ?? '') === (b.oif ?? '') &&
  (a.fwmark ?? '') === (b.fwmark ?? '');

function planRule(args: EnsureRuleArgs, facts: Facts): Plan {
  const want = wantedRule(args);
  const rules = facts.rules ?? [];
  const matching = rules.filter((r) => sameSelector(r, want));
  if (args.state === 'absent') {
    const gone = matching.filter((r) => args.table === undefined || r.table === want.table);
    if (gone.length === 0) return noop(`no ${ruleText(want).replace(/ lookup .*$/, '')}${args.table !== undefined ? ` lookup ${want.table}` : ''}`);
    return { changes: gone.map((r) => ({ summary: `delete ${ruleText(r)}`, ops: [{ op: 'rule.del', rule: r as RuleSpec }] })) };
  }
  if (matching.some((r) => sameRule(r, want))) return noop(`${ruleText(want)} is there`);
  const changes: Change[] = matching.map((r) => ({
    summary: `delete ${ruleText(r)} (another table)`,
    ops: [{ op: 'rule.del' as const, rule: r as RuleSpec }],
  }));
  changes.push({ summary: `add ${ruleText(want)}`, ops: [{ op: 'rule.add', rule: want }] });
  return { changes };
}

export const ensureRule: PlannedTaskModule<'ensure_rule', typeof schema> = {
  kind: 'planned',
  type: 'ensure_rule',
  schema,
  defaultName: (args) =>
    `ensure_rule ${String(args.priority)}${args.from !== undefined ? ` from ${shown(args.from)}` : ''}${args.to !== undefined ? ` to ${shown(args.to)}` : ''}${args.table !== undefined ? ` lookup ${shown(args.table)}` : ''}`,
  argProblems: ruleProblems,
  plan: (args, facts) => planRule(args, facts),
  persistence: {
    files: (format, args, facts, host) => ruleFiles(format, wantedRule(args), ruleDevice(wantedRule(args), facts), args.state, facts, host),
    drift: ruleDrift,
  },
  facts: {
    id: 'rules',
    shell: `echo '@@kvmnet:rules@@'; ip -j rule show 2>/dev/null\necho '@@kvmnet:rules6@@'; ip -j -6 rule show 2>/dev/null\n`,
    parse(sections, facts) {
      const body = (key: string) => sections.find((s) => s.key === key)?.body;
      const v4 = body('rules');
      if (v4 === undefined) return;
      facts.rules = [...parseRules(v4, 4), ...parseRules(body('rules6') ?? '', 6)];
    },
  },
  factsView: {
    json: (f) => ({ rules: (f.rules ?? []).filter(notDefault) }),
    sections: (f) => [
      {
        title: 'policy rules',
        columns: ['priority', 'rule'],
        rows: (f.rules ?? []).filter(notDefault).map((r) => [String(r.priority), ruleText(r).replace(/^rule \d+: /, '')]),
        empty: "(only the kernel's own)",
      },
    ],
  },
};

const notDefault = (r: RuleFact) => !kernelRule(r);
