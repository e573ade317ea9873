import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadInventory, type Inventory } from '../../src/config/inventory.js';
import { readLimit, selectHosts, splitPattern } from '../../src/config/patterns.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/inventories', import.meta.url));
const where = { file: 'site.yaml', line: 3, col: 10 };

const { inventory: inv } = loadInventory(['yaml/patterns.yaml'], FIXTURES);
const short = (hosts: string[]) => hosts.map((h) => h.replace('.example.com', ''));

describe('selectHosts', () => {
  it.each<[string, string[]]>([
    // Expected values are what `ansible PATTERN -i yaml/patterns.yaml --list-hosts` prints (ansible-core 2.14).
    // Host order is Ansible's: a group's own hosts, then its children's (so storage's before rack1's under all).
    ['all', ['st1', 'hv2', 'web1', 'hv1', 'hv3', 'hv4']],
    ['*', ['st1', 'hv2', 'web1', 'hv1', 'hv3', 'hv4']],
    ['rack1', ['hv1', 'hv2']],
    ['hypervisors', ['hv1', 'hv2', 'hv3', 'hv4']],
    ['hv3.example.com', ['hv3']],
    ['hv*', ['hv1', 'hv2', 'hv3', 'hv4']],
    ['hv[12].example.com', ['hv1', 'hv2']], // a glob: `[12]` is not followed by the end of the pattern
    ['hv[!12].example.com', ['hv3', 'hv4']],
    ['?v1.example.com', ['hv1']],
    ['rack?', ['hv1', 'hv2', 'hv3', 'hv4']], // globs match group names too
    ['~hv[34]\\.', ['hv3', 'hv4']],
    ['~(web|st)\\d', ['st1', 'web1']],
    ['~(web|st)', ['st1', 'hv2', 'web1']], // a regex matches group names too: `storage` brings hv2
    ['rack1:rack2', ['hv1', 'hv2', 'hv3', 'hv4']],
    ['rack2:rack1', ['hv3', 'hv4', 'hv1', 'hv2']], // each term adds its hosts in order
    ['rack1,storage', ['hv1', 'hv2', 'st1']],
    ['rack1 , web', ['hv1', 'hv2', 'web1']],
    ['hypervisors:&storage', ['hv2']],
    ['hypervisors:!rack1', ['hv3', 'hv4']],
    ['rack1:rack2:&hypervisors:!hv2*', ['hv1', 'hv3', 'hv4']],
    ['!hv2*:&hypervisors:rack1:rack2', ['hv1', 'hv3', 'hv4']], // order of terms does not matter
    ['!rack1', ['st1', 'web1', 'hv3', 'hv4']], // only exclusions: start from all
    ['&storage', ['st1', 'hv2']],
    ['storage:&rack1,rack2', ['hv2']], // unions (storage, rack2), then & rack1
    ['all:!all', []],
    ['rack1[0]', ['hv1']],
    ['rack1[-1]', ['hv2']],
    ['hypervisors[1:2]', ['hv2', 'hv3']],
    ['hypervisors[2:]', ['hv3', 'hv4']],
    ['hypervisors[1:2]:!hv2*', ['hv3']],
    ['hypervisors[0:0]', ['hv1']], // Ansible: an end of 0 picks one host
    ['hypervisors[2:0]', ['hv3']],
  ])('%s', (pattern, expected) => {
    const { hosts, diagnostics } = selectHosts(inv, pattern, where);
    expect(diagnostics).toEqual([]);
    expect(short(hosts)).toEqual(expected);
  });

  it.each<[string, string[], 'error' | 'warning', string]>([
    ['nope', [], 'warning', 'Could not match supplied host pattern, ignoring: nope'],
    ['rack1:nope', ['hv1', 'hv2'], 'warning', 'Could not match supplied host pattern, ignoring: nope'],
    ['rack1:!nope', ['hv1', 'hv2'], 'warning', 'Could not match supplied host pattern, ignoring: nope'],
    ['~example', [], 'warning', 'Could not match supplied host pattern, ignoring: ~example'], // a regex matches from the start
    ['rack1[5]', [], 'warning', "No hosts matched the subscripted pattern 'rack1[5]': 'rack1' has 2 host(s)"],
    ['~hv(', [], 'error', "invalid regular expression in host pattern '~hv('"],
    ['hv[z-a]*', [], 'error', "invalid glob in host pattern 'hv[z-a]*'"],
    ['', [], 'warning', "empty host pattern '': no hosts selected"],
    ['rack1:&', ['hv1', 'hv2'], 'warning', "'&' in host pattern 'rack1:&' has nothing after '&': ignored"],
  ])('%j → %j with a %s', (pattern, expected, severity, message) => {
    const { hosts, diagnostics } = selectHosts(inv, pattern, where);
    expect(short(hosts)).toEqual(expected);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({ severity, ...where });
    expect(diagnostics[0]!.message).toContain(message);
  });

  it('matches IPv6 host names whole, and works on hand-built inventories', () => {
    const hand: Inventory = {
      groups: new Map([
        ['all', { name: 'all', hosts: [], children: ['v6'], vars: {} }],
        ['ungrouped', { name: 'ungrouped', hosts: [], children: [], vars: {} }],
        ['v6', { name: 'v6', hosts: ['fe80::1'], children: [], vars: {} }],
      ]),
      hosts: new Map([
        ['fe80::1', { name: 'fe80::1', vars: {} }],
        ['orphan', { name: 'orphan', vars: {} }],
      ]),
      hostOrigin: new Map(),
    };
    expect(selectHosts(hand, 'fe80::1', where).hosts).toEqual(['fe80::1']);
    expect(selectHosts(hand, 'all', where).hosts).toEqual(['fe80::1', 'orphan']);
    expect(selectHosts(hand, 'all:!v6', where).hosts).toEqual(['orphan']);
  });
});

