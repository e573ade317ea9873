// Shards: one run of a fleet split over N kvmnet processes (a Kubernetes Indexed Job, a CI matrix),
// each taking a deterministic slice of the selected hosts, merged afterwards by `kvmnet merge`.
// Pure: the split depends only on the host names (and, with --shard-by, their keys), never on the
// order the inventory lists them in, the machine, or the time.
import { UsageError } from '../errors.js';

/** Shard `index` of `count`, 1-based as `--shard 2/3` and GitLab's CI_NODE_INDEX are. */
export interface ShardSpec {
  index: number;
  count: number;
}

/** How hosts are grouped before the split: every host alone (by name, as AWX job slicing), or hosts sharing a key together. */
export type ShardBy = { kind: 'name' } | { kind: 'var'; name: string } | { kind: 'group'; pattern: string };

export class ShardError extends UsageError {
  override readonly code = 'SHARD' as 'USAGE';
}

/** At most this many shards: each is a process, a pod or a CI job. */
export const MAX_SHARDS = 10_000;

const SPEC = /^\s*([0-9]+)\s*\/\s*([0-9]+)\s*$/;

/** `I/N` (1 ≤ I ≤ N), or undefined when VALUE is not of that shape; throws when it is but the numbers are out of range. */
export function parseShardSpec(value: string): ShardSpec | undefined {
  const m = SPEC.exec(value);
  if (!m) return undefined;
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > MAX_SHARDS) throw new ShardError(`shard count ${count} out of range: expected 1 to ${MAX_SHARDS}`);
  if (index < 1 || index > count) throw new ShardError(`shard ${index}/${count}: the index goes from 1 to ${count}`);
  return { index, count };
}

/** The variables `--shard auto` reads, in this order: the first family present wins. */
export const SHARD_ENV = {
  /** Set by you, e.g. from a GitHub Actions matrix: `KVMNET_SHARD: ${{ matrix.shard }}/3`. Same syntax as --shard. */
  explicit: 'KVMNET_SHARD',
  /** Kubernetes Indexed Job: 0-based index; the count is not in the pod's environment, so the manifest sets KVMNET_SHARD_COUNT. */
  k8sIndex: 'JOB_COMPLETION_INDEX',
  k8sCount: 'KVMNET_SHARD_COUNT',
  /** GitLab `parallel: N`: 1-based index and total. */
  gitlabIndex: 'CI_NODE_INDEX',
  gitlabTotal: 'CI_NODE_TOTAL',
} as const;

/** `--shard auto`: the shard from the job engine's environment, and which variables said so. */
export function shardFromEnv(env: Record<string, string | undefined>): ShardSpec & { source: string } {
  const { explicit, k8sIndex, k8sCount, gitlabIndex, gitlabTotal } = SHARD_ENV;
  const whole = (name: string): number => {
    const v = env[name]!.trim();
    if (!/^[0-9]+$/.test(v)) throw new ShardError(`--shard auto: ${name}='${env[name]}' is not a whole number`);
    return Number(v);
  };
  const spec = (index: number, count: number, source: string) => {
    const parsed = parseShardSpec(`${index}/${count}`);
    return { ...parsed!, source };
  };
  try {
    if (env[explicit] !== undefined && env[explicit] !== '') {
      const parsed = parseShardSpec(env[explicit]);
      if (!parsed) throw new ShardError(`--shard auto: ${explicit}='${env[explicit]}' is not I/N, like 2/3`);
      return { ...parsed, source: explicit };
    }
    if (env[k8sIndex] !== undefined && env[k8sIndex] !== '') {
      if (env[k8sCount] === undefined || env[k8sCount] === '') {
        throw new ShardError(`--shard auto: ${k8sIndex} is set (a Kubernetes Indexed Job) but ${k8sCount} is not: set it to the Job's completions`);
      }
      return spec(whole(k8sIndex) + 1, whole(k8sCount), `${k8sIndex}+1/${k8sCount}`);
    }
    if (env[gitlabIndex] !== undefined && env[gitlabIndex] !== '') {
      if (env[gitlabTotal] === undefined || env[gitlabTotal] === '') throw new ShardError(`--shard auto: ${gitlabIndex} is set but ${gitlabTotal} is not`);
      return spec(whole(gitlabIndex), whole(gitlabTotal), `${gitlabIndex}/${gitlabTotal}`);
    }
  } catch (e) {
    if (e instanceof ShardError && !e.message.startsWith('--shard auto')) throw new ShardError(`--shard auto: ${e.message}`);
    throw e;
  }
  throw new ShardError(
    `--shard auto: none of ${explicit}, ${k8sIndex} (with ${k8sCount}) or ${gitlabIndex}/${gitlabTotal} is set: give the shard as --shard I/N`,
  );
}

