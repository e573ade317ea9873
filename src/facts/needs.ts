// Facts on demand: which fragments of the facts exec a run reads. Each task module declares the
// fragments its planner reads (contract.ts `facts`); persistence, the rollback of command tasks and
// the persistence drift declare theirs here. A run's first exec reads the union for the tasks that
// always run; a task that runs later and needs more (a `when`, a handler, a later play) gets one
// more exec with only what is missing. Planning on facts that lack a declared fragment is a bug in
// kvmnet, and fails loudly instead of planning on "no such state".
import type { TaskSpec } from '../config/playbook.js';
import type { Facts } from '../model/facts.js';
import type { FactsFragment } from './fragment.js';
import type { TaskModule } from '../tasks/contract.js';
import { taskModule, taskModules } from '../tasks/registry.js';
import { persistedFacts } from './persisted-files.js';

/** A module's declared fragments as a list. */
export function moduleFragments(m: Pick<TaskModule, 'facts'>): readonly FactsFragment[] {
  if (!m.facts) return [];
  return Array.isArray(m.facts) ? (m.facts as readonly FactsFragment[]) : [m.facts as FactsFragment];
}

/** Every fragment, in a fixed order (the script is the same whatever order tasks come in). */
export const ALL_FRAGMENTS: readonly FactsFragment[] = uniqueById([
  persistedFacts,
  ...taskModules.flatMap((m) => moduleFragments(m).flatMap((f) => [...(f.with ?? []), f])),
]);

const ORDER = new Map(ALL_FRAGMENTS.map((f, i) => [f.id, i]));

/** Fragments that cost the host nothing (they only read core sections): always read. */
const FREE = ALL_FRAGMENTS.filter((f) => !f.shell && !f.virsh);

/** A command task's rollback restores kvmnet's files as they were before it. */
export const COMMAND_GUARD_FRAGMENTS: readonly FactsFragment[] = [persistedFacts];
// The SSH-path guard and the link rollback read links, addresses, routes and the session (core)
// and the bond, VLAN and bridge settings of the link section (free fragments, always read). The
// run lock is its own preamble of the first exec: it needs no fragment.

/** `list` plus what its fragments are read with, plus the free ones, deduplicated, in ALL_FRAGMENTS order. */
export function selectFragments(list: readonly FactsFragment[]): FactsFragment[] {
  const out = new Map<string, FactsFragment>();
  const add = (f: FactsFragment) => {
    if (out.has(f.id)) return;
    out.set(f.id, f);
    for (const w of f.with ?? []) add(w);
  };
  for (const f of [...FREE, ...list]) add(f);
  return [...out.values()].sort((a, b) => (ORDER.get(a.id) ?? Infinity) - (ORDER.get(b.id) ?? Infinity));
}

/** What planning a task of this module needs: its declared fragments, and kvmnet's files when it may persist. */
export function plannedNeeds(m: TaskModule, persists: boolean): FactsFragment[] {
  const own = [...moduleFragments(m)];
  if (m.kind === 'planned' && m.persistence && persists) own.push(persistedFacts);
  return own;
}

/** A task may persist unless neither it nor its play says `persist` (or says `none`, literally). */
const mayPersist = (t: TaskSpec): boolean => {
  const p = t.args.persist ?? t.persistDefault;
  return p !== undefined && p !== 'none';
};

/** What a task as written needs, before it is rendered. */
export function taskNeeds(t: TaskSpec): FactsFragment[] {
  const m = taskModule(t.type) as TaskModule;
  return m.kind === 'command' ? [...moduleFragments(m), ...COMMAND_GUARD_FRAGMENTS] : plannedNeeds(m, mayPersist(t));
}

/** The first exec of a play: what its tasks without `when` need (the others ask when they run). */
export function playNeeds(tasks: readonly TaskSpec[]): FactsFragment[] {
  return selectFragments(tasks.filter((t) => t.when === undefined).flatMap(taskNeeds));
}

/** The fragments of `need` these facts were not read with (facts built without a record: none). */
export function missingFragments(facts: Facts, need: readonly FactsFragment[]): FactsFragment[] {
  if (!facts.gathered) return [];
  const have = new Set(facts.gathered);
  return selectFragments(need).filter((f) => !have.has(f.id));
}

/** A bug in kvmnet: a planner was about to plan on facts that were never read. */
export class FactsNotGatheredError extends Error {
  override readonly name = 'FactsNotGatheredError';
}

/** Throws FactsNotGatheredError when the facts lack a fragment that `who` declared. */
export function assertGathered(facts: Facts, need: readonly FactsFragment[], who: string): void {
  const missing = missingFragments(facts, need);
  if (missing.length === 0) return;
  throw new FactsNotGatheredError(
    `internal error: ${who} needs the facts fragment(s) ${missing.map((f) => f.id).join(', ')}, but the facts were read with ${facts.gathered!.join(', ') || 'the core only'} (a bug in kvmnet: please report it)`,
  );
}

/** `kvmnet facts --only a,b`: the named fragments (UsageError-worthy names are the caller's to report). */
export function fragmentsByIds(ids: readonly string[]): { found: FactsFragment[]; unknown: string[] } {
  const byId = new Map(ALL_FRAGMENTS.map((f) => [f.id, f]));
  return { found: ids.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : [])), unknown: ids.filter((id) => !byId.has(id)) };
}

function uniqueById(list: readonly FactsFragment[]): FactsFragment[] {
  const seen = new Map<string, FactsFragment>();
  for (const f of list) {
    const other = seen.get(f.id);
    if (other && other !== f) throw new Error(`two facts fragments are named ${f.id}`);
    seen.set(f.id, f);
  }
  return [...seen.values()];
}
