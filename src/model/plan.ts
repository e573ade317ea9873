// What a planner returns. Planning is pure: (args, facts) → Plan. Only src/run applies plans.
import type { Op } from '../ops/types.js';
import { applyOps, opsLines, opsTouches } from '../ops/index.js';
import { rawFacts, type Facts } from './facts.js';

/**
 * What a change may touch on the host. The executor decides from these and the facts alone
 * whether a change is on the SSH path (guarded or refused) and what a rollback must restore,
 * whatever the task type: a new task type only has to say what its changes touch.
 */
export type Touch =
  | { kind: 'link'; name: string; op: 'create' | 'delete' | 'up' | 'down' | 'master' | 'nomaster' | 'settings' | 'mtu' | 'mac' }
  | { kind: 'addr'; dev: string; address: string; op: 'add' | 'del' }
  | { kind: 'route'; dev: string; dst: string; op: 'add' | 'del' }
  | { kind: 'network'; name: string }
  | { kind: 'file'; path: string };

/**
 * One step of a plan, as the report shows it: a summary and the operations that make it (plain
 * data from the vocabulary in src/ops/, which defines their shell, touches, effect, inverse and
 * read-back once). A plan can therefore be saved, reviewed and applied exactly as shown.
 */
export interface Change {
  /** One line for the report: `create bridge br0 (stp on, forward delay 15 s)`. */
  summary: string;
  ops: Op[];
  /**
   * Seconds before the change's effect on the path shows (a switch drops an LACP partner only
   * after 3 missed LACPDUs): a guarded change is confirmed no earlier, or a connection that
   * works for those seconds would confirm a change that then cuts the host off.
   */
  settleS?: number;
}

export interface TaskDiff {
  before: string;
  after: string;
  /** Extra lines of warning shown with the diff (e.g. guests losing connectivity). */
  notes?: string[];
}

export interface Plan {
  changes: Change[];
  /** Why nothing needs to change (set when changes is empty). */
  noop?: string;
  /** An explicit before/after (libvirt XML); otherwise the runner describes `devices` before and after. */
  diff?: TaskDiff;
  /** Links whose state this task is about, for the link/address diff. */
  devices?: string[];
  /**
   * The task's own consent to touch the SSH path (`migrate: true`, `force: true`): such changes
   * are applied under commit-confirmed rollback instead of being refused.
   */
  consent?: string;
  /** The task's own data for `register` (rendered XML, ports, …). */
  data?: Record<string, unknown>;
}

export const noop = (reason: string, data?: Record<string, unknown>): Plan => ({ changes: [], noop: reason, data });

/** The operations of these changes, in order. */
export const changeOps = (changes: readonly Change[]): Op[] => changes.flatMap((c) => c.ops);

/** The shell lines of these changes. */
export const changeLines = (changes: readonly Change[]): string[] => opsLines(changeOps(changes));

/** What these changes touch, judged on the facts before them. */
export const changeTouches = (changes: readonly Change[], facts: Facts): Touch[] => opsTouches(changeOps(changes), facts);

/** The facts after these changes. */
export function applyChanges(changes: readonly Change[], facts: Facts): void {
  applyOps(changeOps(changes), facts);
}

/** The facts as these changes leave them, for a diff (the facts themselves stay as they are). */
export function factsAfter(changes: readonly Change[], facts: Facts): Facts {
  const after = structuredClone(rawFacts(facts));
  applyChanges(changes, after);
  return after;
}

/** Links a change touches (by name), whatever the aspect. */
export function touchedLinks(changes: readonly Change[], facts: Facts): string[] {
  const names = new Set<string>();
  for (const t of changeTouches(changes, facts))
    if (t.kind === 'link') names.add(t.name);
    else if (t.kind === 'addr' || t.kind === 'route') names.add(t.dev);
  return [...names];
}

export function touchedNetworks(changes: readonly Change[], facts: Facts): string[] {
  return [...new Set(changeTouches(changes, facts).flatMap((t) => (t.kind === 'network' ? [t.name] : [])))];
}
