// `kvmnet merge` (src/report/merge.ts): shards of one run, disjoint and complete, become one run.
import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { emptyRecap, type HostRecap, type TaskOutcome } from '../../src/model/result.js';
import { MergeError, mergeShards, type ShardFile } from '../../src/report/merge.js';
import type { RunHeader } from '../../src/report/run-header.js';

const SPLIT = [['hv1', 'hv4'], ['hv2', 'hv5'], ['hv3']];
const OUTCOMES: Record<string, TaskOutcome> = { hv1: 'changed', hv2: 'ok', hv3: 'failed', hv4: 'ok', hv5: 'unreachable' };

function header(index: number | null, over: Partial<RunHeader> = {}): RunHeader {
  return {
    event: 'header',
    format: 1,
    command: 'run',
    run_id: 'run-1',
    check: false,
    tags: null,
    skip_tags: null,
    shard: index === null ? null : { index, count: 3, by: 'name' },
    inventory_sha256: 'a'.repeat(64),
    playbook_sha256: 'b'.repeat(64),
    extra_vars_sha256: 'c'.repeat(64),
    split: index === null ? [SPLIT.flat()] : SPLIT,
    hosts: index === null ? SPLIT.flat() : SPLIT[index - 1]!,
    ...over,
  };
}

const recap = (host: string): HostRecap => ({ ...emptyRecap(host), [OUTCOMES[host]!]: 1, ...(OUTCOMES[host] === 'failed' ? { error: 'step: boom' } : {}) });

/** The JSON Lines a shard (or the single run) writes for HOSTS. */
function shardText(hosts: string[], h: RunHeader, opts: { summary?: boolean; t0?: number } = {}): string {
  const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, (opts.t0 ?? 0) + s)).toISOString();
  const lines: object[] = [
    { time: t(0), ...h },
    { time: t(1), event: 'play', play: 'p', hosts, check: h.check },
    ...hosts.map((host, i) => ({
      time: t(2 + i),
      event: 'task',
      host,
      play: 'p',
      task: 'step',
      type: 'command',
      outcome: OUTCOMES[host],
      message: '',
      changes: [],
      check: h.check,
      durationMs: 5,
    })),
  ];
  if (opts.summary !== false)
    lines.push({
      time: t(10),
      event: 'summary',
      hosts: hosts.map(recap),
      elapsedMs: 10_000,
      check: h.check,
      notTouched: [],
      stats: { connections: hosts.length, execs: 2 * hosts.length },
    });
  return lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
}

const shards = (): ShardFile[] => SPLIT.map((hosts, i) => ({ file: `s${i + 1}.jsonl`, text: shardText(hosts, header(i + 1), { t0: i }) }));

function problems(files: ShardFile[]): string[] {
  try {
    mergeShards(files);
  } catch (e) {
    if (e instanceof MergeError) return e.problems;
    throw e;
  }
  throw new Error('merged, but should not have');
}

