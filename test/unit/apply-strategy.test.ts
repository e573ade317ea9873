import { describe, expect, it } from 'vitest';
import { chooseStrategy, type StrategyInput } from '../../src/run/apply-strategy.js';

const base: StrategyInput = { check: false, linear: false, ignoreErrors: false, fitsBatch: true };

describe('chooseStrategy: how a planned task reaches the host', () => {
  it.each([
    ['check mode sends nothing, whatever else holds', { check: true, guarded: 'the SSH path', confirmGroup: 'g' }, 'check'],
    ['a guarded task of a confirm_group is held for the group', { guarded: 'confirm_group g', confirmGroup: 'g' }, 'group'],
    ['a guarded task alone goes under commit-confirmed', { guarded: 'the play sets confirm: true' }, 'guarded'],
    ['guarded wins over ignore_errors and linear', { guarded: 'x', ignoreErrors: true, linear: true }, 'guarded'],
    ['strategy linear needs each result before the next task', { linear: true }, 'alone'],
    ['ignore_errors needs its own result', { ignoreErrors: true }, 'alone'],
    ['too big for the batch goes alone', { fitsBatch: false }, 'alone'],
    ['everything else is queued', {}, 'batch'],
  ] as const)('%s', (_why, input, want) => {
    expect(chooseStrategy({ ...base, ...input })).toBe(want);
  });
});
