// A host's facts as a run needs them: the core facts plus the fragments its tasks declared
// (src/facts/needs.ts), still ONE exec and ONE virsh invocation. Without a list: every fragment.
import type { Connection } from '../connection/types.js';
import { gatherFacts, topUpFacts } from '../facts/gather.js';
import type { LockRequest } from '../facts/lock-script.js';
import { ALL_FRAGMENTS, fragmentsByIds, missingFragments, selectFragments } from '../facts/needs.js';
import { parseFacts } from '../facts/parse.js';
import { factsScript } from '../facts/script.js';
import type { Facts } from '../model/facts.js';
import type { FactsFragment } from '../facts/fragment.js';

/** The facts command with every fragment a run may read (without the lock preamble): what the bench simulator replays; `kvmnet facts` adds the rollback log. */
export const HOST_FACTS_SCRIPT = factsScript(ALL_FRAGMENTS);

/**
 * The facts read again at the end of an exec that changed the host, with the fragments these facts
 * were read with: what verifies the changes took.
 */
export function readBackFor(facts: Facts): { script: string; parse(stdout: string, stderr: string): Facts } {
  const fragments = selectFragments(facts.gathered ? fragmentsByIds(facts.gathered).found : ALL_FRAGMENTS);
  return { script: factsScript(fragments), parse: (stdout, stderr) => parseFacts(stdout, stderr, fragments).facts };
}

export function gatherHostFacts(conn: Connection, host: string, lock?: LockRequest, need: readonly FactsFragment[] = ALL_FRAGMENTS): Promise<Facts> {
  return gatherFacts(conn, host, { fragments: selectFragments(need), lock });
}

/** Reads what `need` adds to these facts in one more exec; false when they had it all already. */
export async function topUpHostFacts(conn: Connection, host: string, facts: Facts, need: readonly FactsFragment[]): Promise<boolean> {
  const missing = missingFragments(facts, need);
  if (missing.length === 0) return false;
  // A fragment's parser reads the sections of those it is read `with` from the same output: they run again.
  const withThem = new Map(missing.flatMap((f) => [...(f.with ?? []), f]).map((f) => [f.id, f]));
  await topUpFacts(conn, host, facts, [...withThem.values()]);
  return true;
}
