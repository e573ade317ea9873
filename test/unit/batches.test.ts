import { describe, expect, it } from 'vitest';
import { batchSizes, exceedsFailThreshold, splitBatches } from '../../src/run/batches.js';
import { LinearBarrier } from '../../src/run/barrier.js';
import { parseTagList, taskSelected } from '../../src/run/tags.js';

describe('serial batches (Ansible arithmetic)', () => {
  it.each([
    [undefined, 10, [10]],
    [[3], 10, [3, 3, 3, 1]],
    [['25%'], 10, [2, 2, 2, 2, 2]],
    [['30%'], 10, [3, 3, 3, 1]],
    [['10%'], 5, [1, 1, 1, 1, 1]],
    [[1, 5, '25%'], 20, [1, 5, 5, 5, 4]],
    [[1, '50%'], 6, [1, 3, 2]],
    [[1, '50%'], 3, [1, 1, 1]],
    [[100], 4, [4]],
    [['100%'], 7, [7]],
    [[2], 0, []],
  ] as const)('serial %j over %i hosts → %j', (serial, total, sizes) => {
    expect(batchSizes(serial as never, total)).toEqual(sizes);
  });

  it('keeps host order across batches', () => {
    expect(splitBatches(['a', 'b', 'c', 'd', 'e'], [1, 2])).toEqual([['a'], ['b', 'c'], ['d', 'e']]);
  });

  it('stops only when the failed share exceeds max_fail_percentage', () => {
    expect(exceedsFailThreshold(1, 4, 25)).toBe(false);
    expect(exceedsFailThreshold(2, 4, 25)).toBe(true);
    expect(exceedsFailThreshold(1, 1, 0)).toBe(true);
    expect(exceedsFailThreshold(0, 3, 0)).toBe(false);
    expect(exceedsFailThreshold(5, 5, undefined)).toBe(false);
    expect(exceedsFailThreshold(1, 3, 33.3)).toBe(true);
    expect(exceedsFailThreshold(1, 3, 34)).toBe(false);
  });
});

describe('linear barrier', () => {
  it('releases a task only when every active host arrived, and not for hosts that left', async () => {
    const b = new LinearBarrier(3);
    const order: string[] = [];
    const a = b.arrive(0).then(() => order.push('a'));
    const c = b.arrive(0).then(() => order.push('c'));
    await Promise.resolve();
    expect(order).toEqual([]);
    b.leave();
    await Promise.all([a, c]);
    expect(order.sort()).toEqual(['a', 'c']);
  });
});

describe('tags', () => {
  const t = (...tags: string[]) => ({ tags });
  it.each([
    [t(), {}, true],
    [t('net'), { tags: ['net'] }, true],
    [t('net'), { tags: ['other'] }, false],
    [t('always'), { tags: ['other'] }, true],
    [t('always'), { skipTags: ['always'] }, false],
    [t('never'), {}, false],
    [t('never', 'debug'), { tags: ['debug'] }, true],
    [t('net'), { skipTags: ['net'] }, false],
    [t(), { tags: ['untagged'] }, true],
    [t('x'), { tags: ['tagged'] }, true],
  ])('%j with %j → %s', (task, filter, want) => {
    expect(taskSelected(task, filter)).toBe(want);
  });
  it('parses comma lists', () => expect(parseTagList(' a, b ,,c')).toEqual(['a', 'b', 'c']));
});
