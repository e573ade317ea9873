import { describe, expect, it } from 'vitest';
import { JsonReporter } from '../../src/report/json.js';

describe('JsonReporter', () => {
  it('writes one JSON object per line, each with the time it was written (ISO 8601, ms)', () => {
    const lines: string[] = [];
    const before = Date.now();
    const reporter = new JsonReporter((l) => lines.push(l));
    reporter.warn('careful');
    reporter.batchStart(1, 2, ['hv1']);
    const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map(({ time: _t, ...e }) => e)).toEqual([
      { event: 'warning', message: 'careful' },
      { event: 'batch', batch: 1, batches: 2, hosts: ['hv1'] },
    ]);
    for (const e of events) {
      expect(e.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(Date.parse(e.time as string)).toBeGreaterThanOrEqual(before - 1);
    }
  });
});
