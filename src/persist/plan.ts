// Turns the files a task wants into Changes, and adds them to the task's runtime plan. Pure.
import { dirname } from 'node:path';
import type { Facts } from '../model/facts.js';
import { factsAfter, type Change, type Plan, type TaskDiff } from '../model/plan.js';
import { describeDevices } from '../facts/describe.js';
import { NETWORKD_DIR } from '../model/persist-kinds.js';
import type { FileWant } from './persistence.js';
import { isNmProfilePath } from './nm-profiles.js';
import { isNetplanPath } from './netplan-files.js';

const isDropIn = (path: string) => dirname(path) !== NETWORKD_DIR && dirname(path).endsWith('.network.d');

/** The changes that make the host's files match `wants`; empty when they already do. */
export function fileChanges(wants: readonly FileWant[], facts: Facts): Change[] {
  const changes: Change[] = [];
  for (const { path, content } of wants) {
    const current = facts.persisted?.[path];
    if (content === null) {
      if (current === undefined) continue;
      // The drop-in directory goes with its last file; rmdir leaves it if anything else is in it.
      changes.push({ summary: `remove ${path}`, ops: [{ op: 'file.remove', path, ...(isDropIn(path) ? { rmdir: true } : {}) }] });
      continue;
    }
    if (current === content) continue;
    // NetworkManager ignores a keyfile that others can read: those (and netplan's) are made 0600.
    const mode = isNmProfilePath(path) || isNetplanPath(path) ? { mode: '600' } : {};
    changes.push({ summary: `${current === undefined ? 'write' : 'update'} ${path}`, ops: [{ op: 'file.write', path, content, ...mode }] });
  }
  return changes;
}

/** `file PATH` then its content indented, or `(absent)`: a line diff then shows just what changes. */
function fileDiff(facts: Facts, wants: readonly FileWant[]): TaskDiff {
  const after: Facts = { ...facts, persisted: { ...facts.persisted } };
  for (const w of wants) {
    if (w.content === null) delete after.persisted![w.path];
    else after.persisted![w.path] = w.content;
  }
  // The same paths on both sides, unchanged ones left out.
  const changed = wants.filter((w) => (facts.persisted?.[w.path] ?? null) !== w.content);
  const text = (f: Facts) =>
    changed
      .map((w) => {
        const content = f.persisted?.[w.path];
        const body =
          content === undefined
            ? ['    (absent)']
            : content
                .replace(/\n$/, '')
                .split('\n')
                .map((l) => `    ${l}`.trimEnd());
        return [`file ${w.path}`, ...body].join('\n');
      })
      .join('\n');
  return { before: text(facts), after: text(after) };
}

const join = (a: string, b: string) => (a && b ? `${a}\n${b}` : a || b);

/** A short "in place" note for a no-op: `10-kvmnet-br0.netdev, 10-kvmnet-br0.network in place`. */
function inPlace(kind: string, wants: readonly FileWant[]): string {
  const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);
  const kept = wants.filter((w) => w.content !== null).map((w) => base(w.path));
  const gone = wants.filter((w) => w.content === null).map((w) => base(w.path));
  const parts = [kept.length && `${kept.join(', ')} in place`, gone.length && `no ${gone.join(', ')}`].filter(Boolean);
  return `persisted (${kind}): ${parts.join('; ')}`;
}

/**
 * The task's plan with its file changes after the runtime ones (all run in the task's one exec).
 * Runtime already right but a file missing or different: still a change (the file).
 */
export function withPersistence(plan: Plan, kind: string, wants: readonly FileWant[], facts: Facts): Plan {
  if (wants.length === 0) return plan;
  const changes = fileChanges(wants, facts);
  if (changes.length === 0) return plan.changes.length === 0 ? { ...plan, noop: `${plan.noop ?? 'nothing to change'}; ${inPlace(kind, wants)}` } : plan;
  const files = fileDiff(facts, wants);
  if (plan.changes.length === 0) return { ...plan, noop: undefined, changes, diff: files, devices: undefined };
  let runtime = plan.diff;
  if (!runtime && plan.devices) {
    // The runner describes `devices` only when a plan has no diff of its own: do it here, the same way.
    const after = factsAfter(plan.changes, facts);
    runtime = { before: describeDevices(facts, plan.devices), after: describeDevices(after, plan.devices) };
  }
  const diff: TaskDiff = runtime ? { ...runtime, before: join(runtime.before, files.before), after: join(runtime.after, files.after) } : files;
  return { ...plan, changes: [...plan.changes, ...changes], diff };
}
