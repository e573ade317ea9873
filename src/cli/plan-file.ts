// The plan file on disk: written by `kvmnet run --check --out`, checked and read by `kvmnet apply`
// and `kvmnet report`. Refusals say which of plan, playbook, inventory or kvmnet differs.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Inventory } from '../config/inventory.js';
import { UsageError } from '../errors.js';
import { changeLines } from '../model/plan.js';
import { OP_NAMES } from '../ops/index.js';
import type { RunLog } from '../report/html-run-log.js';
import { canonicalJson, inventoryHash, sha256 } from '../report/run-header.js';
import { PLAN_FORMAT, planDigest, type HostRecording, type SavedPlan } from '../run/saved-plan.js';
import { KVMNET_VERSION } from './version.js';

export interface PlanMeta {
  playbookFile: string;
  inventorySources: string[];
  inventory: Inventory;
  extraVars: Record<string, unknown>;
  tags?: string[];
  skipTags?: string[];
}

export function writePlan(file: string, recordings: Map<string, HostRecording>, meta: PlanMeta): SavedPlan {
  const body: Omit<SavedPlan, 'digest'> = {
    kvmnet_plan: PLAN_FORMAT,
    kvmnet_version: KVMNET_VERSION,
    created: new Date().toISOString(),
    playbook: { file: resolve(meta.playbookFile), sha256: sha256(readFileSync(meta.playbookFile)) },
    inventory: { sources: meta.inventorySources.map((s) => resolve(s)), sha256: inventoryHash(meta.inventory) },
    extra_vars_sha256: sha256(canonicalJson(meta.extraVars)),
    selection: { hosts: [...recordings.keys()].sort(), tags: meta.tags ?? null, skip_tags: meta.skipTags ?? null },
    hosts: Object.fromEntries([...recordings.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([h, r]) => [h, r.saved()])),
  };
  // Through JSON once, so that the digest is over exactly what a reader will see.
  const plain = JSON.parse(JSON.stringify(body)) as Omit<SavedPlan, 'digest'>;
  const plan: SavedPlan = { ...plain, digest: planDigest(plain) };
  writeFileSync(file, JSON.stringify(plan, null, 1) + '\n');
  return plan;
}

/** Reads a plan file; refuses one that is not a plan, of another format or kvmnet version, or edited after it was made. */
export function readPlan(file: string): SavedPlan {
  let plan: SavedPlan;
  try {
    plan = JSON.parse(readFileSync(file, 'utf8')) as SavedPlan;
  } catch (e) {
    throw new UsageError(`cannot read the plan ${file}: ${(e as Error).message}`);
  }
  if (typeof plan !== 'object' || plan === null || plan.kvmnet_plan === undefined)
    throw new UsageError(`${file} is not a kvmnet plan (expected the output of \`kvmnet run --check --out FILE\`)`);
  if (plan.kvmnet_plan !== PLAN_FORMAT)
    throw new UsageError(`${file}: plan format ${String(plan.kvmnet_plan)}, this kvmnet reads format ${PLAN_FORMAT}; re-plan`);
  if (plan.kvmnet_version !== KVMNET_VERSION)
    throw new UsageError(
      `${file} was made by kvmnet ${plan.kvmnet_version}, this is kvmnet ${KVMNET_VERSION}: its operations may mean something else here; re-plan`,
    );
  if (plan.digest !== planDigest(plan))
    throw new UsageError(`${file} was changed after it was made (its digest does not match its content): a plan is applied only as it was reviewed; re-plan`);
  const unknown = Object.values(plan.hosts ?? {}).flatMap((h) =>
    h.tasks.flatMap((t) => (t.plan?.changes ?? []).flatMap((c) => c.ops.filter((o) => !OP_NAMES.includes(o.op)))),
  );
  if (unknown.length) throw new UsageError(`${file} holds operations this kvmnet does not know: ${[...new Set(unknown.map((o) => String(o.op)))].join(', ')}`);
  return plan;
}

/** Refuses a plan made from another playbook, inventory or extra vars than the ones loaded now. */
export function checkPlanInputs(plan: SavedPlan, file: string, o: { playbookBytes: Buffer; inventory: Inventory; extraVars: Record<string, unknown> }): void {
  if (sha256(o.playbookBytes) !== plan.playbook.sha256)
    throw new UsageError(`${file} was made from another version of ${plan.playbook.file} (its content changed since); re-plan`);
  if (inventoryHash(o.inventory) !== plan.inventory.sha256) {
    const missing = plan.selection.hosts.filter((h) => !o.inventory.hosts.has(h));
    throw new UsageError(
      `${file} was made from another inventory (${missing.length ? `no host ${missing.join(', ')} in this one` : 'hosts, groups or variables differ'}; it used ${plan.inventory.sources.join(', ')}); re-plan`,
    );
  }
  if (sha256(canonicalJson(o.extraVars)) !== plan.extra_vars_sha256)
    throw new UsageError(`${file} was made with other extra vars (-e); give the same ones, or re-plan`);
}

/** The plan as the HTML report reads a run: one `check` event per task, the operations' shell under each change. */
export function planRunLog(plan: SavedPlan): RunLog {
  const time = plan.created;
  const tasks: RunLog['tasks'] = [];
  for (const [host, h] of Object.entries(plan.hosts)) {
    for (const t of h.tasks) {
      const changes = t.plan?.changes ?? [];
      const outcome = t.kind === 'failed' ? 'failed' : t.kind === 'skipped' ? 'skipped' : changes.length ? 'changed' : 'ok';
      const diff = changes.length
        ? {
            before: t.plan?.diff?.before ?? '',
            after: t.plan?.diff?.after ?? '',
            notes: [...(t.plan?.diff?.notes ?? []), ...changeLines(changes).map((l) => `runs: ${l}`)],
          }
        : undefined;
      tasks.push({
        time,
        host,
        play: '',
        task: t.name,
        type: t.type,
        outcome,
        message: changes.map((c) => c.summary).join('; ') || t.plan?.noop || t.message || '',
        changes: changes.map((c) => c.summary),
        ...(diff ? { diff } : {}),
        check: true,
        durationMs: 0,
      });
    }
  }
  return { plays: [{ time, play: `plan of ${plan.playbook.file}`, hosts: Object.keys(plan.hosts), check: true }], batches: [], tasks, warnings: [] };
}
