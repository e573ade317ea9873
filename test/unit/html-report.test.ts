// The HTML run report: read from JSON events (as --output json writes them), failures first,
// timeline from the events' times, self-contained.
import { describe, expect, it } from 'vitest';
import type { HostRecap, RunSummary, TaskEvent } from '../../src/model/result.js';
import { RecordingReporter } from '../../src/report/html-recorder.js';
import { runReportHtml } from '../../src/report/html-report.js';
import { hostRecaps, hostsWorstFirst, parseRunLog, timeline } from '../../src/report/html-run-log.js';
import type { Reporter } from '../../src/run/reporter.js';

const task = (
  host: string,
  name: string,
  outcome: TaskEvent['outcome'],
  time: string,
  durationMs: number,
  extra: Partial<TaskEvent> = {},
): Record<string, unknown> => ({
  time,
  event: 'task',
  host,
  play: 'bridged',
  task: name,
  type: 'ensure_bridge',
  outcome,
  message: outcome === 'failed' ? 'RTNETLINK answers: Operation not permitted' : 'done',
  changes: outcome === 'changed' ? [`create bridge ${name}`] : [],
  check: false,
  durationMs,
  ...extra,
});
const recap = (host: string, r: Partial<HostRecap>): HostRecap => ({
  host,
  ok: 0,
  changed: 0,
  failed: 0,
  skipped: 0,
  unreachable: 0,
  rolled_back: 0,
  ignored: 0,
  ...r,
});

const EVENTS = [
  { time: '2026-01-01T10:00:00.000Z', event: 'play', play: 'bridged', hosts: ['hv1', 'hv2', 'hv3'], check: false },
  task('hv1', 'br0', 'changed', '2026-01-01T10:00:01.000Z', 800, {
    diff: { before: 'eth1 down', after: 'eth1 up master br0', notes: ['guest vm1 loses connectivity'] },
  }),
  task('hv2', 'br0', 'ok', '2026-01-01T10:00:00.500Z', 300),
  task('hv3', 'br0', 'failed', '2026-01-01T10:00:02.000Z', 1500),
  { time: '2026-01-01T10:00:02.100Z', event: 'warning', message: 'hv3: <b>careful</b>' },
  {
    time: '2026-01-01T10:00:03.000Z',
    event: 'summary',
    hosts: [recap('hv1', { changed: 1 }), recap('hv2', { ok: 1 }), recap('hv3', { failed: 1, error: 'br0: RTNETLINK answers: Operation not permitted' })],
    elapsedMs: 3000,
    check: false,
    notTouched: [],
    stats: { connections: 3, execs: 6 },
  },
];
const JSONL = EVENTS.map((e) => JSON.stringify(e)).join('\n') + '\n';

describe('run log', () => {
  it('hosts worst first: failed, then changed, then ok', () => {
    expect(hostsWorstFirst(hostRecaps(parseRunLog(JSONL, 'r.jsonl'))).map((r) => r.host)).toEqual(['hv3', 'hv1', 'hv2']);
  });

  it('a run cut short (no summary): the recap is counted from the task events', () => {
    const cut = JSONL.split('\n')
      .filter((l) => !l.includes('"summary"'))
      .join('\n');
    expect(hostRecaps(parseRunLog(cut, 'r.jsonl'))).toEqual([
      recap('hv1', { changed: 1 }),
      recap('hv2', { ok: 1 }),
      recap('hv3', { failed: 1, error: 'br0: RTNETLINK answers: Operation not permitted' }),
    ]);
  });

  it('timeline: a task ends at its time and took its duration; the run starts at the play', () => {
    const t = timeline(parseRunLog(JSONL, 'r.jsonl'));
    expect(t.totalMs).toBe(3000);
    expect(t.bars.map((b) => [b.host, b.start, b.end])).toEqual([
      ['hv1', 200, 1000],
      ['hv2', 200, 500],
      ['hv3', 500, 2000],
    ]);
  });

  it.each([
    ['{"event":"task"', 'r.jsonl:1: not JSON'],
    ['{"host":"hv1"}', 'r.jsonl:1: expected an event object'],
    ['', 'r.jsonl: no run events in it'],
  ])('rejects %j', (text, message) => {
    expect(() => parseRunLog(text, 'r.jsonl')).toThrow(message);
  });
});

