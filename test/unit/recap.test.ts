import { describe, expect, it } from 'vitest';
import { noColors, progressLine, recapText, eventLine, diffLines } from '../../src/report/format.js';
import { emptyRecap, type RunSummary } from '../../src/model/result.js';
import { lineDiff } from '../../src/run/diff.js';

const recap = (host: string, o: Partial<ReturnType<typeof emptyRecap>>) => ({ ...emptyRecap(host), ...o });

describe('recap', () => {
  it('lists every host with its counters, errors, and totals', () => {
    const s: RunSummary = {
      hosts: [recap('hv1', { changed: 4 }), recap('hv2', { ok: 4 }), recap('hv3.example.com', { unreachable: 1, error: 'gathering facts: connection refused' })],
      elapsedMs: 1432,
      check: false,
      notTouched: [],
      stats: { connections: 2, execs: 8 },
    };
    expect(recapText(s, noColors)).toMatchInlineSnapshot(`
      "RECAP
      hv1             : ok=0    changed=4    failed=0    skipped=0    unreachable=0
      hv2             : ok=4    changed=0    failed=0    skipped=0    unreachable=0
      hv3.example.com : ok=0    changed=0    failed=0    skipped=0    unreachable=1
                        gathering facts: connection refused
      3 hosts · ok 4 · changed 4 · failed 0 · skipped 0 · unreachable 1 · 1.4 s"
    `);
  });
  it('groups hosts by batch, says what check mode means, and lists hosts never touched', () => {
    const s: RunSummary = {
      hosts: [recap('hv1', { failed: 1, batch: 1, error: 'refused' }), recap('hv2', { rolled_back: 1, changed: 1, batch: 2 })],
      elapsedMs: 500,
      check: true,
      notTouched: ['hv3', 'hv4'],
      stats: { connections: 2, execs: 2 },
    };
    expect(recapText(s, noColors)).toMatchInlineSnapshot(`
      "RECAP (check mode: nothing was changed)
      batch 1
      hv1      : ok=0    changed=0    failed=1    skipped=0    unreachable=0
                 refused
      batch 2
      hv2      : ok=0    changed=1    failed=0    skipped=0    unreachable=0    rolled_back=1
      never touched (rollout stopped): hv3, hv4
      2 hosts · ok 0 · would change 1 · failed 1 · skipped 0 · unreachable 0 · rolled back 1 · 0.5 s"
    `);
  });
  it('folds finished hosts into one progress line', () => {
    expect(progressLine(4, 10, [recap('a', { ok: 2 }), recap('b', { changed: 1 }), recap('c', { failed: 1 }), recap('d', { unreachable: 1 })])).toBe(
      'done 4/10 · ok 1 · changed 1 · failed 1 · unreachable 1',
    );
  });
  it('prints one line per task outcome, and a diff with removed lines first', () => {
    const e = { host: 'hv1', play: 'p', task: 'address on br0', type: 'ensure_ip', outcome: 'changed' as const, message: 'add 192.168.0.90/24 to br0', changes: [], check: true, durationMs: 3, diff: { before: 'br0: no addresses', after: 'br0: 192.168.0.90/24' } };
    expect(eventLine(e, noColors)).toBe('hv1 | address on br0 | would change | add 192.168.0.90/24 to br0');
    expect(diffLines(e, noColors).map((l) => l.trim())).toEqual(['--- hv1: address on br0 (before)', '+++ hv1: address on br0 (after)', '- br0: no addresses', '+ br0: 192.168.0.90/24']);
  });
  it('line diff keeps common lines', () => {
    expect(lineDiff('a\nb\nc', 'a\nx\nc')).toEqual(['  a', '- b', '+ x', '  c']);
  });
});

describe('ignore_errors', () => {
  it('an ignored failure shows as ignored, not as a failed host', () => {
    const s: RunSummary = { hosts: [recap('hv1', { ok: 2, ignored: 1 })], elapsedMs: 100, check: false, notTouched: [], stats: { connections: 1, execs: 2 } };
    expect(recapText(s, noColors).split('\n')[1]).toBe('hv1      : ok=2    changed=0    failed=0    skipped=0    unreachable=0    ignored=1');
    const e = { host: 'hv1', play: 'p', task: 't', type: 'command', outcome: 'failed' as const, ignored: true, message: 'rc=1', changes: [], check: false, durationMs: 1 };
    expect(eventLine(e, noColors)).toBe('hv1 | t | failed (ignored) | rc=1');
  });
});
