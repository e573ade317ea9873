// --shard, --shard-by and `kvmnet merge` on the command line (the built CLI, as CI runs it); no host is contacted.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardByOption, shardOption } from '../../src/cli/option-parsers.js';
import { assertBuilt, runCli } from './support/cli.js';

const work = mkdtempSync(join(tmpdir(), 'kvmnet-shard-cli-'));
const inv = join(work, 'hosts');
const playbook = join(work, 'site.yaml');
beforeAll(() => {
  assertBuilt();
  const hosts = Array.from({ length: 11 }, (_, i) => `hv${i + 1} site=${['paris', 'lyon', 'nice'][i % 3]}`);
  writeFileSync(inv, `[hv]\n${hosts.join('\n')}\n[hv:vars]\nansible_host=198.18.0.1\n`);
  writeFileSync(playbook, '- name: site\n  hosts: all\n  tasks:\n    - name: step\n      command: {cmd: "true"}\n');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const listed = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('  '))
    .map((l) => l.trim());

describe('option values', () => {
  it.each([
    ['2/3', { index: 2, count: 3 }],
    ['auto', 'auto'],
  ])('--shard %s', (v, want) => {
    expect(shardOption(v)).toEqual(want);
  });
  it.each(['0/3', '4/3', '1/0', 'x', '2', ''])('--shard %j is refused', (v) => {
    expect(() => shardOption(v)).toThrow(InvalidArgumentError);
  });
  it.each([
    ['site', { kind: 'var', name: 'site' }],
    ['group:site_*', { kind: 'group', pattern: 'site_*' }],
  ])('--shard-by %s', (v, want) => {
    expect(shardByOption(v)).toEqual(want);
  });
  it.each(['', 'a-b', 'group:'])('--shard-by %j is refused', (v) => {
    expect(() => shardByOption(v)).toThrow(InvalidArgumentError);
  });
});

describe('run --shard, as N separate processes', () => {
  it('3 processes take disjoint slices that together are every host, by name every 3rd', async () => {
    const slices = await Promise.all([1, 2, 3].map((i) => runCli(['run', playbook, '-i', inv, '--list-hosts', '--shard', `${i}/3`])));
    for (const r of slices) expect(r.code, r.stderr).toBe(0);
    const hosts = slices.map((r) => listed(r.stdout));
    // Code-unit order: hv1, hv10, hv11, hv2, hv3 … hv9
    expect(hosts).toEqual(
      [
        ['hv1', 'hv2', 'hv5', 'hv8'],
        ['hv10', 'hv3', 'hv6', 'hv9'],
        ['hv11', 'hv4', 'hv7'],
      ].map((s) => s.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))),
    );
    expect(slices[0]!.stderr).toContain('shard 1/3 (--shard, by name): 4 of 11 hosts');
  });

  it('--shard-by site keeps each site in one shard', async () => {
    const slices = await Promise.all([1, 2, 3].map((i) => runCli(['run', playbook, '-i', inv, '--list-hosts', '--shard', `${i}/3`, '--shard-by', 'site'])));
    const sites = slices.map((r) => [...new Set(listed(r.stdout).map((h) => ['paris', 'lyon', 'nice'][(Number(h.slice(2)) - 1) % 3]))]);
    expect(sites.map((s) => s.length)).toEqual([1, 1, 1]);
    expect(sites.flat().sort()).toEqual(['lyon', 'nice', 'paris']);
  });

  it.each([
    [{ JOB_COMPLETION_INDEX: '2', KVMNET_SHARD_COUNT: '3' }, 3],
    [{ CI_NODE_INDEX: '2', CI_NODE_TOTAL: '3' }, 2],
    [{ KVMNET_SHARD: '1/3' }, 1],
  ])('--shard auto with %j is shard %i', async (env, index) => {
    const [auto, explicit] = await Promise.all([
      runCli(['run', playbook, '-i', inv, '--list-hosts', '--shard', 'auto'], { env }),
      runCli(['run', playbook, '-i', inv, '--list-hosts', '--shard', `${index}/3`]),
    ]);
    expect(auto.code, auto.stderr).toBe(0);
    expect(listed(auto.stdout)).toEqual(listed(explicit.stdout));
  });

  it.each([
    [['--shard', 'auto'], {}, /--shard auto: none of KVMNET_SHARD/],
    [['--shard', 'auto'], { JOB_COMPLETION_INDEX: '0' }, /KVMNET_SHARD_COUNT is not/],
    [['--shard-by', 'site'], {}, /--shard-by needs --shard/],
    [['--shard', '1/3', '--shard-by', 'rack'], {}, /--shard-by var:rack: 11 hosts without the variable 'rack': hv1, hv2, hv3, hv4, hv5 … and 6 more/],
    [['--shard', '5/3'], {}, /option '--shard <I\/N\|auto>' argument '5\/3' is invalid/],
  ])('%j %j: exit 1, nothing contacted', async (args, env, message) => {
    const r = await runCli(['run', playbook, '-i', inv, ...args], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
  });
});

describe('kvmnet merge on the command line', () => {
  const header = (index: number, split: string[][]) => ({
    event: 'header',
    format: 1,
    command: 'run',
    run_id: 'r',
    check: false,
    tags: null,
    skip_tags: null,
    shard: { index, count: split.length, by: 'name' },
    inventory_sha256: 'a',
    playbook_sha256: 'b',
    extra_vars_sha256: 'c',
    split,
    hosts: split[index - 1],
  });
  const write = (name: string, index: number, split: string[][], outcome: string) => {
    const hosts = split[index - 1]!;
    const recap = (host: string) => ({ host, ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 0, rolled_back: 0, ignored: 0, [outcome]: 1 });
    const lines = [
      header(index, split),
      { event: 'play', play: 'p', hosts, check: false },
      { event: 'summary', hosts: hosts.map(recap), elapsedMs: 1, check: false, notTouched: [], stats: { connections: 1, execs: 1 } },
    ];
    const file = join(work, name);
    writeFileSync(file, lines.map((l) => JSON.stringify({ time: '2026-01-01T00:00:00.000Z', ...l })).join('\n') + '\n');
    return file;
  };
  const split = [['hv1'], ['hv2'], ['hv3']];

  it('writes the merged JSON Lines and the HTML report, prints the recap, exits as the single run would (2: a task failed)', async () => {
    const files = [write('a.jsonl', 1, split, 'ok'), write('b.jsonl', 2, split, 'failed'), write('c.jsonl', 3, split, 'changed')];
    const out = join(work, 'merged.jsonl');
    const report = join(work, 'merged.html');
    const r = await runCli(['merge', ...files, '-o', out, '--report', report]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toMatch(/RECAP\nhv1 +: ok=1 +changed=0 +failed=0[\s\S]*hv2 +: ok=0 +changed=0 +failed=1[\s\S]*3 hosts · ok 1 · changed 1 · failed 1/);
    const events = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map((e) => e.event)).toEqual(['header', 'play', 'summary']);
    expect(readFileSync(report, 'utf8')).toMatch(/^<!doctype html>/i);
  });

  it('a shard that never ran: exit 1, naming its hosts; nothing written', async () => {
    const out = join(work, 'never.jsonl');
    const r = await runCli(['merge', write('a.jsonl', 1, split, 'ok'), write('c.jsonl', 3, split, 'ok'), '-o', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('shard 2/3 never ran (no file has it): its 1 host is missing: hv2');
    expect(() => readFileSync(out)).toThrow(/ENOENT/);
  });
});
