import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { displayWidth, fit, layoutLive, type LiveSnapshot } from '../../src/report/live-layout.js';

const hosts = (n: number, task: (i: number) => string) => Array.from({ length: n }, (_, i) => ({ host: `hv${i + 1}`, task: task(i + 1) }));
const base: LiveSnapshot = {
  title: 'NAT networks for guests',
  totals: 'done 2/30 · ok 0 · changed 1 · failed 1 · unreachable 0',
  running: [],
  failed: [{ host: 'hv7', outcome: 'failed', error: 'planted failure: command failed (rc=1), no output' }],
  waiting: 0,
};
const show = (s: LiveSnapshot, rows: number, columns = 110) =>
  '\n' +
  layoutLive(s, { rows, columns })
    .map((l) => l.text)
    .join('\n') +
  '\n';

describe('layoutLive', () => {
  it('lists every host in progress when they fit', () => {
    expect(show({ ...base, running: hosts(3, () => 'NAT network net10'), batch: 'batch 1/3 (10 hosts)', waiting: 5 }, 24)).toMatchInlineSnapshot(`
      "
      NAT networks for guests · running 3 · waiting 5
      done 2/30 · ok 0 · changed 1 · failed 1 · unreachable 0 · batch 1/3 (10 hosts)
      ✖ hv7: failed: planted failure: command failed (rc=1), no output
      ⠋ hv1: NAT network net10
      ⠋ hv2: NAT network net10
      ⠋ hv3: NAT network net10
      "
    `);
  });
  it('groups hosts in progress by their current task when one line each would not fit (a group of one is a host line)', () => {
    const running = hosts(28, (i) => (i === 28 ? 'address on br0' : i % 5 === 0 ? "libvirt's default network" : 'NAT network net10'));
    expect(show({ ...base, running }, 24)).toMatchInlineSnapshot(`
      "
      NAT networks for guests · running 28 · waiting 0
      done 2/30 · ok 0 · changed 1 · failed 1 · unreachable 0
      ✖ hv7: failed: planted failure: command failed (rc=1), no output
      ⠋ NAT network net10: 22 hosts (hv[1:4],hv[6:9],hv[11:14],hv[16:19],hv[21:24],hv26,hv27)
      ⠋ libvirt's default network: 5 hosts (hv5,hv10,hv15,hv20,hv25)
      ⠋ hv28: address on br0
      "
    `);
  });
  it('fills what is left and counts the rest when even the tasks would not fit', () => {
    expect(show({ ...base, running: hosts(28, (i) => `step ${i}`) }, 8)).toMatchInlineSnapshot(`
      "
      NAT networks for guests · running 28 · waiting 0
      done 2/30 · ok 0 · changed 1 · failed 1 · unreachable 0
      ✖ hv7: failed: planted failure: command failed (rc=1), no output
      ⠋ hv1: step 1
      ⠋ hv2: step 2
      ⠋ hv3: step 3
      … and 25 more in progress
      "
    `);
  });
  it('keeps one row for the hosts in progress when failures would fill the screen', () => {
    const failed = Array.from({ length: 12 }, (_, i) => ({ host: `hv${i + 1}`, outcome: i % 4 ? 'failed' : 'unreachable', error: 'boom' }));
    expect(show({ ...base, failed, running: hosts(18, () => 'x').map((r, i) => ({ ...r, host: `hv${i + 13}` })) }, 8)).toMatchInlineSnapshot(`
      "
      NAT networks for guests · running 18 · waiting 0
      done 2/30 · ok 0 · changed 1 · failed 1 · unreachable 0
      ✖ hv1: unreachable: boom
      ✖ hv2: failed: boom
      ✖ hv3: failed: boom
      ✖ … and 9 more failed or unreachable (hv[4:12])
      ⠋ x: 18 hosts (hv[13:30])
      "
    `);
  });
  it('shows only the totals and the batch on a screen of one or two rows, cut to its width', () => {
    expect(show({ ...base, batch: 'batch 2/2 (20 hosts)', running: hosts(5, () => 'x') }, 2, 60)).toMatchInlineSnapshot(`
      "
      done 2/30 · ok 0 · changed 1 · failed 1 · unreachable 0 · …
      "
    `);
  });

  it('never draws more lines than the screen has, nor wider ones, and always shows the totals', () => {
    const name = fc.string({ minLength: 1, maxLength: 40, unit: fc.constantFrom('a', 'b', '-', ' ', '界', '\n', 'é', '⚡') });
    const snap = fc.record({
      title: name,
      totals: fc.constant('done 1/9 · ok 1 · changed 0 · failed 0 · unreachable 0'),
      running: fc.array(fc.record({ host: name, task: fc.constantFrom('a', 'b', 'c', 'd', 'a long task name that goes on') }), { maxLength: 80 }),
      failed: fc.array(fc.record({ host: name, outcome: fc.constantFrom('failed', 'unreachable'), error: name }), { maxLength: 30 }),
      waiting: fc.nat(500),
    });
    fc.assert(
      fc.property(snap, fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 200 }), (s, rows, columns) => {
        const lines = layoutLive(s, { rows, columns });
        expect(lines.length).toBeLessThanOrEqual(Math.max(1, rows - 1));
        for (const l of lines) expect(displayWidth(l.text)).toBeLessThanOrEqual(Math.max(10, columns - 1));
        expect(lines.filter((l) => l.tone === 'totals')).toHaveLength(1);
        // Failures come before the hosts in progress; nothing is listed twice.
        const tones = lines.map((l) => l.tone).join(' ');
        expect(tones).not.toMatch(/(running|more).*failed/);
      }),
    );
  });
});

describe('fit', () => {
  it.each<[string, number, string]>([
    ['short', 10, 'short'],
    ['exactly ten', 11, 'exactly ten'],
    ['one too long', 11, 'one too lo…'],
    ['界界界界', 5, '界界…'], // wide characters take two cells
    ['a\nb', 5, 'a b'], // a newline in a task name would break the frame
  ])('%j in %i cells', (text, width, expected) => {
    expect(fit(text, width)).toBe(expected);
    expect(displayWidth(fit(text, width))).toBeLessThanOrEqual(width);
  });
});
