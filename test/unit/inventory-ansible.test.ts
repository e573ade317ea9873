// Issue 22, pinned without Ansible installed: each case's expected value is what ansible-inventory 2.14 prints for
// the same input (the compatibility suite, inventory-compat.test.ts, checks the same against Ansible itself).
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConnectionVars } from '../../src/config/connection-vars.js';
import { hostVars, loadInventory } from '../../src/config/inventory.js';
import { hostsOfGroup } from '../../src/config/inventory-graph.js';
import { ansibleJson, graphLines, listView } from '../../src/config/inventory-views.js';
import { selectHosts } from '../../src/config/patterns.js';

/** Writes files (path → text) into a fresh directory and returns it. */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kvmnet-ansible-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

function load(dir: string, ...sources: string[]) {
  return loadInventory(
    sources.map((s) => (s.includes(',') ? s : join(dir, s))),
    dir,
  );
}

describe('variable precedence: group_vars/ files after every inline group var', () => {
  it.each<[string, Record<string, string>, string[], string, Record<string, unknown>]>([
    [
      'group_vars/all.yml beats an inline [kvm:vars] (the MTU of issue 22)',
      { hosts: '[kvm]\nhv1\n[kvm:vars]\nmtu=9000\n', 'group_vars/all.yml': 'mtu: 1500\n' },
      ['hosts'],
      'hv1',
      { mtu: 1500 },
    ],
    [
      'inline: all < group; files: all < group; host inline < host_vars',
      {
        hosts: '[kvm]\nhv1 h=inline\n[kvm:vars]\na=kvm-inline\nb=kvm-inline\n[all:vars]\na=all-inline\nc=all-inline\n',
        'group_vars/all.yml': 'b: all-file\nd: all-file\n',
        'group_vars/kvm.yml': 'd: kvm-file\n',
        'host_vars/hv1.yml': 'h: host-file\n',
      },
      ['hosts'],
      'hv1',
      { a: 'kvm-inline', b: 'all-file', c: 'all-inline', d: 'kvm-file', h: 'host-file' },
    ],
    [
      'ansible_group_priority (inline) orders groups of the same depth, and is no variable',
      { hosts: '[a]\nhv1\n[b]\nhv1\n[a:vars]\nx=a\nansible_group_priority=10\n[b:vars]\nx=b\n' },
      ['hosts'],
      'hv1',
      { x: 'a' },
    ],
    [
      'the first of NAME, NAME.yml, NAME.yaml, NAME.json is read, not all of them',
      { hosts: '[kvm]\nhv1\n', 'group_vars/kvm': 'x: plain\n', 'group_vars/kvm.yml': 'x: yml\ny: yml\n' },
      ['hosts'],
      'hv1',
      { x: 'plain' },
    ],
    [
      'several sources: files go source by source, each after all inline vars',
      {
        'a/hosts': '[kvm]\nhv1\n[kvm:vars]\nx=inline-a\n',
        'a/group_vars/kvm.yml': 'x: file-a\ny: file-a\n',
        'b/hosts': '[kvm]\nhv1\n[kvm:vars]\nx=inline-b\ny=inline-b\n',
      },
      ['a/hosts', 'b/hosts'],
      'hv1',
      { x: 'file-a', y: 'file-a' },
    ],
    [
      'host:port sets ansible_port; a later ansible_port= on the line wins',
      { hosts: 'hv1:2222 ansible_port=2200\n' },
      ['hosts'],
      'hv1',
      { ansible_port: 2200 },
    ],
    ['a second hv1:3333 does not change the port, as in Ansible', { hosts: '[a]\nhv1:2222\n[b]\nhv1:3333\n' }, ['hosts'], 'hv1', { ansible_port: 2222 }],
    ['IPv6 with a port in INI', { hosts: '[kvm]\n[2001:db8::11]:2200 x=1\n' }, ['hosts'], '2001:db8::11', { ansible_port: 2200, x: 1 }],
  ])('%s', (_title, files, sources, host, expected) => {
    const dir = tree(files);
    const { inventory, diagnostics } = load(dir, ...sources);
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(hostVars(inventory, host)).toEqual(expected);
  });
});