describe('mergeShards', () => {
  it('gives what the single run gives: per-host recap, one play with every host, task events, exit code', () => {
    const merged = mergeShards(shards());
    const single = mergeShards([{ file: 'single.jsonl', text: shardText(SPLIT.flat(), header(null)) }]);
    expect(merged.summary.hosts).toEqual(single.summary.hosts);
    expect(merged.summary.hosts.map((h) => h.host)).toEqual(['hv1', 'hv2', 'hv3', 'hv4', 'hv5']);
    expect(exitCodeFor(merged.summary, false)).toBe(6);
    expect(exitCodeFor(merged.summary, false)).toBe(exitCodeFor(single.summary, false));
    const plays = merged.events.filter((e) => e.event === 'play');
    expect(plays).toEqual([expect.objectContaining({ play: 'p', hosts: ['hv1', 'hv2', 'hv3', 'hv4', 'hv5'] })]);
    const tasks = merged.events
      .filter((e) => e.event === 'task')
      .map((e) => [e.host, e.outcome])
      .sort();
    expect(tasks).toEqual(Object.entries(OUTCOMES).sort());
    expect(merged.events[0]).toMatchObject({
      event: 'header',
      shard: null,
      run_id: 'run-1',
      hosts: ['hv1', 'hv2', 'hv3', 'hv4', 'hv5'],
      merged_from: [
        { file: 's1.jsonl', shard: 1 },
        { file: 's2.jsonl', shard: 2 },
        { file: 's3.jsonl', shard: 3 },
      ],
    });
    expect(merged.events.at(-1)).toMatchObject({ event: 'summary' });
    // From the first shard's start (00:00:00) to the last shard's end (00:00:12).
    expect(merged.summary.elapsedMs).toBe(12_000);
    expect(merged.summary.stats).toEqual({ connections: 5, execs: 10 });
  });

  it('the merged output merges again, alone, to the same', () => {
    const merged = mergeShards(shards());
    const text = merged.events.map((e) => JSON.stringify(e)).join('\n');
    expect(mergeShards([{ file: 'merged.jsonl', text }]).summary).toEqual(merged.summary);
  });

  it('all ok: exit 0; files in any order', () => {
    for (const h of Object.keys(OUTCOMES)) OUTCOMES[h] = 'ok';
    try {
      const merged = mergeShards([...shards()].reverse());
      expect(exitCodeFor(merged.summary, false)).toBe(0);
    } finally {
      Object.assign(OUTCOMES, { hv1: 'changed', hv3: 'failed', hv5: 'unreachable' });
    }
  });

  it.each<[string, (f: ShardFile[]) => ShardFile[], string[]]>([
    ['a shard that never ran', (f) => [f[0]!, f[2]!], ['shard 2/3 never ran (no file has it): its 2 hosts are missing: hv2, hv5']],
    [
      'a shard given twice',
      (f) => [...f, { ...f[1]!, file: 'again.jsonl' }],
      [
        'shard 2/3 is in 2 files (s2.jsonl, again.jsonl): its hosts would be doubled: hv2, hv5',
        'hosts in more than one shard: hv2 (s2.jsonl, again.jsonl), hv5 (s2.jsonl, again.jsonl)',
      ],
    ],
    [
      'a shard cut short (no summary)',
      (f) => [f[0]!, { file: 's2.jsonl', text: shardText(SPLIT[1]!, header(2), { summary: false }) }, f[2]!],
      ['s2.jsonl (shard 2/3) has no summary: the shard was cut short; its hosts have no recap: hv2, hv5'],
    ],
    [
      'a shard missing a host',
      (f) => [f[0]!, { file: 's2.jsonl', text: shardText(['hv2'], header(2)) }, f[2]!],
      ['s2.jsonl (shard 2/3) has no result for 1 of its hosts: hv5'],
    ],
    [
      'a shard with a host of another',
      (f) => [f[0]!, { file: 's2.jsonl', text: shardText(['hv2', 'hv5', 'hv3'], header(2)) }, f[2]!],
      ['s2.jsonl (shard 2/3) has results for host of another shard: hv3', 'host in more than one shard: hv3 (s2.jsonl, s3.jsonl)'],
    ],
    [
      'another playbook',
      (f) => [f[0]!, { file: 's2.jsonl', text: shardText(SPLIT[1]!, header(2, { playbook_sha256: 'd'.repeat(64) })) }, f[2]!],
      ["not shards of one run: the playbook (playbook_sha256) of s2.jsonl (dddddddddddd…) differs from s1.jsonl's (bbbbbbbbbbbb…)"],
    ],
    [
      'another inventory and extra vars',
      (f) => [
        f[0]!,
        f[1]!,
        { file: 's3.jsonl', text: shardText(SPLIT[2]!, header(3, { inventory_sha256: 'e'.repeat(64), extra_vars_sha256: 'f'.repeat(64) })) },
      ],
      [
        "not shards of one run: the inventory (inventory_sha256) of s3.jsonl (eeeeeeeeeeee…) differs from s1.jsonl's (aaaaaaaaaaaa…)",
        "not shards of one run: the extra vars (extra_vars_sha256) of s3.jsonl (ffffffffffff…) differs from s1.jsonl's (cccccccccccc…)",
      ],
    ],
    [
      'another run',
      (f) => [f[0]!, { file: 's2.jsonl', text: shardText(SPLIT[1]!, header(2, { run_id: 'run-2' })) }, f[2]!],
      ["not shards of one run: the run id of s2.jsonl (run-2) differs from s1.jsonl's (run-1)"],
    ],
    [
      'check and real run',
      (f) => [f[0]!, { file: 's2.jsonl', text: shardText(SPLIT[1]!, header(2, { check: true })) }, f[2]!],
      ["not shards of one run: the check mode of s2.jsonl (true) differs from s1.jsonl's (false)"],
    ],
    [
      'another shard count',
      (f) => [f[0]!, { file: 's2.jsonl', text: shardText(SPLIT[1]!, header(2, { shard: { index: 2, count: 4, by: 'name' } })) }, f[2]!],
      ["not shards of one run: the shard count of s2.jsonl (4) differs from s1.jsonl's (3)"],
    ],
    [
      'no header (an older kvmnet, or not kvmnet)',
      (f) => [f[0]!, { file: 'old.jsonl', text: shardText(SPLIT[1]!, header(2)).split('\n').slice(1).join('\n') }],
      ['old.jsonl: does not start with a header event: it is not the JSON output of a kvmnet run that can be merged (empty, or written by an older kvmnet)'],
    ],
    [
      'not JSON',
      (f) => [f[0]!, { file: 'x.txt', text: 'RECAP\n' }],
      ['x.txt:1: not JSON (expected the output of `kvmnet run --output json`): Unexpected token \'R\', "RECAP" is not valid JSON'],
    ],
    [
      'two unsharded outputs',
      () => [
        { file: 'a.jsonl', text: shardText(SPLIT.flat(), header(null)) },
        { file: 'b.jsonl', text: shardText(SPLIT.flat(), header(null)) },
      ],
      ['a.jsonl, b.jsonl: 2 outputs of the same unsharded run: each holds every host (run with --shard I/N to split a run)'],
    ],
  ])('refuses %s, naming what is wrong', (_what, pick, want) => {
    expect(problems(pick(shards()))).toEqual(want);
  });

  it('a shard with no host (more shards than hosts) need not have a file', () => {
    const split = [['hv1'], ['hv2'], []];
    const files = [1, 2].map((i) => ({ file: `s${i}.jsonl`, text: shardText(split[i - 1]!, header(i, { split, hosts: split[i - 1]! })) }));
    expect(mergeShards(files).summary.hosts.map((h) => h.host)).toEqual(['hv1', 'hv2']);
  });
});

