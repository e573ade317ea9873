import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expandHostEntry } from '../../src/config/inventory-hosts.js';
import { loadInventory } from '../../src/config/inventory.js';
import { selectHosts } from '../../src/config/patterns.js';
import { compressHosts, hostRanges } from '../../src/report/host-range.js';

const hv = (...ns: number[]) => ns.map((n) => `hv${n}`);
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe('compressHosts', () => {
  it.each<[string, string[], string]>([
    ['a whole lab', hv(...range(1, 30)), 'hv[1:30]'],
    ['a gap', hv(...range(1, 6), ...range(8, 30)), 'hv[1:6],hv[8:30]'],
    ['runs shorter than 3 stay names', hv(1, 2, 4, 6, 7, 8), 'hv1,hv2,hv4,hv[6:8]'],
    ['order does not matter', hv(5, 3, 4, 1), 'hv1,hv[3:5]'],
    ['zero padding is kept', ['hv01', 'hv02', 'hv03', 'hv09', 'hv10', 'hv11'], 'hv[01:03],hv[09:11]'],
    ['a padded run across a power of ten', ['n08', 'n09', 'n10', 'n11'], 'n[08:11]'],
    ['padded and plain names never share a range', ['hv1', 'hv02', 'hv3', 'hv4'], 'hv1,hv02,hv3,hv4'],
    [
      'the last number counts; suffixes stay',
      ['r1-hv1.example.com', 'r1-hv2.example.com', 'r1-hv3.example.com', 'r2-hv1.example.com'],
      'r1-hv[1:3].example.com,r2-hv1.example.com',
    ],
    ['families keep first-seen order, numbers sort', ['web3', 'hv1', 'hv2', 'hv3', 'web1', 'db'], 'web1,web3,hv[1:3],db'],
    ['IPv4 addresses are names like any other', ['10.0.0.1', '10.0.0.2', '10.0.0.3'], '10.0.0.[1:3]'],
    ['names without numbers and duplicates', ['alpha', 'beta', 'alpha'], 'alpha,beta'],
    ['an IPv6 address is left alone', ['2001:db8::1', '2001:db8::2', '2001:db8::3'], '2001:db8::1,2001:db8::2,2001:db8::3'],
    ['nothing', [], ''],
  ])('%s', (_label, names, expected) => {
    expect(hostRanges(names)).toBe(expected);
  });

  it('every token expands back to exactly the names it stands for (as inventories expand ranges)', () => {
    const name = fc.tuple(fc.constantFrom('hv', 'node-', 'r1-hv', ''), fc.integer({ min: 0, max: 120 }), fc.boolean(), fc.constantFrom('', '.example.com'));
    fc.assert(
      fc.property(fc.array(name, { maxLength: 60 }), (parts) => {
        const names = parts.map(([p, n, pad, s]) => `${p}${pad ? String(n).padStart(3, '0') : n}${s}`);
        const back = compressHosts(names).flatMap((t) => {
          const e = expandHostEntry(t);
          if ('error' in e) throw new Error(`${t}: ${e.error}`);
          return e.names;
        });
        expect(new Set(back)).toEqual(new Set(names));
        expect(back.length).toBe(new Set(names).size);
      }),
    );
  });
});

describe('host ranges as --limit patterns', () => {
  const names = [...hv(...range(1, 30)), 'hv01', 'hv02', 'hv03', 'web1'];
  const { inventory } = loadInventory([names.join(',') + ','], process.cwd());
  const where = { file: '--limit', line: 1, col: 1 };
  it.each<[string, string[]]>([
    ['hv[1:6],hv[8:30]', hv(...range(1, 6), ...range(8, 30))],
    ['hv[28:40]', hv(28, 29, 30)], // names the inventory lacks are not an error
    ['hv[01:03]', ['hv01', 'hv02', 'hv03']],
    ['hv[1:3]:!hv2', hv(1, 3)],
  ])('%s', (pattern, expected) => {
    const r = selectHosts(inventory, pattern, where);
    expect(r.diagnostics).toEqual([]);
    expect(r.hosts).toEqual(expected);
  });
  it('without a colon it is a subscript, as in Ansible: hv[12] is position 12 of a group hv, here nothing', () => {
    const r = selectHosts(inventory, 'hv[12]', where);
    expect(r.hosts).toEqual([]);
    expect(r.diagnostics.map((d) => d.message)).toEqual(['Could not match supplied host pattern, ignoring: hv']);
  });
  it('what the recap prints selects the same hosts again', () => {
    const failed = hv(2, 3, 4, 9, 17, 18, 19, 20);
    expect(selectHosts(inventory, hostRanges(failed), where).hosts).toEqual(failed);
  });
  it('a range that matches no host is a warning, like any pattern that matches nothing', () => {
    expect(selectHosts(inventory, 'db[1:3]', where).diagnostics.map((d) => d.message)).toEqual(['Could not match supplied host pattern, ignoring: db[1:3]']);
  });
});

describe('names that are all digits', () => {
  it('stay names: a range without a prefix would read back as a glob', () => {
    expect(compressHosts(['107', '105', '106'])).toEqual(['107', '105', '106']);
  });
});
