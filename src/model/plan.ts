// What a planner returns. Planning is pure: (args, facts) → Plan. Only src/run applies plans.
import type { Facts } from './facts.js';

export interface Change {
  /** One line for the report: `create bridge br0 (stp on, forward delay 15 s)`. */
  summary: string;
  /** Shell command lines, every value already quoted. The task's changes run as ONE `set -e` exec. */
  commands: string[];
  /** Text written to the script's stdin (e.g. network XML for `virsh net-define /dev/stdin`). */
  stdin?: string;
  /** Updates the in-memory facts the way the commands change the host (also in check mode). */
  effect: (facts: Facts) => void;
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
   * Set when the changes touch the path this SSH session uses: they are applied detached,
   * under a rollback timer, and confirmed over a NEW connection (commit-confirmed).
   */
  managementPath?: string;
  /** The task's own data for `register` (rendered XML, ports, …). */
  data?: Record<string, unknown>;
}

export const noop = (reason: string, data?: Record<string, unknown>): Plan => ({ changes: [], noop: reason, data });
