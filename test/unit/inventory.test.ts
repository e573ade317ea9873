import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { groupsOf, hostVars, loadInventory, varOrigin, type Inventory } from '../../src/config/inventory.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/inventories', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));

function load(...sources: string[]): Inventory {
  const { inventory, diagnostics } = loadInventory(sources, FIXTURES);
  expect(diagnostics).toEqual([]);
  return inventory;
}

/** Writes an inline inventory to a temp dir (for cases too small to deserve a fixture file). */
function inline(name: string, text: string): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kvmnet-inv-'));
  writeFileSync(join(dir, name), text);
  return { dir, file: name };
}

const groupsSummary = (inv: Inventory) => Object.fromEntries([...inv.groups.values()].map((g) => [g.name, { hosts: g.hosts, children: g.children }]));

describe('YAML inventory', () => {
  const inv = load('yaml/fleet.yaml');

  it('keeps hosts in definition order and expands ranges and ports', () => {
    expect([...inv.hosts.keys()]).toEqual([
      'lonely.example.com',
      'hv1.example.com',
      'hv2.example.com',
      'hv3.example.com',
      'hv4.example.com',
      'hv5.example.com',
      'st1.example.com',
    ]);
    expect(inv.hosts.get('hv3.example.com')!.vars).toEqual({ ansible_port: 2222 }); // `name:port` sets ansible_port, as in Ansible
  });

  it('builds groups like Ansible: top-level groups and ungrouped hang under all', () => {
    expect(groupsSummary(inv)).toEqual({
      all: { hosts: ['lonely.example.com'], children: ['ungrouped', 'hypervisors', 'storage'] },
      ungrouped: { hosts: ['lonely.example.com'], children: [] },
      hypervisors: { hosts: [], children: ['rack1', 'rack2'] },
      rack1: { hosts: ['hv1.example.com', 'hv2.example.com'], children: [] },
      rack2: { hosts: ['hv3.example.com', 'hv4.example.com', 'hv5.example.com'], children: [] },
      storage: { hosts: ['st1.example.com'], children: [] },
    });
  });

  it.each([
    ['hv2.example.com', ['all', 'hypervisors', 'rack1'], { user: 'root', uplink: 'eth1', bridge_address: '192.168.0.91/24' }],
    ['hv3.example.com', ['all', 'hypervisors', 'rack2'], { user: 'root', uplink: 'eth2', ansible_port: 2222 }],
    ['lonely.example.com', ['all', 'ungrouped'], { user: 'root' }],
    ['st1.example.com', ['all', 'storage'], { user: 'root' }],
  ])('%s: groups and vars', (host, groups, vars) => {
    expect(groupsOf(inv, host)).toEqual(groups);
    expect(hostVars(inv, host)).toEqual(vars);
  });

  it('records where hosts and vars were defined', () => {
    expect(inv.hostOrigin.get('hv2.example.com')).toEqual({ file: 'yaml/fleet.yaml', line: 14, col: 13 });
    expect(varOrigin(inv, 'hv2.example.com', 'bridge_address')).toEqual({ file: 'yaml/fleet.yaml', line: 15, col: 31 });
    expect(varOrigin(inv, 'hv3.example.com', 'uplink')).toEqual({ file: 'yaml/fleet.yaml', line: 18, col: 21 });
  });

  it('returns nothing for an unknown host', () => {
    expect(hostVars(inv, 'nope')).toEqual({});
    expect(groupsOf(inv, 'nope')).toEqual([]);
  });
});

