// The files a task wants on disk, from its module's persistence and the format it asks for. Pure.
import { RefusedError } from '../errors.js';
import type { Facts } from '../model/facts.js';
import { PERSIST_DIRS, type PersistKind } from '../model/persist-kinds.js';
import type { FileWant, Persistence } from './persistence.js';
import { hostManager } from './managers.js';

/** The arguments every persisting task has. */
export interface PersistingArgs {
  persist?: PersistKind;
  state?: string;
}

/**
 * `persist: auto` → the format of the manager the host boots with; other kinds as they are.
 * Throws RefusedError when the host's manager cannot be told.
 */
export function resolvePersist(kind: PersistKind | undefined, facts: Facts, host: string): Exclude<PersistKind, 'auto'> | undefined {
  if (kind !== 'auto') return kind;
  const found = hostManager(facts.managers);
  if ('reason' in found)
    throw new RefusedError(
      `persist: auto on ${host}: ${found.reason}; name the format (persist: networkd | ifupdown | ifupdown2 | networkmanager | netplan) or use persist: none`,
    );
  return found.manager;
}

/** The files the task wants (none for `persist: none`). Throws RefusedError. */
export function persistedFiles<A extends PersistingArgs>(persistence: Persistence<A>, args: A, facts: Facts, host: string): FileWant[] {
  const kind = resolvePersist(args.persist, facts, host);
  if (kind === undefined || kind === 'none') return [];
  if (kind === 'networkmanager' || kind === 'netplan' || kind === 'ifupdown2')
    throw new RefusedError(
      `persist: ${kind} files come from the running state (nm-profiles.ts, netplan-files.ts, ifupdown2-files.ts), not from the task module`,
    );
  const dirs = facts.persistDirs;
  // Only refuse when the facts say so: facts without the section (older fixtures) know nothing.
  if (args.state !== 'absent' && dirs && !dirs.includes(PERSIST_DIRS[kind])) {
    const what = kind === 'networkd' ? 'is systemd-networkd installed?' : 'is ifupdown installed?';
    throw new RefusedError(`persist: ${kind}: ${PERSIST_DIRS[kind]} does not exist on ${host} (${what}); use the format the host boots with, or persist: none`);
  }
  return persistence.files(kind, args, facts, host);
}
