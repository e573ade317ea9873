// --shard / --shard-by for `run` and `facts`: which of the selected hosts this process takes, and the
// header its JSON output starts with.
import { groupsOf, hostVars, type Inventory } from '../config/inventory.js';
import { canonicalJson, inventoryHash, runIdFromEnv, sha256, HEADER_FORMAT, type RunHeader } from '../report/run-header.js';
import { describeShardBy, shardFromEnv, shardKeys, splitHosts, type ShardBy, type ShardSpec } from '../run/shard.js';

export interface ShardChoice {
  /** Every selected host, by shard (one list when not sharded). */
  split: string[][];
  /** This process's hosts. */
  mine: string[];
  shard: (ShardSpec & { by: string; source: string }) | null;
}

/** SELECTED is every host the command would take without --shard (plays and --limit applied), in run order. */
export function chooseShard(
  inventory: Inventory,
  selected: readonly string[],
  opts: { shard?: ShardSpec | 'auto'; shardBy?: ShardBy },
  env: Record<string, string | undefined> = process.env,
): ShardChoice {
  if (!opts.shard) return { split: [[...selected]], mine: [...selected], shard: null };
  const spec = opts.shard === 'auto' ? shardFromEnv(env) : { ...opts.shard, source: '--shard' };
  const by = opts.shardBy ?? { kind: 'name' as const };
  const keyOf = by.kind === 'name' ? undefined : shardKeys(selected, by, { vars: (h) => hostVars(inventory, h), groups: (h) => groupsOf(inventory, h) });
  const split = splitHosts(selected, spec.count, keyOf);
  return { split, mine: split[spec.index - 1]!, shard: { index: spec.index, count: spec.count, by: describeShardBy(by), source: spec.source } };
}

export function buildHeader(o: {
  command: RunHeader['command'];
  inventory: Inventory;
  playbookBytes?: Buffer;
  extraVars: Record<string, unknown>;
  check: boolean;
  tags?: string[];
  skipTags?: string[];
  choice: ShardChoice;
  env?: Record<string, string | undefined>;
}): RunHeader {
  const { choice } = o;
  return {
    event: 'header',
    format: HEADER_FORMAT,
    command: o.command,
    run_id: runIdFromEnv(o.env ?? process.env),
    check: o.check,
    tags: o.tags ?? null,
    skip_tags: o.skipTags ?? null,
    shard: choice.shard ? { index: choice.shard.index, count: choice.shard.count, by: choice.shard.by } : null,
    inventory_sha256: inventoryHash(o.inventory),
    playbook_sha256: o.playbookBytes ? sha256(o.playbookBytes) : null,
    extra_vars_sha256: sha256(canonicalJson(o.extraVars)),
    split: choice.split,
    hosts: choice.mine,
  };
}
