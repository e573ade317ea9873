// What a task type declares to persist its state: the persistence layer's own types, which task
// modules implement (src/tasks/contract.ts has a type's `persistence`).
import type { Facts } from '../model/facts.js';
import type { PersistFormat } from '../model/persist-kinds.js';

/** A file a task wants on the host: `content: null` means it must not exist. */
export interface FileWant {
  path: string;
  content: string | null;
}

export interface Persistence<A> {
  /** The files the task wants in `format` (throws RefusedError when it cannot persist). */
  files(format: PersistFormat, args: A, facts: Facts, host: string): FileWant[];
  /** Where kvmnet's files of this type and the running state disagree (what a reboot would change). */
  drift?(facts: Facts, files: Record<string, string>): string[];
}
