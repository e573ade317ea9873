import { describe, expect, it } from 'vitest';
import { noColors, progressLine, recapText, eventLine, diffLines } from '../../src/report/format.js';
import { emptyRecap, type RunSummary } from '../../src/model/result.js';
import { lineDiff } from '../../src/text/line-diff.js';

const recap = (host: string, o: Partial<ReturnType<typeof emptyRecap>>) => ({ ...emptyRecap(host), ...o });

describe('recap', () => {
  it('lists every host with its counters, errors, and totals', () => {
    const s: RunSummary = {
      hosts: [
        recap('hv1', { changed: 4 }),
        recap('hv2', { ok: 4 }),
        recap('hv3.example.com', { unreachable: 1, error: 'gathering facts: connection refused' }),
      ],
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
    const e = {
      host: 'hv1',
      play: 'p',
      task: 'address on br0',
      type: 'ensure_ip',
      outcome: 'changed' as const,
      message: 'add 192.168.0.90/24 to br0',
      changes: [],
      check: true,
      durationMs: 3,
      diff: { before: 'br0: no addresses', after: 'br0: 192.168.0.90/24' },
    };
    expect(eventLine(e, noColors)).toBe('hv1 | address on br0 | would change | add 192.168.0.90/24 to br0');
    expect(diffLines(e, noColors).map((l) => l.trim())).toEqual([
      '--- hv1: address on br0 (before)',
      '+++ hv1: address on br0 (after)',
      '- br0: no addresses',
      '+ br0: 192.168.0.90/24',
    ]);
  });
  it('line diff keeps common lines', () => {
    expect(lineDiff('a\nb\nc', 'a\nx\nc')).toEqual(['  a', '- b', '+ x', '  c']);
  });
});

describe('ignore_errors', () => {
  it('an ignored failure shows as ignored, not as a failed host', () => {
    const s: RunSummary = { hosts: [recap('hv1', { ok: 2, ignored: 1 })], elapsedMs: 100, check: false, notTouched: [], stats: { connections: 1, execs: 2 } };
    expect(recapText(s, noColors).split('\n')[1]).toBe('hv1      : ok=2    changed=0    failed=0    skipped=0    unreachable=0    ignored=1');
    const e = {
      host: 'hv1',
      play: 'p',
      task: 't',
      type: 'command',
      outcome: 'failed' as const,
      ignored: true,
      message: 'rc=1',
      changes: [],
      check: false,
      durationMs: 1,
    };
    expect(eventLine(e, noColors)).toBe('hv1 | t | failed (ignored) | rc=1');
  });
});

describe('recap at fleet scale', () => {
  const fleet = (n: number, o: (i: number) => Partial<ReturnType<typeof emptyRecap>>): RunSummary => ({
    hosts: Array.from({ length: n }, (_, i) => recap(`hv${i + 1}`, o(i + 1))),
    elapsedMs: 7012,
    check: false,
    notTouched: [],
    stats: { connections: n, execs: 2 * n },
  });
  const planted = (i: number) =>
    i === 7
      ? { changed: 1, failed: 1, error: 'planted failure: command failed (rc=1), no output' }
      : i === 21
        ? { unreachable: 1, error: 'connect: timed out' }
        : i % 10 === 0
          ? { ok: 2 }
          : { changed: 2 };

  it('groups hosts with the same counters under inventory ranges once one line per host would not fit; failed hosts keep their line and error', () => {
    expect(recapText(fleet(30, planted), noColors, { mode: 'fit', lines: 22 })).toMatchInlineSnapshot(`
      "RECAP · hosts with the same counters on one line (every host: -v or --recap full)
      hv[1:6],hv8,hv9,hv[11:19],hv[22:29] : ok=0    changed=2    failed=0    skipped=0    unreachable=0    (25 hosts)
      hv10,hv20,hv30                      : ok=2    changed=0    failed=0    skipped=0    unreachable=0    (3 hosts)
      hv7                                 : ok=0    changed=1    failed=1    skipped=0    unreachable=0
                                            planted failure: command failed (rc=1), no output
      hv21                                : ok=0    changed=0    failed=0    skipped=0    unreachable=1
                                            connect: timed out
      30 hosts · ok 6 · changed 51 · failed 1 · skipped 0 · unreachable 1 · 7.0 s"
    `);
  });
  it('prints every host when that fits, or when asked for (-v, --recap full)', () => {
    const small = recapText(fleet(5, planted), noColors, { mode: 'fit', lines: 22 });
    expect(small.split('\n')).toHaveLength(1 + 5 + 1); // RECAP, hv1…hv5, totals
    expect(
      recapText(fleet(30, planted), noColors, { mode: 'full' })
        .split('\n')
        .filter((l) => /^hv\d+ +: ok=/.test(l)),
    ).toHaveLength(30);
  });
  it('groups within each batch and writes the hosts never touched as ranges too', () => {
    const s = fleet(12, (i) => ({ changed: 1, batch: i <= 2 ? 1 : 2, ...(i === 4 ? { failed: 1, error: 'boom' } : {}) }));
    s.hosts = s.hosts.slice(0, 6);
    s.notTouched = ['hv7', 'hv8', 'hv9', 'hv10', 'hv11', 'hv12'];
    expect(recapText(s, noColors, { mode: 'fit', lines: 5 })).toMatchInlineSnapshot(`
      "RECAP · hosts with the same counters on one line (every host: -v or --recap full)
      batch 1
      hv1,hv2     : ok=0    changed=1    failed=0    skipped=0    unreachable=0    (2 hosts)
      batch 2
      hv3,hv5,hv6 : ok=0    changed=1    failed=0    skipped=0    unreachable=0    (3 hosts)
      hv4         : ok=0    changed=1    failed=1    skipped=0    unreachable=0
                    boom
      never touched (rollout stopped): hv[7:12]
      6 hosts · ok 0 · changed 6 · failed 1 · skipped 0 · unreachable 0 · 7.0 s"
    `);
  });
});

describe('recap after an interruption', () => {
  it('names the tasks that never started under their host', () => {
    const s: RunSummary = {
      hosts: [recap('hv1', { changed: 1, notStarted: ['ensure_port eth1 → br0', 'ensure_ip 192.168.0.90/24 on br0'] })],
      elapsedMs: 1200,
      check: false,
      notTouched: [],
      stats: { connections: 1, execs: 2 },
    };
    expect(recapText(s, noColors)).toContain('never started: ensure_port eth1 → br0, ensure_ip 192.168.0.90/24 on br0');
  });
});
