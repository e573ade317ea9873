// What a planner returns. Planning is pure: (args, facts) → Plan. Only src/run applies plans.
import type { Facts } from './facts.js';

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

export interface Change {
  /** One line for the report: `create bridge br0 (stp on, forward delay 15 s)`. */
  summary: string;
  /** Shell command lines, every value already quoted. The task's changes run as ONE `set -e` part. */
  commands: string[];
  /** Text written to the commands' stdin (e.g. network XML for `virsh net-define /dev/stdin`). */
  stdin?: string;
  /** What the commands change on the host (for the SSH-path guard and the rollback snapshot). */
  touches: Touch[];
  /** Updates the in-memory facts the way the commands change the host (also in check mode). */
  effect: (facts: Facts) => void;
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

/** Links a change touches (by name), whatever the aspect. */
export function touchedLinks(changes: readonly Change[]): string[] {
  const names = new Set<string>();
  for (const c of changes) for (const t of c.touches) if (t.kind === 'link') names.add(t.name);
    else if (t.kind === 'addr' || t.kind === 'route') names.add(t.dev);
  return [...names];
}

export function touchedNetworks(changes: readonly Change[]): string[] {
  return [...new Set(changes.flatMap((c) => c.touches.flatMap((t) => (t.kind === 'network' ? [t.name] : []))))];
}