const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `--shard-by VAR` (a host variable) or `--shard-by group:GLOB` (the one group matching GLOB the host is in). */
export function parseShardBy(value: string): ShardBy {
  const v = value.trim();
  if (v.startsWith('group:')) {
    const pattern = v.slice('group:'.length).trim();
    if (!pattern) throw new ShardError('--shard-by group: needs a group name or glob, like group:site_*');
    return { kind: 'group', pattern };
  }
  if (!VAR_NAME.test(v)) throw new ShardError(`--shard-by '${value}': expected a host variable name, like site, or group:GLOB, like group:site_*`);
  return { kind: 'var', name: v };
}

export const describeShardBy = (by: ShardBy): string => (by.kind === 'name' ? 'name' : by.kind === 'var' ? `var:${by.name}` : `group:${by.pattern}`);

// Code-unit order, not localeCompare: the split must be the same on every machine whatever its locale.
const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Splits HOSTS into COUNT disjoint shards that together hold every host once.
 * Without keys (by name, as AWX job slicing): sort the names, shard i takes every N-th host from the i-th.
 * With keys: hosts of one key stay together; keys go, largest first (then by key), to the shard with the
 * fewest hosts so far (then the lowest index) — balanced, and still a function of the names and keys only.
 * Each shard's hosts are in name order.
 */
export function splitHosts(hosts: readonly string[], count: number, keyOf?: (host: string) => string): string[][] {
  const sorted = [...new Set(hosts)].sort(byCodeUnits);
  const shards: string[][] = Array.from({ length: count }, () => []);
  if (!keyOf) {
    sorted.forEach((h, i) => shards[i % count]!.push(h));
    return shards;
  }
  const groups = new Map<string, string[]>();
  for (const h of sorted) {
    const k = keyOf(h);
    const g = groups.get(k);
    if (g) g.push(h);
    else groups.set(k, [h]);
  }
  const keys = [...groups.keys()].sort((a, b) => groups.get(b)!.length - groups.get(a)!.length || byCodeUnits(a, b));
  for (const k of keys) {
    let least = 0;
    for (let i = 1; i < count; i++) if (shards[i]!.length < shards[least]!.length) least = i;
    shards[least]!.push(...groups.get(k)!);
  }
  for (const s of shards) s.sort(byCodeUnits);
  return shards;
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
}

const listSome = (hosts: readonly string[]): string =>
  hosts.length <= 5 ? hosts.join(', ') : `${hosts.slice(0, 5).join(', ')} … and ${hosts.length - 5} more`;

/**
 * The key of every host for `--shard-by`, or a ShardError naming every host that has none (a host without
 * the variable, or in no / several matching groups): a host must never silently fall into some shard.
 */
export function shardKeys(
  hosts: readonly string[],
  by: ShardBy,
  lookup: { vars: (h: string) => Record<string, unknown>; groups: (h: string) => string[] },
): (host: string) => string {
  if (by.kind === 'name') return (h) => h;
  const keys = new Map<string, string>();
  const missing: string[] = [];
  const ambiguous: string[] = [];
  const re = by.kind === 'group' ? globToRegExp(by.pattern) : undefined;
  for (const h of hosts) {
    if (by.kind === 'var') {
      const v = by.name in lookup.vars(h) ? lookup.vars(h)[by.name] : undefined;
      if (v === undefined || v === null) missing.push(h);
      else keys.set(h, typeof v === 'string' ? v : JSON.stringify(v));
    } else {
      const matching = lookup.groups(h).filter((g) => g !== 'all' && g !== 'ungrouped' && re!.test(g));
      if (matching.length === 0) missing.push(h);
      else if (matching.length > 1) ambiguous.push(`${h} (${matching.join(', ')})`);
      else keys.set(h, matching[0]!);
    }
  }
  const problems: string[] = [];
  if (missing.length) {
    problems.push(
      by.kind === 'var'
        ? `${missing.length} host${missing.length === 1 ? '' : 's'} without the variable '${by.name}': ${listSome(missing)}`
        : `${missing.length} host${missing.length === 1 ? '' : 's'} in no group matching '${by.pattern}': ${listSome(missing)}`,
    );
  }
  if (ambiguous.length)
    problems.push(
      `${ambiguous.length} host${ambiguous.length === 1 ? '' : 's'} in several groups matching '${(by as { pattern: string }).pattern}': ${listSome(ambiguous)}`,
    );
  if (problems.length) throw new ShardError(`--shard-by ${describeShardBy(by)}: ${problems.join('; ')}`);
  return (h) => keys.get(h)!;
}
