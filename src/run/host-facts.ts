// A host's facts as the registered task types need them: the core facts plus every module's
// fragment, still ONE exec and ONE virsh invocation.
import type { Connection } from '../connection/types.js';
import { gatherFacts } from '../facts/gather.js';
import type { LockRequest } from '../facts/lock-script.js';
import { parseFacts } from '../facts/parse.js';
import { factsScript } from '../facts/script.js';
import type { Facts } from '../model/facts.js';
import type { FactsFragment } from '../tasks/contract.js';
import { taskModules } from '../tasks/registry.js';

const fragments: readonly FactsFragment[] = taskModules.flatMap((m) => (m.facts ? [m.facts] : []));

/** The facts command as it is sent (without the lock preamble): what the bench simulator replays. */
export const HOST_FACTS_SCRIPT = factsScript(fragments);

/** The facts read again at the end of an exec that changed the host: what verifies the changes took. */
export const hostReadBack = {
  script: HOST_FACTS_SCRIPT,
  parse: (stdout: string, stderr: string): Facts => parseFacts(stdout, stderr, fragments).facts,
};

export function gatherHostFacts(conn: Connection, host: string, lock?: LockRequest): Promise<Facts> {
  return gatherFacts(conn, host, { fragments, lock });
}
