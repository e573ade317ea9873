// The files a task wants on disk, from its module's persistence and the format it asks for. Pure.
import { RefusedError } from '../errors.js';
import type { Facts } from '../model/facts.js';
import { PERSIST_DIRS, type PersistKind } from '../model/persist-kinds.js';
import type { FileWant, Persistence } from '../tasks/contract.js';

/** The arguments every persisting task has. */
export interface PersistingArgs {
  persist?: PersistKind;
  state?: string;
}

/** The files the task wants (none for `persist: none`). Throws RefusedError. */
export function persistedFiles<A extends PersistingArgs>(persistence: Persistence<A>, args: A, facts: Facts, host: string): FileWant[] {
  const kind = args.persist;
  if (kind === undefined || kind === 'none') return [];
  const dirs = facts.persistDirs;
  // Only refuse when the facts say so: facts without the section (older fixtures) know nothing.
  if (args.state !== 'absent' && dirs && !dirs.includes(PERSIST_DIRS[kind])) {
    const what = kind === 'networkd' ? 'is systemd-networkd installed?' : 'is ifupdown installed?';
    throw new RefusedError(`persist: ${kind}: ${PERSIST_DIRS[kind]} does not exist on ${host} (${what}); use the format the host boots with, or persist: none`);
  }
  return persistence.files(kind, args, facts, host);
}