describe('the page', () => {
  const html = runReportHtml(parseRunLog(JSONL, 'r.jsonl'), { title: 'report <x>', topologyNote: 'no picture' });

  it('the failed host comes first, in the recap and in the host sections', () => {
    expect([...html.matchAll(/<tr class="recap (\w+)" data-host="(\w+)"/g)].map((m) => `${m[2]}:${m[1]}`)).toEqual(['hv3:failed', 'hv1:changed', 'hv2:ok']);
    expect([...html.matchAll(/<section class="host (\w+)" id="host-(\w+)"/g)].map((m) => `${m[2]}:${m[1]}`)).toEqual(['hv3:failed', 'hv1:changed', 'hv2:ok']);
    expect(html).toContain('1 of 3 hosts failed');
  });

  it("each task's outcome, duration and diff; text is escaped", () => {
    expect(html).toContain('<td class="num">800 ms</td>');
    expect(html).toContain('<td class="num">1.5 s</td>');
    expect(html).toContain('<span class="del">- eth1 down</span>');
    expect(html).toContain('<span class="add">+ eth1 up master br0</span>');
    expect(html).toContain('! guest vm1 loses connectivity');
    expect(html).toContain('hv3: &lt;b&gt;careful&lt;/b&gt;');
    expect(html).toContain('<title>report &lt;x&gt;</title>');
  });

  it('a timeline bar per task, coloured by outcome', () => {
    expect(html.match(/<rect /g)).toHaveLength(3);
    expect(html).toContain('<title>hv3 · br0 · failed · 1.5 s</title>');
  });

  it('a rollout in batches: a batch column and one row per batch', () => {
    const batched = EVENTS.map((e) => (e.event === 'summary' ? { ...e, hosts: (e.hosts as HostRecap[]).map((h, i) => ({ ...h, batch: i < 2 ? 1 : 2 })) } : e));
    const page = runReportHtml(parseRunLog(batched.map((e) => JSON.stringify(e)).join('\n'), 'r.jsonl'), { title: 't' });
    expect(page).toContain('<th>batch</th>');
    expect([...page.matchAll(/<tr><td>(\d)<\/td><td>(\d)<\/td><td>(\d)<\/td><td>(\d)<\/td><td>([^<]*)<\/td><\/tr>/g)].map((m) => m.slice(1).join(' '))).toEqual(
      ['1 2 1 0 hv1, hv2', '2 1 0 1 hv3'],
    );
  });

  it('self-contained: no script, no external resource', () => {
    expect(html).not.toMatch(/<script|<link |<img |src="|url\(|href="http/);
  });
});

describe('RecordingReporter', () => {
  it('passes every call on and keeps the events the report needs', async () => {
    const calls: string[] = [];
    const inner: Reporter = {
      playStart: () => void calls.push('playStart'),
      batchStart: () => void calls.push('batchStart'),
      taskStart: () => void calls.push('taskStart'),
      taskDone: () => void calls.push('taskDone'),
      hostDone: () => void calls.push('hostDone'),
      warn: () => void calls.push('warn'),
      finish: () => void calls.push('finish'),
    };
    const r = new RecordingReporter(inner);
    const { time: _t, event: _e, ...e } = task('hv1', 'br0', 'changed', '', 10) as unknown as TaskEvent & { time: string; event: string };
    r.playStart({ name: 'p' } as never, ['hv1'], false);
    r.batchStart(1, 1, ['hv1']);
    r.taskStart('hv1', 'br0');
    r.taskDone(e);
    r.hostDone(recap('hv1', { changed: 1 }));
    r.warn('w');
    await r.finish({
      hosts: [recap('hv1', { changed: 1 })],
      elapsedMs: 5,
      check: false,
      notTouched: [],
      stats: { connections: 1, execs: 1 },
    } satisfies RunSummary);
    expect(calls).toEqual(['playStart', 'batchStart', 'taskStart', 'taskDone', 'hostDone', 'warn', 'finish']);
    expect(r.log.plays.map((p) => p.play)).toEqual(['p']);
    expect(r.log.tasks.map((t) => [t.host, t.outcome])).toEqual([['hv1', 'changed']]);
    expect(r.log.summary?.hosts.map((h) => h.host)).toEqual(['hv1']);
    for (const t of [...r.log.plays, ...r.log.batches, ...r.log.warnings, r.log.summary!]) expect(t.time).toMatch(/^\d{4}-\d\d-\d\dT/);
  });
});
