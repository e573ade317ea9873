// Saved plans: `kvmnet run --check --out plan.json` writes, per host, every task's decision and
// operations and the facts they were planned on; `kvmnet apply plan.json` applies exactly those
// operations (no re-planning) on hosts whose facts are still what the plan read, and refuses the
// others naming what changed. A digest over the whole file refuses a plan edited by hand.
import { canonicalJson, sha256 } from '../report/run-header.js';
import type { Facts } from '../model/facts.js';
import { changeOps, type Plan } from '../model/plan.js';
import { applyOps, verifyOps } from '../ops/index.js';
import { PRESENT, ReadTracker, readValue, type Read } from './read-tracker.js';

export const PLAN_FORMAT = 1;

/** One task (or loop item) of one host, in the order the run met it. */
export interface SavedTask {
  name: string;
  type: string;
  /** planned: its plan (changes or a no-op); skipped: `when` was false or it was skipped in check mode; failed: planning failed. */
  kind: 'planned' | 'skipped' | 'failed';
  plan?: Plan;
  message?: string;
}

export interface SavedHost {
  /** Every fact the host's planning read, with its value before the first task and after the last. */
  reads: Array<Read & { before: unknown; after: unknown }>;
  tasks: SavedTask[];
}

export interface SavedPlan {
  kvmnet_plan: number;
  kvmnet_version: string;
  created: string;
  playbook: { file: string; sha256: string };
  inventory: { sources: string[]; sha256: string };
  extra_vars_sha256: string;
  /** What selected the hosts and tasks when the plan was made (applied the same way). */
  selection: { hosts: string[]; tags: string[] | null; skip_tags: string[] | null };
  hosts: Record<string, SavedHost>;
  /** sha256 of the canonical JSON of everything above. */
  digest: string;
}

export function planDigest(plan: Omit<SavedPlan, 'digest'> | SavedPlan): string {
  const { digest: _digest, ...rest } = plan as SavedPlan;
  return sha256(canonicalJson(rest));
}

/** What one host's run records while it plans: the tasks' decisions and the facts they read. */
export class HostRecording {
  readonly tracker = new ReadTracker();
  readonly tasks: SavedTask[] = [];
  private original?: Facts;
  private latest?: Facts;

  /** The facts as gathered (the first play) or as the previous play left them. */
  begin(facts: Facts): void {
    this.original ??= structuredClone(facts);
    this.latest = facts;
  }

  /** The facts a planner should plan on: the host's, with every read recorded. */
  view(facts: Facts): Facts {
    return this.tracker.wrap(facts);
  }

  saved(): SavedHost {
    const reads = this.tracker.all().map((r) => ({ ...r, before: readValue(this.original, r), after: readValue(this.latest, r) }));
    return { reads, tasks: this.tasks };
  }
}

/** Replays one host's saved tasks in order. */
export class HostReplay {
  private next = 0;

  constructor(
    private readonly host: string,
    readonly saved: SavedHost,
  ) {}

  /** The saved decision for the task the run meets now (the same playbook gives the same order). */
  take(name: string): SavedTask {
    const t = this.saved.tasks[this.next++];
    if (!t || t.name !== name)
      throw new Error(`the saved plan of ${this.host} does not match the run at task '${name}' (saved: ${t ? `'${t.name}'` : 'nothing'})`);
    return t;
  }

  /**
   * Why the host no longer is as the plan read it, or undefined when every fact the plan depends
   * on is as it was: `br0 changed since the plan was made (bridge.stp true → false)`.
   */
  drift(facts: Facts): string | undefined {
    const changed = this.saved.reads.filter((r) => canonicalJson(readValue(facts, r) ?? null) !== canonicalJson(r.before ?? null));
    if (changed.length === 0) return undefined;
    // Applied already: every changed fact is as the plan leaves it, and its operations would change nothing.
    const ops = this.saved.tasks.flatMap((t) => changeOps(t.plan?.changes ?? []));
    const expected = structuredClone(facts);
    applyOps(ops, expected);
    const applied =
      changed.every((r) => canonicalJson(readValue(facts, r) ?? null) === canonicalJson(r.after ?? null)) && verifyOps(ops, expected, facts).length === 0;
    const what = changed.slice(0, 3).map((r) => describeRead(r, readValue(facts, r)));
    const more = changed.length > 3 ? ` and ${changed.length - 3} more` : '';
    return applied
      ? `the plan looks applied already: ${what.join('; ')}${more} are as the plan leaves them; re-plan`
      : `${what.join('; ')}${more} changed since the plan was made; re-plan`;
  }
}

const show = (v: unknown) =>
  v === undefined ? 'absent' : v === PRESENT ? 'present' : typeof v === 'string' ? v : typeof v === 'boolean' ? (v ? 'on' : 'off') : JSON.stringify(v);

/** `+br0 -vnet3` for a set of names. */
function setChange(before: unknown, now: unknown): string {
  const b = new Set(Array.isArray(before) ? (before as string[]) : []);
  const n = new Set(Array.isArray(now) ? (now as string[]) : []);
  return [...[...n].filter((x) => !b.has(x)).map((x) => `+${x}`), ...[...b].filter((x) => !n.has(x)).map((x) => `-${x}`)].join(' ');
}

/** `br0 (bridge.stp on → off)`, `network default (active on → off)`, `addresses`. */
function describeRead(r: Read & { before: unknown }, now: unknown): string {
  const [top, name, ...rest] = r.path;
  let subject = top ?? 'the facts';
  let field = [name, ...rest].filter(Boolean).join('.');
  if (top === 'links' && name) [subject, field] = [name, rest.join('.')];
  else if (top === 'libvirt' && name === 'networks' && rest[0]) [subject, field] = [`network ${rest[0]}`, rest.slice(1).join('.')];
  else if ((top === 'persisted' || top === 'dhcp') && name) [subject, field] = [`${top === 'dhcp' ? 'the guests of network' : 'file'} ${name}`, rest.join('.')];
  if (r.as === 'keys') return `${subject}${field ? ` ${field}` : ''} (${setChange(r.before, now)})`;
  if (top === 'addrs' || top === 'routes')
    return `${top === 'addrs' ? 'the addresses' : 'the routes'} (${Array.isArray(r.before) ? r.before.length : 0} → ${Array.isArray(now) ? now.length : 0})`;
  if (r.as === 'has') return `${[subject, field].filter(Boolean).join(' ')} (${r.before ? 'present' : 'absent'} → ${now ? 'present' : 'absent'})`;
  return `${subject} (${field ? `${field} ` : ''}${show(r.before)} → ${show(now)})`;
}
