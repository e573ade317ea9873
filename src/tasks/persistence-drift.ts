// Where what kvmnet persisted and what runs disagree (what a reboot would change), from every
// task type that persists. Pure.
import type { Facts } from '../model/facts.js';
import { taskModules } from './registry.js';
import { managedDevices, managedDrift } from '../persist/managed-drift.js';

/**
 * One line per disagreement, e.g. `br0: persisted (networkd) but not present at runtime` or
 * `eth1: port of br0 at runtime but not persisted`. Empty when facts carry no persisted files.
 */
export function persistenceDrift(facts: Facts): string[] {
  const files = facts.persisted;
  if (!files) return [];
  const owned = managedDevices(facts);
  // The task modules know networkd and ifupdown files; a device in a kvmnet NetworkManager profile
  // or netplan file is persisted all the same (managedDrift compares those).
  const modules = taskModules.flatMap((m) => (m.kind === 'planned' && m.persistence?.drift ? m.persistence.drift(facts, files) : []));
  return [...modules.filter((line) => !(/ at runtime but not persisted/.test(line) && owned.has(line.slice(0, line.indexOf(':'))))), ...managedDrift(facts)];
}