describe('INI inventory', () => {
  it.each(['ini/fleet.ini', 'ini/hosts'])('%s (by extension or by content)', (source) => {
    const inv = load(source);
    expect([...inv.hosts.keys()]).toEqual([
      'lonely.example.com',
      'hv1.example.com',
      'hv2.example.com',
      'hv3.example.com',
      'hv4.example.com',
      'hv5.example.com',
    ]);
    expect(groupsSummary(inv)).toEqual({
      all: { hosts: [], children: ['ungrouped', 'hypervisors'] },
      ungrouped: { hosts: ['lonely.example.com'], children: [] },
      rack1: { hosts: ['hv1.example.com', 'hv2.example.com'], children: [] },
      rack2: { hosts: ['hv3.example.com', 'hv4.example.com', 'hv5.example.com'], children: [] },
      hypervisors: { hosts: [], children: ['rack1', 'rack2'] },
    });
    // Inline values are typed like Ansible's literal_eval: True is a boolean, `true` stays a string, '007' a string.
    expect(inv.hosts.get('hv2.example.com')!.vars).toEqual({
      bridge_address: '192.168.0.91/24',
      become: true,
      note: 'two words',
      count: 3,
      ratio: 1.5,
      flag: 'true',
      zip: '007',
    });
    expect(hostVars(inv, 'hv4.example.com')).toEqual({
      user: 'root',
      uplink: 'eth2',
      mtu: 9000,
      label: 'rack # not a comment for a plain string',
    });
    expect(hostVars(inv, 'hv3.example.com')['ansible_port']).toBe(2222);
    expect(inv.hostOrigin.get('hv5.example.com')).toEqual({ file: source, line: 10, col: 1 });
    expect(varOrigin(inv, 'hv2.example.com', 'count')).toEqual({ file: source, line: 6, col: 77 });
  });
});

describe('directory inventory', () => {
  it('reads hosts.yml, group_vars files and folders, and host_vars', () => {
    const inv = load('dir-yaml');
    expect(hostVars(inv, 'hv1.example.com')).toEqual({
      user: 'root',
      uplink: 'eth1',
      bridge_address: '192.168.0.90/24',
      rack_name: 'first',
      mtu: 9000,
    });
    expect(hostVars(inv, 'hv2.example.com')['bridge_address']).toBe('192.168.0.91/24');
    expect(hostVars(inv, 'hv3.example.com')).toEqual({ user: 'root', uplink: 'eth1', bridge_address: '192.168.0.90/24' });
    expect(varOrigin(inv, 'hv2.example.com', 'bridge_address')).toEqual({ file: 'dir-yaml/host_vars/hv2.example.com.yaml', line: 1, col: 17 });
    expect(varOrigin(inv, 'hv1.example.com', 'mtu')).toEqual({ file: 'dir-yaml/group_vars/rack1/b.yaml', line: 1, col: 6 });
  });

  it('reads every file of the directory (an INI file without extension) and JSON group_vars', () => {
    expect(hostVars(load('dir-ini'), 'hv1.example.com')).toEqual({ uplink: 'eth3' });
  });

  it("skips what Ansible skips in a directory, warning about *.ini (Ansible's ignore list)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvmnet-inv-'));
    writeFileSync(join(dir, 'hosts.ini'), '[skipped]\nnever.example.com\n');
    writeFileSync(join(dir, 'notes.md'), 'not an inventory\n');
    writeFileSync(join(dir, '.hidden'), 'hidden.example.com\n');
    writeFileSync(join(dir, '01-kvm'), '[kvm]\nhv1.example.com\n');
    writeFileSync(join(dir, '02-more.yml'), 'kvm:\n  hosts:\n    hv2.example.com:\n');
    const { inventory, diagnostics } = loadInventory([dir], dir);
    expect([...inventory.hosts.keys()]).toEqual(['hv1.example.com', 'hv2.example.com']);
    expect(diagnostics).toEqual([
      expect.objectContaining({
        severity: 'warning',
        file: 'hosts.ini',
        message: expect.stringContaining('ignores *.ini files inside an inventory directory'),
      }),
    ]);
  });

  it('reads group_vars and host_vars beside an inventory file (host_vars file without extension)', () => {
    expect(hostVars(load('file-beside/site.ini'), 'web1.example.com')).toEqual({ http_port: 8081 });
  });

  it('loads the example inventory shipped in inventory/', () => {
    const { inventory: inv, diagnostics } = loadInventory(['inventory'], REPO);
    expect(diagnostics).toEqual([]);
    expect([...inv.hosts.keys()]).toEqual(['hv1.example.com', 'hv2.example.com', 'hv3.example.com', 'hv4.example.com']);
    expect(inv.groups.get('hypervisors')!.children).toEqual(['rack1', 'rack2']);
    const base = { user: 'root', host_key_checking: 'strict' };
    expect(hostVars(inv, 'hv1.example.com')).toEqual({ ...base, uplink: 'eth1', bridge_address: '192.168.0.90/24' });
    expect(hostVars(inv, 'hv2.example.com')).toEqual({ ...base, uplink: 'eth1', bridge_address: '192.168.0.91/24' });
    expect(hostVars(inv, 'hv3.example.com')).toEqual({ ...base, uplink: 'eth2', bridge_address: '192.168.0.90/24' });
  });
});

