import { describe, expect, it } from 'vitest';
import { splitWords } from '../../src/config/ini.js';
import { expandHostEntry } from '../../src/config/inventory-hosts.js';
import { parseIniValue } from '../../src/config/inventory-literal.js';
import { detectFormat } from '../../src/config/inventory-sources.js';

describe('parseIniValue (Ansible: ast.literal_eval, else the raw text)', () => {
  it.each<[string, unknown]>([
    ['22', 22],
    ['-5', -5],
    ['1_000', 1000],
    ['0x1F', 31],
    ['1.5', 1.5],
    ['1e3', 1000],
    ['True', true],
    ['False', false],
    ['None', null],
    ['true', 'true'], // Python has no `true`: stays a string, as in Ansible
    ['yes', 'yes'],
    ['007', '007'], // Python 3 rejects leading zeros
    ['000', 0],
    ["'quoted'", 'quoted'],
    ['"a\\tb"', 'a\tb'],
    ["'a' 'b'", 'ab'],
    ["['8.8.8.8', '1.1.1.1']", ['8.8.8.8', '1.1.1.1']],
    ['(1, 2)', [1, 2]],
    ['(1)', 1],
    ["{'mtu': 9000, 'stp': True}", { mtu: 9000, stp: true }],
    ['{1, 2}', [1, 2]],
    ['{}', {}],
    ['9000 # comment', 9000],
    ['eth1 # comment', 'eth1 # comment'],
    ['192.168.0.90/24', '192.168.0.90/24'],
    ['1j', '1j'],
    ['12abc', '12abc'],
    ['', ''],
    ['[1, 2', '[1, 2'],
    ["f'x'", "f'x'"],
  ])('%j → %j', (text, value) => {
    expect(parseIniValue(text)).toEqual(value);
  });

  it('keeps integers beyond 2^53 exact, as Python ints (bigints)', () => {
    expect(parseIniValue('99999999999999999999')).toBe(99999999999999999999n);
    expect(parseIniValue('-0x1FFFFFFFFFFFFFFFFF')).toBe(-0x1fffffffffffffffffn);
    expect(parseIniValue('[9007199254740993, 1]')).toEqual([9007199254740993n, 1]);
    expect(parseIniValue('9007199254740991')).toBe(9007199254740991);
  });

  it('survives absurd nesting', () => {
    expect(parseIniValue('['.repeat(10_000))).toBe('['.repeat(10_000));
  });
});

describe('splitWords (shlex, posix)', () => {
  it.each<[string, string[]]>([
    ['hv1 a=1 b=2', ['hv1', 'a=1', 'b=2']],
    ['hv1 note="two words"', ['hv1', 'note=two words']],
    ["hv1 p='a\"b'", ['hv1', 'p=a"b']],
    ['hv1 p="a\\"b"', ['hv1', 'p=a"b']],
    ['hv1 p=a\\ b', ['hv1', 'p=a b']],
    ['hv1 # comment a=1', ['hv1']],
    ['hv1 pass#word', ['hv1', 'pass']], // as in shlex: `#` starts a comment even inside a word
    ['hv1 secret="\'03#pa33w0rd\'"', ['hv1', "secret='03#pa33w0rd'"]],
    ['hv1 e=""', ['hv1', 'e=']],
  ])('%j', (line, words) => {
    expect(splitWords(line, true).words.map((w) => w.value)).toEqual(words);
  });

  it('gives word offsets and quote errors', () => {
    expect(splitWords('  hv1  a=1', true).words).toEqual([
      { value: 'hv1', start: 2 },
      { value: 'a=1', start: 7 },
    ]);
    expect(splitWords("a b='x", false).error).toEqual({ message: "unterminated single quote: expected a closing '", offset: 4 });
    expect(splitWords('a\\', false).error?.offset).toBe(1);
  });
});

describe('expandHostEntry', () => {
  it.each<[string, ReturnType<typeof expandHostEntry>]>([
    ['hv1.example.com', { names: ['hv1.example.com'] }],
    ['hv1.example.com:2222', { names: ['hv1.example.com'], port: 2222 }],
    ['hv[1:3]', { names: ['hv1', 'hv2', 'hv3'] }],
    ['hv[:2]', { names: ['hv0', 'hv1', 'hv2'] }],
    ['hv[01:03]:2200', { names: ['hv01', 'hv02', 'hv03'], port: 2200 }],
    ['hv[1:5:2]', { names: ['hv1', 'hv3', 'hv5'] }],
    ['r[a:b]-h[1:2]', { names: ['ra-h1', 'ra-h2', 'rb-h1', 'rb-h2'] }],
    ['[::1]:22', { names: ['::1'], port: 22 }],
    ['fe80::1', { names: ['fe80::1'] }],
    ['10.0.0.1', { names: ['10.0.0.1'] }],
    ['', { error: 'empty host name' }],
    ['hv1:', { error: "host entry 'hv1:' ends in ':': expected a port number after it" }],
    ['hv1:0', { error: "invalid port '0' in host entry 'hv1:0': expected a number from 1 to 65535" }],
    ['hv[1:2', { error: "host name 'hv[1:2' has a '[' without a matching ']'" }],
    ['hv]1', { error: "host name 'hv]1' has a ']' without a matching '['" }],
    ['hv[1]', { error: "host range '[1]' in 'hv[1]': expected [begin:end] or [begin:end:step]" }],
    ['hv[1:]', { error: "host range '[1:]' in 'hv[1:]' has no end value" }],
    ['hv[01:100]', { error: "host range '[01:100]' in 'hv[01:100]': zero-padded begin and end must have the same width" }],
    ['hv[a:9]', { error: "host range '[a:9]' in 'hv[a:9]': bounds must be both numbers or both single letters" }],
    ['hv[1:9:0]', { error: "host range '[1:9:0]' in 'hv[1:9:0]': step '0' must be a positive integer" }],
    ['hv[0:99999]', { error: "host range 'hv[0:99999]' expands to more than 10000 hosts" }],
    ['h[0:99]x[0:99]y[0:99]', { error: "host range 'h[0:99]x[0:99]y[0:99]' expands to more than 10000 hosts" }],
    ['a,b', { error: "host name 'a,b' contains ',' (a comma separates host patterns)" }],
  ])('%j', (entry, expected) => {
    expect(expandHostEntry(entry)).toEqual(expected);
  });
});

describe('detectFormat', () => {
  it.each<[string, string, 'yaml' | 'ini']>([
    ['hosts.yml', '[x]', 'yaml'],
    ['hosts.ini', 'all:', 'ini'],
    ['hosts.json', '{}', 'yaml'],
    ['hosts', '# c\n\nall:\n  hosts:\n', 'yaml'],
    ['hosts', '---\nall:\n', 'yaml'],
    ['hosts', '{"all": {}}', 'yaml'],
    ['hosts', '[rack1]\nhv1\n', 'ini'],
    ['hosts', 'hv1:2222 user=root\n', 'ini'],
    ['hosts', '; c\nhv1\n', 'ini'],
    ['hosts', '', 'ini'],
  ])('%s %j → %s', (file, text, kind) => {
    expect(detectFormat(file, text)).toBe(kind);
  });
});