describe('YAML 1.1 scalars, as Ansible reads inventories and vars files', () => {
  it.each<[string, unknown]>([
    ['yes', true],
    ['No', false],
    ['on', true],
    ['OFF', false],
    ['y', 'y'],
    ['n', 'n'],
    ['0022', 18],
    ['0x1F', 31],
    ['0b101', 5],
    ['0o17', '0o17'],
    ['09', '09'],
    ['1_000', 1000],
    ['1e3', '1e3'],
    ['1.0e+3', 1000],
    ['1.0e3', '1.0e3'],
    ['.5', 0.5],
    ['~', null],
    ['12:30', 750],
    ['52:54:00:ab:cd:ef', '52:54:00:ab:cd:ef'],
    ['2024-10-24', '2024-10-24'],
    ["'0022'", '0022'],
  ])('%s → %j', (text, value) => {
    const dir = tree({ 'hosts.yml': `kvm:\n  hosts:\n    hv1:\n      v: ${text}\n` });
    const { inventory, diagnostics } = load(dir, 'hosts.yml');
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(hostVars(inventory, 'hv1')['v']).toEqual(value);
  });

  it('warns where YAML 1.1 surprises: an unquoted all-digit MAC is a base-60 number (in Ansible too)', () => {
    const dir = tree({ 'group_vars/kvm.yml': 'guest_mac: 52:54:00:12:34:56\n', hosts: '[kvm]\nhv1\n' });
    const { inventory, diagnostics } = load(dir, 'hosts');
    expect(hostVars(inventory, 'hv1')['guest_mac']).toBe(41135085296);
    expect(diagnostics).toEqual([
      expect.objectContaining({ severity: 'warning', line: 1, col: 12, message: expect.stringContaining("quote it ('52:54:00:12:34:56')") }),
    ]);
  });

  it('keeps 3.0 a float in output, in YAML and INI, as ansible-inventory prints it', () => {
    const dir = tree({
      'hosts.yml': 'kvm:\n  hosts:\n    hv1:\n      a: 3.0\n      b: [1.0, 2]\n      c: 3\n',
      'more.ini': '[kvm]\nhv2 a=12.0 b="[1.5, 2.0]" c="\'2.0\'"\n',
    });
    const { inventory } = load(dir, 'hosts.yml', 'more.ini');
    expect(ansibleJson(hostVars(inventory, 'hv1'))).toBe('{\n    "a": 3.0,\n    "b": [\n        1.0,\n        2\n    ],\n    "c": 3\n}');
    expect(ansibleJson(hostVars(inventory, 'hv2'))).toBe('{\n    "a": 12.0,\n    "b": [\n        1.5,\n        2.0\n    ],\n    "c": "2.0"\n}');
  });
});

