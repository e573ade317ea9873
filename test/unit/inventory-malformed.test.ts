import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../src/config/inventory.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/inventories', import.meta.url));

interface Case {
  source: string;
  file: string;
  line?: number;
  col?: number;
  message: string;
  severity?: 'error' | 'warning';
}

// Each malformed input yields exactly one diagnostic, at the spot a user has to fix.
const cases: Case[] = [
  {
    source: 'bad/unknown-key.yaml',
    file: 'bad/unknown-key.yaml',
    line: 4,
    col: 7,
    message: "unknown key 'chidren' in group 'rack1': expected hosts, children or vars (did you mean `children`?)",
  },
  { source: 'bad/hosts-list.yaml', file: 'bad/hosts-list.yaml', line: 3, col: 5, message: "hosts of group 'all' must be a map of host names; found a list" },
  {
    source: 'bad/vars-not-map.yaml',
    file: 'bad/vars-not-map.yaml',
    line: 4,
    col: 9,
    message: "vars of group 'rack1' must be a map of variable names to values; found a string ('uplink=eth1')",
  },
  { source: 'bad/cycle.yaml', file: 'bad/cycle.yaml', line: 7, col: 13, message: "group 'a' is its own ancestor: a → b → a" },
  { source: 'bad/cycle.ini', file: 'bad/cycle.ini', line: 5, col: 1, message: "group 'a' is its own ancestor: a → b → a" },
  {
    source: 'bad/host-value-string.yaml',
    file: 'bad/host-value-string.yaml',
    line: 3,
    col: 22,
    message:
      "host 'hv1.example.com' must be followed by a map of variables or nothing; found a string ('192.168.0.10') (to set its address, write `hv1.example.com: {host: 192.168.0.10}`)",
  },
  { source: 'bad/duplicate-key.yaml', file: 'bad/duplicate-key.yaml', line: 4, col: 5, message: "duplicate key: 'uplink' appears twice in the same mapping" },
  {
    source: 'bad/bad-range.yaml',
    file: 'bad/bad-range.yaml',
    line: 3,
    col: 5,
    message: "host range '[9:1]' in 'hv[9:1].example.com': begin must not be greater than end",
  },
  {
    source: 'bad/bad-port.ini',
    file: 'bad/bad-port.ini',
    line: 2,
    col: 3,
    message: "invalid port '99999' in host entry 'hv1.example.com:99999': expected a number from 1 to 65535",
  },
  {
    source: 'bad/top-level-hosts.yaml',
    file: 'bad/top-level-hosts.yaml',
    line: 1,
    col: 1,
    message: "top-level keys are group names, so 'hosts' must be inside a group",
  },
  {
    source: 'bad/not-a-map.yaml',
    file: 'bad/not-a-map.yaml',
    line: 1,
    col: 1,
    message: 'an inventory must be a map of group names (such as `all:`); found a list',
  },
  {
    source: 'bad/group-string.yaml',
    file: 'bad/group-string.yaml',
    line: 3,
    col: 12,
    message: "group 'rack1' must be a map with hosts, children or vars (or nothing); found a string ('hv1.example.com')",
  },
  { source: 'bad/bad-regexy-host.yaml', file: 'bad/bad-regexy-host.yaml', line: 3, col: 5, message: "host name 'hv1 port=22' contains whitespace" },
  { source: 'bad/section-unclosed.ini', file: 'bad/section-unclosed.ini', line: 1, col: 1, message: "invalid section header '[rack1': missing ']'" },
  {
    source: 'bad/section-kind.ini',
    file: 'bad/section-kind.ini',
    line: 4,
    col: 8,
    message: "section [rack1:child] has unknown type 'child': expected hosts, children or vars (did you mean `children`?)",
  },
  { source: 'bad/host-var-no-equals.ini', file: 'bad/host-var-no-equals.ini', line: 2, col: 25, message: "expected key=value host variable, found 'become'" },
  { source: 'bad/unterminated-quote.ini', file: 'bad/unterminated-quote.ini', line: 2, col: 22, message: 'unterminated double quote: expected a closing "' },
  { source: 'bad/vars-no-equals.ini', file: 'bad/vars-no-equals.ini', line: 5, col: 1, message: "expected key=value in [rack1:vars], found 'uplink eth1'" },
  {
    source: 'bad/children-bad-name.ini',
    file: 'bad/children-bad-name.ini',
    line: 2,
    col: 1,
    message: "expected a group name in [parent:children], found 'rack 1'",
  },
  {
    source: 'bad/undefined-child.ini',
    file: 'bad/undefined-child.ini',
    line: 6,
    col: 1,
    message: "section [hypervisors:children] lists group 'rack2', which is not defined: add a [rack2] section (it may be empty) (did you mean `rack1`?)",
  },
  {
    source: 'bad/vars-undefined-group.ini',
    file: 'bad/vars-undefined-group.ini',
    line: 4,
    col: 2,
    message: "section [rakc1:vars] is for group 'rakc1', which is not defined: add a [rakc1] section (it may be empty) (did you mean `rack1`?)",
  },
  { source: 'bad/yaml-in-ini', file: 'bad/yaml-in-ini', line: 3, col: 1, message: "'---' starts a YAML document" },
  {
    source: 'bad/gv-not-map',
    file: 'bad/gv-not-map/group_vars/rack1.yaml',
    line: 2,
    col: 1,
    message: 'a vars file must be a map of variable names to values; found a list',
  },
  {
    source: 'bad/gv-syntax',
    file: 'bad/gv-syntax/group_vars/rack1.yaml',
    line: 2,
    col: 6,
    message: "YAML syntax error: the flow sequence '[' opened here is never closed",
  },
  {
    source: 'bad/unknown-group-vars',
    file: 'bad/unknown-group-vars/group_vars/rakc1.yaml',
    severity: 'warning',
    message: 'these group_vars are ignored: no group of that name is in the inventory (did you mean `rack1`?)',
  },
  {
    source: 'bad/empty-dir',
    file: 'bad/empty-dir',
    severity: 'warning',
    message: 'inventory directory has no inventory file (files ending in .ini, .cfg, .txt, .md… are skipped, as by Ansible): there are no hosts',
  },
  { source: 'missing.yaml', file: 'missing.yaml', message: 'inventory source not found: no such file or directory' },
  { source: 'hv1-typo', file: 'hv1-typo', message: "inventory source not found: no such file or directory (a list of hosts needs a comma: 'hv1-typo,')" },
  { source: 'hv1.example.com,h v2,', file: '<-i hv1.example.com,h v2,>', line: 1, col: 17, message: "host name 'h v2' contains whitespace" },
  { source: 'hv1:x,', file: '<-i hv1:x,>', line: 1, col: 1, message: "invalid port 'x' in host entry 'hv1:x'" },
];

