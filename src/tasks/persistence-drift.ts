// Where what kvmnet persisted and what runs disagree (what a reboot would change), from every
// task type that persists. Pure.
import type { Facts } from '../model/facts.js';
import { taskModules } from './registry.js';

/**
 * One line per disagreement, e.g. `br0: persisted (networkd) but not present at runtime` or
 * `eth1: port of br0 at runtime but not persisted`. Empty when facts carry no persisted files.
 */
export function persistenceDrift(facts: Facts): string[] {
  const files = facts.persisted;
  if (!files) return [];
  return taskModules.flatMap((m) => (m.kind === 'planned' && m.persistence?.drift ? m.persistence.drift(facts, files) : []));
}
