import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { hostPattern, labHostCount, labPrefix, nonEmpty, seconds, tagList, wholeNumber } from '../../src/cli/option-parsers.js';

const forks = wholeNumber(1, 10_000);

describe('option parsers accept what they should, as the right value', () => {
  it.each([
    ['forks 1', () => forks('1'), 1],
    ['forks 10000', () => forks('10000'), 10_000],
    ['forks with spaces', () => forks(' 7 '), 7],
    ['seconds 0.5', () => seconds(false)('0.5'), 0.5],
    ['seconds .5', () => seconds(false)('.5'), 0.5],
    ['seconds 86400', () => seconds(false)('86400'), 86_400],
    ['wait-lock 0', () => seconds(true)('0'), 0],
    ['tags', () => tagList('net, bridges,,'), ['net', 'bridges']],
    ['host pattern', () => hostPattern('rack1:!hv2*'), 'rack1:!hv2*'],
    ['limit file', () => hostPattern('@site.retry'), '@site.retry'],
    ['limit with a range', () => hostPattern('hv[01:20]:!hv05'), 'hv[01:20]:!hv05'],
    ['limit excluding an IPv6 host', () => hostPattern('all,!2001:db8::11'), 'all,!2001:db8::11'],
    ['limit with an intersection', () => hostPattern('rack1:&kvm'), 'rack1:&kvm'],
    ['lab hosts 200', () => labHostCount('200'), 200],
    ['lab prefix', () => labPrefix('kvl2'), 'kvl2'],
    ['non-empty', () => nonEmpty('a file')('x.yaml'), 'x.yaml'],
  ])('%s', (_name, parse, expected) => {
    expect(parse()).toEqual(expected);
  });
});

describe('option parsers refuse with InvalidArgumentError saying what is expected', () => {
  it.each([
    ['forks 0', () => forks('0'), /whole number from 1 to 10000/],
    ['forks -1', () => forks('-1'), /whole number/],
    ['forks 1.5', () => forks('1.5'), /whole number/],
    ['forks 1e3', () => forks('1e3'), /whole number/],
    ['forks 0x10', () => forks('0x10'), /whole number/],
    ['forks empty', () => forks(''), /whole number/],
    ['forks above the maximum', () => forks('10001'), /to 10000/],
    ['forks beyond safe integers', () => forks('99999999999999999999'), /whole number/],
    ['seconds 0', () => seconds(false)('0'), /above 0/],
    ['seconds -1', () => seconds(false)('-1'), /seconds/],
    ['seconds abc', () => seconds(false)('abc'), /seconds/],
    ['seconds Infinity', () => seconds(false)('Infinity'), /seconds/],
    ['seconds above a day', () => seconds(false)('86401'), /up to 86400/],
    ['wait-lock empty (Number("") is 0)', () => seconds(true)(''), /from 0/],
    ['wait-lock x', () => seconds(true)('x'), /seconds/],
    ['tags empty', () => tagList(''), /one or more comma-separated tags/],
    ['tags only commas', () => tagList(' , ,'), /tags/],
    ['limit empty', () => hostPattern(''), /host pattern/],
    ['limit only separators', () => hostPattern(' :,'), /host pattern/],
    ["limit '!' (would select every host)", () => hostPattern('!'), /Expected a host or group after '!'/],
    ["limit 'hv1:!'", () => hostPattern('hv1:!'), /after '!'/],
    ["limit 'rack1,&'", () => hostPattern('rack1,&'), /after '&'/],
    ['lab hosts 0', () => labHostCount('0'), /from 1 to 200/],
    ['lab hosts 201', () => labHostCount('201'), /from 1 to 200/],
    ['lab prefix with a space', () => labPrefix('a b'), /lowercase letter/],
    ['lab prefix too long', () => labPrefix('abcdefg'), /1 to 6 characters/],
    ['empty file name', () => nonEmpty('a playbook file')(' '), /Expected a playbook file/],
  ])('%s', (_name, parse, message) => {
    let thrown: unknown;
    try {
      parse();
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(InvalidArgumentError);
    expect((thrown as Error).message).toMatch(message);
  });
});