describe('malformed inventories', () => {
  it.each(cases)('$source → $file:$line:$col', (c) => {
    const { diagnostics } = loadInventory([c.source], FIXTURES);
    expect(diagnostics).toHaveLength(1);
    const [d] = diagnostics;
    expect(d).toMatchObject({ severity: c.severity ?? 'error', file: c.file });
    expect(d!.line).toBe(c.line);
    expect(d!.col).toBe(c.col);
    expect(d!.message).toContain(c.message);
  });

  it('collects every problem of a source instead of stopping at the first', () => {
    const { diagnostics } = loadInventory(['bad/unknown-key.yaml', 'bad/cycle.ini', 'bad/bad-port.ini', 'missing.yaml'], FIXTURES);
    expect(diagnostics.map((d) => `${d.file}:${d.line ?? ''}`)).toEqual([
      'bad/unknown-key.yaml:4',
      'bad/bad-port.ini:2',
      'missing.yaml:',
      'bad/cycle.ini:5', // cycles are found once every source is in
    ]);
  });

  it('keeps the valid part of a broken inventory', () => {
    const { inventory } = loadInventory(['bad/host-var-no-equals.ini', 'bad/section-kind.ini'], FIXTURES);
    expect([...inventory.hosts.keys()]).toEqual(['hv1.example.com']);
  });
});
