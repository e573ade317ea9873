import { describe, expect, it } from 'vitest';
import { didYouMean, levenshtein, suggest } from '../../src/config/suggest.js';

describe('suggest', () => {
  it.each<[string, number]>([
    ['children|children', 0],
    ['chidren|children', 1],
    ['chlidren|children', 1], // a swap is one edit
    ['kitten|sitting', 3],
    ['|abc', 3],
  ])('levenshtein %s = %d', (pair, d) => {
    const [a, b] = pair.split('|') as [string, string];
    expect(levenshtein(a, b)).toBe(d);
    expect(levenshtein(b, a)).toBe(d);
  });

  it.each<[string, string | undefined]>([
    ['chidren', 'children'],
    ['Hosts', 'hosts'],
    ['var', 'vars'],
    ['child', 'children'], // a prefix
    ['hots', 'hosts'],
    ['banana', undefined],
    ['x', undefined],
  ])('%s → %s', (word, expected) => {
    expect(suggest(word, ['hosts', 'children', 'vars'])).toBe(expected);
  });

  it('formats a hint', () => {
    expect(didYouMean('chidren', ['children'])).toBe(' (did you mean `children`?)');
    expect(didYouMean('zzz', ['children'])).toBe('');
  });
});
