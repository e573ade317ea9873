// One run split over shards — separate kvmnet processes, as the pods of a Kubernetes Indexed Job or
// the jobs of a CI matrix would be — and merged with `kvmnet merge`, gives what one run over every
// host gives: the same per-host outcomes, the same recap, the same exit code, the same real state.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addresses, inventory, jsonEvents, kvmnet, link, netInfo, resetHosts, scratchDir, show, writePlaybook, LAB_HOSTS, type LabHost } from './helpers.js';

// bridged.yaml's first three tasks on every host, and a failure planted on hv2.
const PLAYBOOK = `- name: shards
  hosts: all
  tasks:
    - name: bridge br0 with STP
      ensure_bridge: { name: br0, stp: true }
    - name: uplink eth1 as a port of br0
      ensure_port: { bridge: br0, interface: eth1 }
    - name: address on br0
      ensure_ip: { dev: br0, address: 192.168.0.90/24 }
    - name: planted failure
      command: { cmd: "echo planted on purpose >&2; exit 1" }
      when: inventory_hostname == 'hv2'
`;

interface Outcome {
  /** Per host: each task's name, outcome and changes, in order. */
  tasks: Record<string, Array<[string, string, string[]]>>;
  /** Per host: the recap counters and error. */
  recap: Record<string, Record<string, unknown>>;
  code: number | null;
}

/** What must be equal between a single run and the merged shards: nothing that depends on time. */
function outcomeOf(jsonl: string, code: number | null): Outcome {
  const events = jsonEvents(jsonl);
  const tasks: Outcome['tasks'] = {};
  for (const e of events.filter((x) => x.event === 'task'))
    (tasks[e.host as string] ??= []).push([e.task as string, e.outcome as string, e.changes as string[]]);
  const summary = events.find((e) => e.event === 'summary') as { hosts: Array<Record<string, unknown>> } | undefined;
  if (!summary) throw new Error(`no summary in:\n${jsonl}`);
  const recap = Object.fromEntries(summary.hosts.map(({ host, ...counters }) => [host as string, counters]));
  return { tasks, recap, code };
}

async function realState(h: LabHost) {
  const eth1 = await link(h, 'eth1');
  return {
    br0: (await link(h, 'br0'))?.linkinfo?.info_kind ?? null,
    eth1Master: eth1?.master ?? null,
    br0Addresses: (await link(h, 'br0')) ? await addresses(h, 'br0') : [],
  };
}

