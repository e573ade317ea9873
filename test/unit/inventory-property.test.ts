// The loaders must never throw, whatever they are fed: only diagnostics come back.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../src/errors.js';
import { resolveConnectionVars, CONNECTION_VAR_ALIASES } from '../../src/config/connection-vars.js';
import { parseExtraVars } from '../../src/config/extra-vars.js';
import { loadIniInventory } from '../../src/config/ini.js';
import { InventoryBuilder } from '../../src/config/inventory-builder.js';
import { parseIniValue } from '../../src/config/inventory-literal.js';
import { loadYamlInventory } from '../../src/config/inventory-yaml.js';
import { groupsOf, hostVars, loadInventory } from '../../src/config/inventory.js';
import { readLimit, selectHosts } from '../../src/config/patterns.js';

const work = mkdtempSync(join(tmpdir(), 'kvmnet-prop-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function wellFormed(diagnostics: Diagnostic[]): void {
  for (const d of diagnostics) {
    expect(['error', 'warning']).toContain(d.severity);
    expect(typeof d.file).toBe('string');
    expect(d.message).not.toBe('');
    expect(d.message).not.toMatch(/internal error/);
    if (d.line !== undefined) expect(d.line).toBeGreaterThanOrEqual(1);
    if (d.col !== undefined) expect(d.col).toBeGreaterThanOrEqual(1);
  }
}

const yamlish = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        'all:',
        '  hosts:',
        '  children:',
        '  vars:',
        '    hv1:',
        '    hv[1:3]:',
        '    hv[9:1]:',
        '    h:99999:',
        '      port: 22',
        '    rack1:',
        '      hosts:',
        '      chidren:',
        '        - x',
        '    - y',
        'rack1: x',
        '  vars: [1, 2]',
        '&a {x: 1}',
        '*a',
        '<<: *a',
        '---',
        'plugin: x',
        '? [a, b]',
        ': z',
        '"',
        "'",
        '{',
        '}',
        '[',
        ']',
        '\t',
        '  ',
        '~',
        'null',
        '__proto__:',
        '  hosts: hv1',
        '  children: all',
        '    all:',
      ),
      fc.string({ maxLength: 12 }),
    ),
    { maxLength: 30 },
  )
  .map((lines) => lines.join('\n'));

const iniish = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        '[rack1]',
        '[rack1:vars]',
        '[rack1:children]',
        '[rack1:child]',
        '[all:vars]',
        '[a:children]',
        '[b:children]',
        '[rack1',
        'a',
        'b',
        'all',
        'hv1 port=22',
        'hv[01:03] x="a b"',
        'hv1:2222',
        'hv1 become',
        'x = 1',
        "y='",
        'z=[1, {2: (3,',
        '---',
        '# c',
        '; c',
        '=v',
        'hv1 __proto__=1',
        '[::1]:22',
        'fe80::1',
        'h[a:z:0]',
      ),
      fc.string({ maxLength: 12 }),
    ),
    { maxLength: 30 },
  )
  .map((lines) => lines.join('\n'));

const text = fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }), yamlish, iniish);

// fast-check runs hundreds of cases per test: allow for a loaded CI machine.
describe('never throws', { timeout: 30_000 }, () => {
  it('YAML and INI parsers on arbitrary text', () => {
    fc.assert(
      fc.property(text, (t) => {
        for (const parse of [loadYamlInventory, loadIniInventory]) {
          const b = new InventoryBuilder([]);
          parse('f', t, b);
          const inv = b.build();
          wellFormed(b.diagnostics);
          expect(inv.groups.has('all') && inv.groups.has('ungrouped')).toBe(true);
          for (const h of inv.hosts.keys()) {
            hostVars(inv, h);
            expect(groupsOf(inv, h)).toContain('all');
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('loadInventory on directories of random files', () => {
    let n = 0;
    fc.assert(
      fc.property(
        fc.record({
          hosts: text,
          name: fc.constantFrom('hosts.yaml', 'hosts.ini', 'hosts'),
          gv: text,
          hv: text,
          group: fc.constantFrom('all', 'rack1', 'nope'),
        }),
        ({ hosts, name, gv, hv, group }) => {
          const dir = join(work, String(n++));
          mkdirSync(join(dir, 'group_vars'), { recursive: true });
          mkdirSync(join(dir, 'host_vars'));
          writeFileSync(join(dir, name), hosts);
          writeFileSync(join(dir, 'group_vars', `${group}.yaml`), gv);
          writeFileSync(join(dir, 'host_vars', 'hv1.yml'), hv);
          const { inventory, diagnostics } = loadInventory([dir, join(dir, name), `${hosts.slice(0, 20)},`], work);
          wellFormed(diagnostics);
          for (const h of inventory.hosts.keys()) hostVars(inventory, h);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('selectHosts and readLimit on arbitrary patterns', () => {
    const b = new InventoryBuilder([]);
    loadYamlInventory('f', 'all:\n  children:\n    rack1:\n      hosts: {hv1: , hv2: }\n    rack2:\n      hosts: {hv3: }\n', b);
    const inv = b.build();
    const token = fc.oneof(
      fc.constantFrom('all', 'rack1', 'rack2', 'hv1', 'hv*', ':', ',', '&', '!', '~', '[', ']', '0', '-1', ':', '(', '\\', '?', '@', ' ', '*'),
      fc.string({ maxLength: 5 }),
    );
    fc.assert(
      fc.property(
        fc.array(token, { maxLength: 12 }).map((t) => t.join('')),
        (pattern) => {
          const { hosts, diagnostics } = selectHosts(inv, pattern, { file: 'p' });
          wellFormed(diagnostics);
          // Ansible's order is per term (not inventory order): each host once, every one known (or the implicit localhost).
          expect(new Set(hosts).size).toBe(hosts.length);
          for (const h of hosts) expect(inv.hosts.has(h) || ['localhost', '127.0.0.1', '::1'].includes(h)).toBe(true);
          wellFormed(readLimit(pattern, work).diagnostics);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('parseExtraVars on arbitrary arguments', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string(), yamlish, fc.constantFrom('@', '@nope', '{', '[1', 'a=', '=', '"', 'a="b c" d')), { maxLength: 4 }), (args) => {
        wellFormed(parseExtraVars(args, work).diagnostics);
      }),
      { numRuns: 500 },
    );
  });

  it('resolveConnectionVars on arbitrary values', () => {
    const names = Object.entries(CONNECTION_VAR_ALIASES).flatMap(([k, v]) => [k, ...v]);
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...names), fc.anything()), fc.string(), (vars, name) => {
        const { settings, diagnostics } = resolveConnectionVars(name, vars, { file: 'f' });
        wellFormed(diagnostics);
        expect(settings === undefined).toBe(diagnostics.some((d) => d.severity === 'error'));
      }),
      { numRuns: 500 },
    );
  });

  it('parseIniValue on arbitrary text; integers and simple quoted strings round-trip', () => {
    fc.assert(
      fc.property(fc.string(), (s) => void parseIniValue(s)),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        expect(parseIniValue(String(n))).toBe(n);
      }),
    );
    fc.assert(
      fc.property(
        fc.string().filter((s) => !/['\\\n\r]/.test(s)),
        (s) => {
          expect(parseIniValue(`'${s}'`)).toBe(s);
        },
      ),
    );
  });
});