describe('comma-separated host list', () => {
  it.each([
    ['hv1.example.com,hv2.example.com:2222,', ['hv1.example.com', 'hv2.example.com'], { 'hv2.example.com': { ansible_port: 2222 } }],
    ['hv1.example.com,', ['hv1.example.com'], {}],
    // As Ansible's host_list plugin: no ranges in a comma list.
    [' hv[1:3].example.com , ,', ['hv[1:3].example.com'], {}],
    ['[2001:db8::1]:2200,2001:db8::2,', ['2001:db8::1', '2001:db8::2'], { '2001:db8::1': { ansible_port: 2200 } }],
  ])('%j', (arg, hosts, vars) => {
    const inv = load(arg);
    expect([...inv.hosts.keys()]).toEqual(hosts);
    expect(inv.groups.get('ungrouped')!.hosts).toEqual(hosts);
    for (const [h, v] of Object.entries(vars)) expect(inv.hosts.get(h)!.vars).toEqual(v);
    expect(inv.hostOrigin.get(hosts[0]!)!.file).toBe(`<-i ${arg}>`);
  });
});

describe('several -i sources', () => {
  it('unions hosts and groups; the later source overrides vars', () => {
    const inv = load('merge/first.yaml', 'merge/second.ini');
    expect([...inv.hosts.keys()]).toEqual(['hv1.example.com', 'hv2.example.com']);
    expect(inv.groups.get('rack1')!.hosts).toEqual(['hv1.example.com', 'hv2.example.com']);
    expect(inv.groups.get('rack2')!.hosts).toEqual(['hv1.example.com']);
    expect(hostVars(inv, 'hv1.example.com')).toEqual({ user: 'root', uplink: 'eth9', bridge_address: '10.0.0.9/24' });
    expect(varOrigin(inv, 'hv1.example.com', 'uplink')).toEqual({ file: 'merge/second.ini', line: 8, col: 1 });
  });

  it('in the other order, the YAML file wins', () => {
    const inv = load('merge/second.ini', 'merge/first.yaml');
    expect(hostVars(inv, 'hv1.example.com')).toEqual({ user: 'root', uplink: 'eth0', bridge_address: '10.0.0.1/24' });
  });

  it("an earlier source's group_vars folder still beats a later source's inline vars (Ansible: files after all inline vars)", () => {
    const { dir, file } = inline('more.yaml', 'all:\n  vars:\n    user: admin\n');
    const { inventory, diagnostics } = loadInventory([join(FIXTURES, 'dir-yaml'), join(dir, file)], FIXTURES);
    expect(diagnostics).toEqual([]);
    expect(hostVars(inventory, 'hv1.example.com')['user']).toBe('root');
  });

  it('a group defined in an earlier source may be used in [g:children] and [g:vars] of a later INI file', () => {
    const { dir, file } = inline('more.ini', '[hypervisors:children]\nrack1\n\n[rack1:vars]\nmtu=9000\n');
    const { inventory, diagnostics } = loadInventory(['dir-yaml', join(dir, file)], FIXTURES);
    expect(diagnostics).toEqual([]);
    expect(hostVars(inventory, 'hv1.example.com')['mtu']).toBe(9000);
  });
});

describe('variable precedence', () => {
  it('all < parent < child (same depth: alphabetical, later wins) < host', () => {
    expect(hostVars(load('yaml/precedence.yaml'), 'hv1.example.com')).toEqual({
      level: 'host',
      a: 'all',
      p: 'parent', // flat and parent are both depth 1: parent sorts later
      c: 'zeta',
      h: 'host',
      same: 'zeta', // alpha and zeta are both depth 2: zeta sorts later
    });
  });

  it('ansible_group_priority reorders groups of the same depth', () => {
    const { dir, file } = inline('prio.yaml', 'a:\n  vars: {x: a, ansible_group_priority: 10}\n  hosts: {h1: }\nb:\n  vars: {x: b}\n  hosts: {h1: }\n');
    const { inventory } = loadInventory([join(dir, file)]);
    expect(hostVars(inventory, 'h1')['x']).toBe('a');
  });

  it('depth is the longest path from all', () => {
    // `deep` is a child of all AND of mid: depth 2, so it beats mid's sibling `other` (depth 1).
    const { dir, file } = inline(
      'depth.yaml',
      'all:\n  children:\n    deep:\n      vars: {x: deep}\n      hosts: {h1: }\n    zz:\n      vars: {x: zz}\n      hosts: {h1: }\n    mid:\n      children:\n        deep:\n',
    );
    const { inventory, diagnostics } = loadInventory([join(dir, file)]);
    expect(diagnostics).toEqual([]);
    expect(hostVars(inventory, 'h1')['x']).toBe('deep');
  });
});