describe('shards: N processes, one merged result', () => {
  let dir: string;
  let playbook: string;
  let single: Outcome;
  let singleState: Record<string, unknown>;
  const started = Date.now();

  beforeAll(async () => {
    dir = scratchDir('shards');
    playbook = writePlaybook('shards', PLAYBOOK);
    await resetHosts(LAB_HOSTS);
    // The reference: one run over every host.
    const r = await kvmnet(['run', playbook, '-i', inventory(), '--output', 'json']);
    single = outcomeOf(r.stdout, r.code);
    singleState = Object.fromEntries(await Promise.all(LAB_HOSTS.map(async (h) => [h, await realState(h)])));
    await resetHosts(LAB_HOSTS);
  });

  afterAll(async () => {
    await resetHosts(LAB_HOSTS);
    console.log(`[e2e] shards: ${Date.now() - started} ms`);
  });

  it('the single run is what the shards must reproduce: hv2 failed at the planted task (exit 2), the others changed', () => {
    expect(single.code).toBe(2);
    expect(single.recap.hv2).toMatchObject({ failed: 1, changed: 3 });
    expect(single.recap.hv1).toMatchObject({ failed: 0, changed: 3 });
    expect(singleState.hv1).toEqual({ br0: 'bridge', eth1Master: 'br0', br0Addresses: ['192.168.0.90/24'] });
  });

  it('2 shards from JOB_COMPLETION_INDEX (as Indexed Job pods), one of them failing, merge to the single run', async () => {
    const runs = await Promise.all(
      [0, 1].map((index) =>
        kvmnet(['run', playbook, '-i', inventory(), '--output', 'json', '--shard', 'auto'], {
          env: { JOB_COMPLETION_INDEX: String(index), KVMNET_SHARD_COUNT: '2', KVMNET_RUN_ID: 'e2e-shards-1' },
        }),
      ),
    );
    // By name: shard 1 = hv1, hv3; shard 2 = hv2 (the failing one, on its own exit 2).
    const files = runs.map((r, i) => {
      const file = join(dir, `shard-${i + 1}.jsonl`);
      writeFileSync(file, r.stdout);
      return file;
    });
    expect(
      runs.map((r) => r.code),
      runs.map(show).join('\n'),
    ).toEqual([0, 2]);
    const headers = runs.map((r) => jsonEvents(r.stdout)[0]!);
    expect(headers.map((h) => [h.event, h.shard, h.hosts, h.run_id])).toEqual([
      ['header', { index: 1, count: 2, by: 'name' }, ['hv1', 'hv3'], 'e2e-shards-1'],
      ['header', { index: 2, count: 2, by: 'name' }, ['hv2'], 'e2e-shards-1'],
    ]);
    expect(headers[0]!.playbook_sha256).toBe(headers[1]!.playbook_sha256);

    const mergedFile = join(dir, 'merged.jsonl');
    const report = join(dir, 'merged.html');
    const merged = await kvmnet(['merge', ...files, '-o', mergedFile, '--report', report]);
    expect(merged.code, show(merged)).toBe(single.code);
    const outcome = outcomeOf(readFileSync(mergedFile, 'utf8'), merged.code);
    expect(outcome).toEqual(single);
    expect(merged.stdout).toMatch(/hv2 +: ok=0 +changed=3 +failed=1/);
    expect(readFileSync(report, 'utf8')).toContain('hv2');
    // The hosts are as the single run left them: read from the kernel, not from the report.
    for (const h of LAB_HOSTS) expect(await realState(h), h).toEqual(singleState[h]);
  });

  it('3 shards, one of which never ran: merge refuses (exit 1) and names its hosts; those hosts were not touched', async () => {
    await resetHosts(LAB_HOSTS);
    const env = { KVMNET_RUN_ID: 'e2e-shards-2' };
    // GitLab numbering (CI_NODE_INDEX is 1-based); shard 2 of 3 (hv2) never starts.
    const runs = await Promise.all(
      [1, 3].map((i) =>
        kvmnet(['run', playbook, '-i', inventory(), '--output', 'json', '--shard', 'auto'], { env: { ...env, CI_NODE_INDEX: String(i), CI_NODE_TOTAL: '3' } }),
      ),
    );
    expect(
      runs.map((r) => r.code),
      runs.map(show).join('\n'),
    ).toEqual([0, 0]);
    const files = runs.map((r, i) => {
      const file = join(dir, `never-${i}.jsonl`);
      writeFileSync(file, r.stdout);
      return file;
    });
    const merged = await kvmnet(['merge', ...files, '-o', join(dir, 'never-merged.jsonl')]);
    expect(merged.code, show(merged)).toBe(1);
    expect(merged.stderr).toContain('shard 2/3 never ran (no file has it): its 1 host is missing: hv2');
    expect(await realState('hv2')).toEqual({ br0: null, eth1Master: null, br0Addresses: [] });
    expect(await realState('hv1')).toEqual(singleState.hv1);
    expect(await netInfo('hv2', 'bridged-network')).toBeUndefined();

    // The missing shard runs late (a retried pod): now the three merge, and to the single run (without
    // hv2's planted failure counted twice: it is one host, in one shard).
    const late = await kvmnet(['run', playbook, '-i', inventory(), '--output', 'json', '--shard', '2/3'], { env });
    expect(late.code, show(late)).toBe(2);
    const lateFile = join(dir, 'never-late.jsonl');
    writeFileSync(lateFile, late.stdout);
    const all = await kvmnet(['merge', ...files, lateFile, '-o', join(dir, 'all.jsonl')]);
    expect(all.code, show(all)).toBe(single.code);
    expect(outcomeOf(readFileSync(join(dir, 'all.jsonl'), 'utf8'), all.code)).toEqual(single);
  });

  it('facts in 2 shards merge to one facts output over every host, which `graph --from` draws', async () => {
    const env = { KVMNET_RUN_ID: 'e2e-facts' };
    const [whole, ...shards] = await Promise.all([
      kvmnet(['facts', '-i', inventory(), '--output', 'json']),
      ...[1, 2].map((i) => kvmnet(['facts', '-i', inventory(), '--output', 'json', '--shard', `${i}/2`], { env })),
    ]);
    for (const r of [whole, ...shards]) expect(r.code, show(r)).toBe(0);
    const files = shards.map((r, i) => {
      const file = join(dir, `facts-${i + 1}.jsonl`);
      writeFileSync(file, r.stdout);
      return file;
    });
    const out = join(dir, 'facts-merged.jsonl');
    const merged = await kvmnet(['merge', ...files, '-o', out]);
    expect(merged.code, show(merged)).toBe(0);
    const brief = (jsonl: string) =>
      jsonEvents(jsonl)
        .filter((e) => e.event !== 'header')
        .map((e) => [e.host, e.hostname, (e.bridges as Array<{ name: string }>).map((b) => b.name).sort()]);
    expect(brief(readFileSync(out, 'utf8'))).toEqual(brief(whole.stdout).sort((a, b) => String(a[0]).localeCompare(String(b[0]))));
    expect(brief(readFileSync(out, 'utf8')).map((e) => e[0])).toEqual([...LAB_HOSTS]);
    const svg = await kvmnet(['graph', '--from', out, '--format', 'dot']);
    expect(svg.code, show(svg)).toBe(0);
    for (const h of LAB_HOSTS) expect(svg.stdout).toContain(h);
  });

  it('a shard merged with one of another run (other extra vars) is refused, naming the difference', async () => {
    const other = await kvmnet(['run', playbook, '-i', inventory(), '--output', 'json', '--shard', '2/3', '-e', 'x=1', '--check'], {
      env: { KVMNET_RUN_ID: 'e2e-shards-2' },
    });
    const otherFile = join(dir, 'other.jsonl');
    writeFileSync(otherFile, other.stdout);
    const merged = await kvmnet(['merge', join(dir, 'never-0.jsonl'), otherFile, join(dir, 'never-1.jsonl')]);
    expect(merged.code, show(merged)).toBe(1);
    expect(merged.stderr).toMatch(/the extra vars \(extra_vars_sha256\) of .*other\.jsonl .* differs/);
    expect(merged.stderr).toMatch(/the check mode of .*other\.jsonl \(true\) differs/);
  });
});