describe('mergeShards of `kvmnet facts --shard … --output json`', () => {
  const split = [['hv1', 'hv3'], ['hv2']];
  const factsHeader = (index: number) =>
    header(index, { command: 'facts', playbook_sha256: null, check: true, shard: { index, count: 2, by: 'name' }, split, hosts: split[index - 1]! });
  const factsText = (index: number, entries: object[]) => [factsHeader(index), ...entries].map((l) => JSON.stringify(l)).join('\n') + '\n';
  const f1 = {
    file: 'f1.jsonl',
    text: factsText(1, [
      { host: 'hv3', hostname: 'hv3', bridges: [] },
      { host: 'hv1', hostname: 'hv1', bridges: [] },
    ]),
  };

  it('one header, then every host in name order; exit code as `kvmnet facts` (4: a host unreachable)', () => {
    const f2 = { file: 'f2.jsonl', text: factsText(2, [{ host: 'hv2', error: 'connect ECONNREFUSED', unreachable: true }]) };
    const merged = mergeShards([f2, f1]);
    expect(merged.events.map((e) => [e.event ?? null, e.host ?? null])).toEqual([
      ['header', null],
      [null, 'hv1'],
      [null, 'hv2'],
      [null, 'hv3'],
    ]);
    expect(merged.summary.hosts.map((h) => [h.host, h.ok, h.unreachable])).toEqual([
      ['hv1', 1, 0],
      ['hv2', 0, 1],
      ['hv3', 1, 0],
    ]);
    expect(exitCodeFor(merged.summary, false)).toBe(4);
  });

  it('a host missing from a facts shard, and a facts shard mixed with a run shard, are named', () => {
    expect(problems([f1, { file: 'f2.jsonl', text: factsText(2, []) }])).toEqual(['f2.jsonl (shard 2/2) has no result for 1 of its hosts: hv2']);
    const run = { file: 'run.jsonl', text: shardText(['hv2'], header(2, { shard: { index: 2, count: 2, by: 'name' }, split, hosts: ['hv2'] })) };
    expect(problems([f1, run])[0]).toBe("not shards of one run: the command of run.jsonl (run) differs from f1.jsonl's (facts)");
  });
});