describe('smaller conventions', () => {
  it.each([
    ['single host as a string', 'g:\n  hosts: h1\n', { g: ['h1'] }],
    ['children as a string', 'p:\n  children: c\nc:\n  hosts: {h1: }\n', { c: ['h1'] }],
    ['empty group', 'g:\n', { g: [] }],
    ['letter range with step', 'g:\n  hosts:\n    "h[a:e:2]":\n', { g: ['ha', 'hc', 'he'] }],
    ['zero-padded range', 'g:\n  hosts:\n    hv[08:10]:\n', { g: ['hv08', 'hv09', 'hv10'] }],
    ['bracketed IPv6 with port', 'g:\n  hosts:\n    "[fe80::1]:2222":\n', { g: ['fe80::1'] }],
    ['bare IPv6', 'g:\n  hosts:\n    "fe80::2":\n', { g: ['fe80::2'] }],
  ])('%s', (_title, text, groups) => {
    const { dir, file } = inline('inv.yaml', text);
    const { inventory, diagnostics } = loadInventory([join(dir, file)]);
    expect(diagnostics).toEqual([]);
    for (const [g, hosts] of Object.entries(groups)) expect(inventory.groups.get(g)!.hosts).toEqual(hosts);
  });

  it.each([
    ['children declared before the child section', '[p:children]\nc\n\n[c]\nh1\n', { p: [], c: ['h1'] }],
    ['vars before the group section', '[c:vars]\nx=1\n\n[c]\nh1\n', { c: ['h1'] }],
    ['an empty child section is enough', '[p:children]\nc\n\n[c]\n', { c: [] }],
    ['hosts before any section are ungrouped', 'h0\n[g]\nh1\n', { ungrouped: ['h0'], g: ['h1'] }],
    ['a host listed ungrouped, then in a group, leaves ungrouped', 'h1\n[g]\nh1\n', { ungrouped: [], g: ['h1'] }],
    ['CRLF line endings and a BOM', '\uFEFF[g]\r\nh1 x=1\r\n', { g: ['h1'] }],
  ])('INI: %s', (_title, text, groups) => {
    const { dir, file } = inline('inv.ini', text);
    const { inventory, diagnostics } = loadInventory([join(dir, file)]);
    expect(diagnostics).toEqual([]);
    for (const [g, hosts] of Object.entries(groups)) expect(inventory.groups.get(g)!.hosts).toEqual(hosts);
  });

  it('an empty inventory file is a warning, not an error', () => {
    const { dir, file } = inline('empty.yaml', '# nothing yet\n');
    const { inventory, diagnostics } = loadInventory([join(dir, file)], dir);
    expect(diagnostics).toEqual([{ severity: 'warning', file: 'empty.yaml', line: 1, col: 1, message: 'the inventory file is empty: it defines no hosts' }]);
    expect([...inventory.groups.keys()]).toEqual(['all', 'ungrouped']);
  });

  it('no sources is a warning', () => {
    expect(loadInventory([]).diagnostics).toMatchObject([{ severity: 'warning', message: expect.stringContaining('no inventory') }]);
  });

  it('variables named __proto__ cannot change prototypes', () => {
    const { dir, file } = inline('proto.ini', '[g]\nh1 __proto__=x\n[g:vars]\n__proto__={"polluted": 1}\n');
    const { inventory, diagnostics } = loadInventory([join(dir, file)]);
    expect(diagnostics).toEqual([]);
    const vars = hostVars(inventory, 'h1');
    expect(Object.getPrototypeOf(vars)).toBe(Object.prototype);
    expect(Object.hasOwn(vars, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
