// The split of the selected hosts over N shards (src/run/shard.ts): deterministic, disjoint, complete.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseShardBy, parseShardSpec, shardFromEnv, shardKeys, splitHosts } from '../../src/run/shard.js';

/** Fleets the property tests draw: host names from a small alphabet, so that collisions and shared prefixes happen. */
const hostName = fc.stringMatching(/^[a-c][a-c0-9.-]{0,6}$/);
const fleet = fc.uniqueArray(hostName, { minLength: 0, maxLength: 120 });
const RUNS = 600;

function assertPartition(shards: string[][], hosts: readonly string[]): void {
  const all = shards.flat();
  expect(new Set(all).size).toBe(all.length); // disjoint
  expect([...all].sort()).toEqual([...new Set(hosts)].sort()); // complete
}

describe('splitHosts by name (AWX job slicing)', () => {
  it.each([
    {
      hosts: ['hv3', 'hv1', 'hv2', 'hv4', 'hv5'],
      count: 2,
      want: [
        ['hv1', 'hv3', 'hv5'],
        ['hv2', 'hv4'],
      ],
    },
    { hosts: ['hv1', 'hv10', 'hv2'], count: 3, want: [['hv1'], ['hv10'], ['hv2']] }, // code-unit order: hv10 < hv2, on every machine
    { hosts: ['a', 'b'], count: 4, want: [['a'], ['b'], [], []] }, // more shards than hosts: empty shards
    { hosts: [], count: 2, want: [[], []] },
    { hosts: ['x', 'y', 'z'], count: 1, want: [['x', 'y', 'z']] },
  ])('$hosts over $count shards', ({ hosts, count, want }) => {
    expect(splitHosts(hosts, count)).toEqual(want);
  });

  it(`is disjoint, complete, balanced (sizes differ by at most 1) and independent of input order, over ${RUNS} random fleets`, () => {
    let fleets = 0;
    fc.assert(
      fc.property(fleet, fc.integer({ min: 1, max: 12 }), fc.integer(), (hosts, count, seed) => {
        fleets++;
        const shards = splitHosts(hosts, count);
        expect(shards).toHaveLength(count);
        assertPartition(shards, hosts);
        const sizes = shards.map((s) => s.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        // Determinism: another process, with the inventory listing hosts in another order, takes the same slices.
        const k = hosts.length ? Math.abs(seed) % hosts.length : 0;
        const reordered = [...hosts.slice(k), ...hosts.slice(0, k)].reverse();
        expect(splitHosts(reordered, count)).toEqual(shards);
      }),
      { numRuns: RUNS },
    );
    expect(fleets).toBe(RUNS);
  });
});

describe('splitHosts with keys (--shard-by)', () => {
  // paris (3) → shard 1; lyon (2) → shard 2; lille (1, before nice by name) → shard 2 (fewer hosts); nice → shard 1 (a tie: the lower index)
  it('keeps each key together and balances the keys over the shards, largest first', () => {
    const site: Record<string, string> = { a1: 'paris', a2: 'paris', a3: 'paris', b1: 'lyon', b2: 'lyon', c1: 'nice', d1: 'lille' };
    expect(splitHosts(Object.keys(site), 2, (h) => site[h]!)).toEqual([
      ['a1', 'a2', 'a3', 'c1'],
      ['b1', 'b2', 'd1'],
    ]);
  });

  it(`is disjoint and complete, keeps every key in one shard, and is independent of input order, over ${RUNS} random fleets`, () => {
    fc.assert(
      fc.property(fleet, fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 6 }), (hosts, count, sites) => {
        const keyOf = (h: string) => `site${[...h].reduce((n, ch) => n + ch.charCodeAt(0), 0) % sites}`;
        const shards = splitHosts(hosts, count, keyOf);
        expect(shards).toHaveLength(count);
        assertPartition(shards, hosts);
        const shardOfKey = new Map<string, number>();
        shards.forEach((s, i) =>
          s.forEach((h) => {
            const k = keyOf(h);
            expect(shardOfKey.get(k) ?? i).toBe(i);
            shardOfKey.set(k, i);
          }),
        );
        expect(splitHosts([...hosts].reverse(), count, keyOf)).toEqual(shards);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('parseShardSpec', () => {
  it.each([
    ['1/1', { index: 1, count: 1 }],
    ['2/3', { index: 2, count: 3 }],
    [' 3 / 3 ', { index: 3, count: 3 }],
    ['auto', undefined],
    ['2', undefined],
    ['-1/3', undefined],
    ['1.5/3', undefined],
  ])('%j → %j', (value, want) => {
    expect(parseShardSpec(value)).toEqual(want);
  });

  it.each([
    ['0/3', /index goes from 1 to 3/],
    ['4/3', /index goes from 1 to 3/],
    ['1/0', /shard count 0 out of range/],
    ['1/10001', /out of range/],
  ])('%j is refused: %s', (value, message) => {
    expect(() => parseShardSpec(value)).toThrow(message);
  });
});

describe('shardFromEnv (--shard auto)', () => {
  it.each([
    { env: { KVMNET_SHARD: '2/4' }, want: { index: 2, count: 4, source: 'KVMNET_SHARD' } },
    // Kubernetes Indexed Job: JOB_COMPLETION_INDEX is 0-based
    { env: { JOB_COMPLETION_INDEX: '0', KVMNET_SHARD_COUNT: '3' }, want: { index: 1, count: 3, source: 'JOB_COMPLETION_INDEX+1/KVMNET_SHARD_COUNT' } },
    { env: { JOB_COMPLETION_INDEX: '2', KVMNET_SHARD_COUNT: '3' }, want: { index: 3, count: 3, source: 'JOB_COMPLETION_INDEX+1/KVMNET_SHARD_COUNT' } },
    // GitLab parallel: 1-based
    { env: { CI_NODE_INDEX: '1', CI_NODE_TOTAL: '5' }, want: { index: 1, count: 5, source: 'CI_NODE_INDEX/CI_NODE_TOTAL' } },
    // the explicit variable wins over the engines'
    { env: { KVMNET_SHARD: '1/2', CI_NODE_INDEX: '3', CI_NODE_TOTAL: '5' }, want: { index: 1, count: 2, source: 'KVMNET_SHARD' } },
  ])('$env', ({ env, want }) => {
    expect(shardFromEnv(env)).toEqual(want);
  });

  it.each([
    [{}, /none of KVMNET_SHARD, JOB_COMPLETION_INDEX \(with KVMNET_SHARD_COUNT\) or CI_NODE_INDEX\/CI_NODE_TOTAL is set/],
    [{ JOB_COMPLETION_INDEX: '1' }, /KVMNET_SHARD_COUNT is not: set it to the Job's completions/],
    [{ JOB_COMPLETION_INDEX: '3', KVMNET_SHARD_COUNT: '3' }, /--shard auto: shard 4\/3: the index goes from 1 to 3/],
    [{ CI_NODE_INDEX: '0', CI_NODE_TOTAL: '2' }, /--shard auto: shard 0\/2/],
    [{ CI_NODE_INDEX: '1' }, /CI_NODE_TOTAL is not/],
    [{ KVMNET_SHARD: 'two' }, /KVMNET_SHARD='two' is not I\/N/],
    [{ JOB_COMPLETION_INDEX: 'x', KVMNET_SHARD_COUNT: '2' }, /JOB_COMPLETION_INDEX='x' is not a whole number/],
  ])('%j is refused', (env, message) => {
    expect(() => shardFromEnv(env as Record<string, string>)).toThrow(message);
  });
});

describe('--shard-by keys', () => {
  const vars: Record<string, Record<string, unknown>> = { hv1: { site: 'paris' }, hv2: { site: 'paris' }, hv3: { site: 'lyon' }, hv4: {}, hv5: { site: 7 } };
  const groups: Record<string, string[]> = {
    hv1: ['all', 'site_paris'],
    hv2: ['all', 'site_paris'],
    hv3: ['all', 'site_lyon', 'site_lyon_b'],
    hv4: ['all', 'ungrouped'],
    hv5: ['all', 'site_nice'],
  };
  const lookup = { vars: (h: string) => vars[h]!, groups: (h: string) => groups[h]! };

  it('a host variable: its value is the key', () => {
    const key = shardKeys(['hv1', 'hv2', 'hv3', 'hv5'], parseShardBy('site'), lookup);
    expect(['hv1', 'hv2', 'hv3', 'hv5'].map(key)).toEqual(['paris', 'paris', 'lyon', '7']);
  });

  it('a group glob: the one matching group is the key', () => {
    const key = shardKeys(['hv1', 'hv2', 'hv5'], parseShardBy('group:site_*'), lookup);
    expect(['hv1', 'hv2', 'hv5'].map(key)).toEqual(['site_paris', 'site_paris', 'site_nice']);
  });

  it.each([
    ['site', ['hv1', 'hv4'], "--shard-by var:site: 1 host without the variable 'site': hv4"],
    [
      'group:site_*',
      ['hv1', 'hv3', 'hv4'],
      "--shard-by group:site_*: 1 host in no group matching 'site_*': hv4; 1 host in several groups matching 'site_*': hv3 (site_lyon, site_lyon_b)",
    ],
  ])('%s: a host without a key is an error naming it, never a silent default', (by, hosts, message) => {
    expect(() => shardKeys(hosts, parseShardBy(by), lookup)).toThrow(message);
  });

  it.each(['', 'a b', '9site', 'group:'])('%j is not a --shard-by', (value) => {
    expect(() => parseShardBy(value)).toThrow(/--shard-by/);
  });
});
