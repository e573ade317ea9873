// The first line of `--output json`: what this output is the result of. `kvmnet merge` refuses to
// merge shards whose headers disagree, so results of different inputs cannot be merged by mistake.
import { createHash, randomUUID } from 'node:crypto';
import { groupsOf, hostVars, type Inventory } from '../config/inventory.js';

/** Bumped when the header or the events change in a way merge must know about. */
export const HEADER_FORMAT = 1;

export interface RunHeader {
  event: 'header';
  format: number;
  command: 'run' | 'facts';
  /** The same for every shard of one run: KVMNET_RUN_ID, else the CI's run/pipeline id, else random. */
  run_id: string;
  check: boolean;
  tags: string[] | null;
  skip_tags: string[] | null;
  /** Null for a run that is not sharded. */
  shard: { index: number; count: number; by: string } | null;
  /** sha256 of the loaded inventory (every host's groups and merged vars, in canonical JSON): the same whatever the paths. */
  inventory_sha256: string;
  /** sha256 of the playbook file's bytes (null for facts). */
  playbook_sha256: string | null;
  /** sha256 of the parsed extra vars in canonical JSON (`-e a=1` and `-e '{"a":"1"}'` hash the same). */
  extra_vars_sha256: string;
  /** Every selected host of the whole fleet, by shard (one list when not sharded): merge names missing hosts from it. */
  split: string[][];
  /** This shard's hosts. */
  hosts: string[];
}

/** JSON with object keys sorted at every level (Maps and Sets as sorted entries): equal values, equal text. */
export function canonicalJson(value: unknown): string {
  const norm = (v: unknown): unknown => {
    if (v instanceof Map) return [...v.entries()].map(([k, x]) => [String(k), norm(x)]).sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1));
    if (v instanceof Set)
      return [...v]
        .map(norm)
        .map((x) => JSON.stringify(x))
        .sort();
    if (Array.isArray(v)) return v.map(norm);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) {
        const x = (v as Record<string, unknown>)[k];
        if (x !== undefined) out[k] = norm(x);
      }
      return out;
    }
    return v;
  };
  return JSON.stringify(norm(value)) ?? 'null';
}

export const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** What the inventory gives the run: each host's groups and merged vars, in name order (not the files, their paths or order). */
export function inventoryHash(inv: Inventory): string {
  const hosts = [...inv.hosts.keys()].sort();
  return sha256(canonicalJson(hosts.map((h) => [h, groupsOf(inv, h), hostVars(inv, h)])));
}

/** The id every shard of one run shares. */
export function runIdFromEnv(env: Record<string, string | undefined>): string {
  if (env.KVMNET_RUN_ID) return env.KVMNET_RUN_ID;
  if (env.GITHUB_RUN_ID) return `github-${env.GITHUB_RUN_ID}-${env.GITHUB_RUN_ATTEMPT ?? '1'}`;
  if (env.CI_PIPELINE_ID) return `gitlab-${env.CI_PIPELINE_ID}`;
  return randomUUID();
}
