// The host's rollback log as `kvmnet facts` shows it: the rollbacks its timers ran since boot
// (/run is a tmpfs), reported to a run or not yet. Read only: unlike the run lock's preamble
// (lock-take.sh), which moves the records it reports to ROLLBACK_LOG.reported, this fragment
// acks nothing, so the next run still reports a rollback that nobody has seen yet.
import type { Facts, RollbackLogEntry } from '../model/facts.js';
import type { FactsFragment } from './fragment.js';
import { ROLLBACK_LOG } from './lock-script.js';

/** At most this many of the reported records (the newest); the unreported ones are all shown. */
export const ROLLBACK_LOG_SHOWN = 20;

// Each record line gets a leading '|' so an empty log and a log of one empty line differ, and a
// marker-like text in a record (a task's name) stays inside its section's body.
const ROLLBACK_LOG_SHELL = `echo '@@kvmnet:rollback-log@@'
if [ -r ${ROLLBACK_LOG}.reported ]; then tail -n ${ROLLBACK_LOG_SHOWN} ${ROLLBACK_LOG}.reported | sed 's/^/|/'; fi
echo '@@kvmnet:rollback-log-unreported@@'
if [ -r ${ROLLBACK_LOG} ]; then sed 's/^/|/' ${ROLLBACK_LOG}; fi
`;

/** A record line `DATE\tID\tWHAT` of the host's log (rollback-timer.sh writes them). */
function parseRecord(line: string, reported: boolean): RollbackLogEntry | undefined {
  const [at = '', id = '', ...what] = line.slice(1).split('\t');
  if (!line.startsWith('|') || !at) return undefined;
  return { at, id, what: what.join('\t'), reported };
}

function records(body: string | undefined, reported: boolean): RollbackLogEntry[] {
  return (body ?? '').split('\n').flatMap((l) => parseRecord(l, reported) ?? []);
}

export const rollbackLogFacts: FactsFragment = {
  id: 'rollback-log',
  shell: ROLLBACK_LOG_SHELL,
  parse(sections, facts: Facts) {
    const reported = sections.find((s) => s.key === 'rollback-log');
    if (!reported) return;
    const pending = sections.find((s) => s.key === 'rollback-log-unreported');
    // Oldest first: the reported ones were appended before any still unreported.
    facts.rollbackLog = [...records(reported.body, true), ...records(pending?.body, false)];
  },
};