describe('refused, with the error docs/inventory.md lists', () => {
  const vault = '$ANSIBLE_VAULT;1.1;AES256\n6231336539666234\n';
  it.each<[string, Record<string, string>, string, string]>([
    ['a vault-encrypted inventory', { inv: vault }, 'inv', 'encrypted with Ansible Vault, which kvmnet does not support'],
    [
      'a vault-encrypted vars file',
      { hosts: '[kvm]\nhv1\n', 'group_vars/kvm.yml': vault },
      'hosts',
      'encrypted with Ansible Vault, which kvmnet does not support',
    ],
    [
      'a !vault value',
      { 'hosts.yml': 'kvm:\n  hosts:\n    hv1:\n      pw: !vault |\n        $ANSIBLE_VAULT;1.1;AES256\n        62\n' },
      'hosts.yml',
      'a vault-encrypted value (!vault)',
    ],
    [
      'an inventory script that is not executable',
      { script: '#!/bin/sh\necho {}\n' },
      'script',
      'looks like an inventory script (it starts with #!) but is not executable',
    ],
    [
      'a plugin configuration',
      { 'aws_ec2.yml': 'plugin: amazon.aws.aws_ec2\nregions: [eu-west-1]\n' },
      'aws_ec2.yml',
      'inventory plugin configuration files are not supported',
    ],
    [
      'a key that is not a string',
      { 'hosts.yml': 'kvm:\n  hosts:\n    hv1:\n      x:\n        0: zero\n' },
      'hosts.yml',
      'not a string: Ansible keeps such keys as they are',
    ],
  ])('%s', (_title, files, source, message) => {
    const dir = tree(files);
    if (source === 'inventory') chmodSync(join(dir, source), 0o755);
    const { inventory, diagnostics } = load(dir, source);
    const errors = diagnostics.filter((d) => d.severity === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toContain(message);
    expect(inventory.hosts.size).toBeLessThanOrEqual(1);
  });

  it.each([
    ['ansible_host', 'ansible_host', '{{ inventory_hostname }}.mgmt'],
    ['ansible_user', 'ansible_user', '{% if x %}root{% endif %}'],
    ['ansible_port', 'ansible_port', '{{ port }}'],
  ])('a template in %s is refused before connecting', (_t, variable, value) => {
    const { settings, diagnostics } = resolveConnectionVars('hv1', { [variable]: value }, { file: 'hosts.yml' });
    expect(settings).toBeUndefined();
    expect(diagnostics).toEqual([
      expect.objectContaining({ severity: 'error', message: expect.stringContaining('templates are not evaluated in connection variables') }),
    ]);
  });
});

describe('structure and order as Ansible builds them', () => {
  it("adds a [p:children] child only when the child's section appears (that orders p's children and hosts)", () => {
    const dir = tree({ hosts: '[fleet:children]\nrack2\nrack1\n[rack1]\nhv1\n[rack2]\nhv2\n' });
    const { inventory } = load(dir, 'hosts');
    expect(inventory.groups.get('fleet')!.children).toEqual(['rack1', 'rack2']);
    expect(hostsOfGroup(inventory, 'fleet')).toEqual(['hv1', 'hv2']);
  });

  it.each<[string, string[]]>([
    ['all', ['hv9', 'hv7', 'hv2', 'hv1', 'hv3']], // all's children: site, lonely; then site's: core, edge
    ['site', ['hv9', 'hv2', 'hv1', 'hv3']],
    ['site[0]', ['hv9']],
    ['site[-1]', ['hv3']],
    ['site[1:2]', ['hv2', 'hv1']],
    ['edge:core', ['hv3', 'hv1', 'hv2']],
    ['core:edge', ['hv2', 'hv1', 'hv3']],
  ])('pattern %s → %j (a group: own hosts, then its children in order)', (pattern, expected) => {
    const dir = tree({ hosts: '[edge]\nhv3\nhv1\n[core]\nhv2\nhv1\n[site:children]\ncore\nedge\n[site]\nhv9\n[lonely]\nhv7\n' });
    const { inventory } = load(dir, 'hosts');
    expect(selectHosts(inventory, pattern, { file: 'x' }).hosts).toEqual(expected);
  });

  it('--list leaves out empty groups and group vars (unless --export); --graph lists no host under all', () => {
    const dir = tree({ 'hosts.yml': 'all:\n  hosts:\n    mgmt:\n  children:\n    empty:\n    kvm:\n      vars: { mtu: 9000 }\n      hosts:\n        hv1:\n' });
    const { inventory } = load(dir, 'hosts.yml');
    expect(listView(inventory)).toEqual({
      _meta: { hostvars: { hv1: { mtu: 9000 } } },
      all: { children: ['ungrouped', 'empty', 'kvm'] },
      ungrouped: { hosts: ['mgmt'] },
      kvm: { hosts: ['hv1'] },
    });
    expect(listView(inventory, { export: true })).toMatchObject({ kvm: { hosts: ['hv1'], vars: { mtu: 9000 } }, _meta: { hostvars: {} } });
    expect(graphLines(inventory)).toEqual(['@all:', '  |--@ungrouped:', '  |  |--mgmt', '  |--@empty:', '  |--@kvm:', '  |  |--hv1']);
  });

  it.each<[string, string, string[], Record<string, unknown>]>([
    ['localhost', '[kvm]\nhv1\n[all:vars]\nntp=10.0.0.1\n', ['localhost'], { ntp: '10.0.0.1', ansible_connection: 'local' }],
    ['kvm:localhost', '[kvm]\nhv1\n', ['hv1', 'localhost'], { ansible_connection: 'local' }],
    ['all', '[kvm]\nhv1\n', ['hv1'], { ansible_connection: 'local' }],
    ['localhost', '[kvm]\nhv1\n127.0.0.1 ansible_connection=ssh\n', ['127.0.0.1'], { ansible_connection: 'local' }],
  ])('implicit localhost: %s in %j → %j', (pattern, text, expected, localVars) => {
    const dir = tree({ hosts: text });
    const { inventory } = load(dir, 'hosts');
    expect(selectHosts(inventory, pattern, { file: 'x' })).toEqual({ hosts: expected, diagnostics: [] });
    expect(hostVars(inventory, 'localhost')).toEqual(localVars);
  });

  it("a comma list keeps brackets literally, as Ansible's host_list plugin", () => {
    const { inventory } = loadInventory(['h[0:10],web:2222,'], '/');
    expect([...inventory.hosts.keys()]).toEqual(['h[0:10]', 'web']);
    expect(hostVars(inventory, 'web')).toEqual({ ansible_port: 2222 });
  });
});