describe('splitPattern', () => {
  it.each<[string, string[]]>([
    ['a:b', ['a', 'b']],
    ['a,b', ['a', 'b']],
    ['a:&b:!c', ['a', '&b', '!c']],
    ['hv[01:20]:!hv05', ['hv[01:20]', '!hv05']],
    ['  a ,, b  ', ['a', 'b']],
    ['a b', ['a', 'b']],
  ])('%j', (pattern, terms) => {
    expect(splitPattern(pattern)).toEqual(terms);
  });
});

describe('readLimit', () => {
  it.each<[string, string]>([
    ['rack1', 'rack1'],
    ['@limit/retry-hosts.txt', 'hv1.example.com,hv3.example.com'],
    ['@limit/retry-hosts.txt:!hv3.example.com', 'hv1.example.com,hv3.example.com,!hv3.example.com'],
    ['rack2,@limit/retry-hosts.txt', 'rack2,hv1.example.com,hv3.example.com'],
  ])('%s → %s', (limit, pattern) => {
    expect(readLimit(limit, FIXTURES)).toEqual({ pattern, diagnostics: [] });
  });

  it('a retry file selects its hosts', () => {
    const { pattern } = readLimit('@limit/retry-hosts.txt', FIXTURES);
    expect(short(selectHosts(inv, pattern, where).hosts)).toEqual(['hv1', 'hv3']);
  });

  it('an empty limit file selects no host (not all of them)', () => {
    const { pattern, diagnostics } = readLimit('@limit/empty.txt', FIXTURES);
    expect(diagnostics).toMatchObject([{ severity: 'warning', message: '--limit @limit/empty.txt names no hosts: no host will be selected' }]);
    expect(selectHosts(inv, pattern, where)).toEqual({ hosts: [], diagnostics: [] });
  });

  it('a missing limit file is an error naming it', () => {
    const { pattern, diagnostics } = readLimit('@missing.retry', FIXTURES);
    expect(diagnostics).toEqual([
      { severity: 'error', file: 'missing.retry', message: 'limit file: cannot read: no such file' },
      { severity: 'warning', file: '<command line>', message: '--limit @missing.retry names no hosts: no host will be selected' },
    ]);
    expect(pattern).toBe('!all');
  });
});
