// The operation vocabulary, assembled: what a list of operations runs, touches, does to the facts,
// how it is undone and how to tell that it took. Everything that applies, guards, rolls back,
// verifies, saves or shows a change goes through here.
import type { Facts } from '../model/facts.js';
import type { Touch } from '../model/plan.js';
import { addrRouteOps } from './addr-route.js';
import { bridgeVlanOps } from './bridge-vlan.js';
import { fileOps, firewallOps, guestOps } from './file-firewall-guest.js';
import { guestNicOps } from './guest-nic.js';
import { linkOps } from './link.js';
import { managerOps } from './managers.js';
import { networkOps } from './network.js';
import { ruleFdbOps } from './rule-fdb.js';
import { ovsOps } from './ovs.js';
import type { Op, OpKind, OpKinds, OpName } from './types.js';

export type { Op, OpName } from './types.js';

// A mapped type: an operation kind without a definition does not compile.
const OP_KINDS: OpKinds = {
  ...managerOps,
  ...linkOps,
  ...addrRouteOps,
  ...bridgeVlanOps,
  ...networkOps,
  ...ruleFdbOps,
  ...ovsOps,
  ...fileOps,
  ...firewallOps,
  ...guestOps,
  ...guestNicOps,
};

export const OP_NAMES = Object.keys(OP_KINDS) as OpName[];

export function opKind<O extends Op>(op: O): OpKind<O> {
  const kind = (OP_KINDS as Record<string, OpKind<Op>>)[op.op];
  if (!kind) throw new Error(`unknown operation '${String(op.op)}'`);
  return kind;
}

/** The shell lines of the operations, in order. */
export const opsLines = (ops: readonly Op[]): string[] => ops.flatMap((op) => opKind(op).lines(op));

/** What the operations touch, each judged on the facts as the operations before it leave them. */
export function opsTouches(ops: readonly Op[], facts: Facts): Touch[] {
  // Only a deletion reads the facts (what the kernel deletes or releases with it).
  let f = facts;
  const touches: Touch[] = [];
  ops.forEach((op, i) => {
    if (i > 0 && op.op === 'link.del' && f === facts) {
      f = structuredClone(facts);
      applyOps(ops.slice(0, i), f);
    }
    touches.push(...opKind(op).touches(op, f));
    if (f !== facts) opKind(op).effect(op, f);
  });
  return touches;
}

export function applyOps(ops: readonly Op[], facts: Facts): void {
  for (const op of ops) opKind(op).effect(op, facts);
}

/**
 * The operations that undo `ops` run on a host in the state `before`: each one's inverse, last
 * first, then those that re-derive state from what was restored (the port-forward rules from
 * their files, guests' taps into a restarted bridge).
 */
export function inverseOps(ops: readonly Op[], before: Facts): { undo: Op[]; again: Op[] } {
  const f = structuredClone(before);
  const undo: Op[] = [];
  const again: Op[] = [];
  for (const op of ops) {
    const kind = opKind(op);
    undo.unshift(...kind.inverse(op, f));
    if (kind.reapplyAfterRollback && !again.some((o) => JSON.stringify(o) === JSON.stringify(op))) again.push(op);
    kind.effect(op, f);
  }
  return { undo, again };
}

/** What did not take: for each operation whose aspect differs between the expected facts and those read back. */
export function verifyOps(ops: readonly Op[], expected: Facts, actual: Facts): string[] {
  const problems = new Set<string>();
  for (const op of ops) {
    const problem = opKind(op).check(op, expected, actual);
    if (problem) problems.add(problem);
  }
  return [...problems];
}
