import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseExtraVars } from '../../src/config/extra-vars.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/inventories', import.meta.url));

describe('parseExtraVars', () => {
  it.each<[string[], Record<string, unknown>]>([
    [['a=1 b="two words"', 'c=x=y'], { a: '1', b: 'two words', c: 'x=y' }], // key=value values are strings, as in Ansible
    [["msg='it is' empty="], { msg: 'it is', empty: '' }],
    [['@extra/vars.yaml'], { bridge: 'br0', mtu: 9000 }],
    [['@extra/vars.json'], { mtu: 1500, stp: true }],
    [['{"mtu": 1500, "ports": ["eth1", "eth2"]}'], { mtu: 1500, ports: ['eth1', 'eth2'] }],
    [['{mtu: 1500, stp: false}'], { mtu: 1500, stp: false }], // YAML flow maps too
    [['mtu=1', '@extra/vars.yaml', '{"mtu": 42}'], { mtu: 42, bridge: 'br0' }], // later wins
    [['{"mtu": 42}', 'mtu=1'], { mtu: '1' }],
    [['', '   '], {}],
  ])('%j', (args, vars) => {
    expect(parseExtraVars(args, FIXTURES)).toEqual({ vars, diagnostics: [] });
  });

  it.each<[string[], { file: string; line?: number; col?: number; message: string; severity?: string }]>([
    [['[1, 2]'], { file: '<-e #1>', line: 1, col: 1, message: 'extra vars must be a map of variable names to values; found a list' }],
    [['a=1', '{"bad": '], { file: '<-e #2>', line: 1, message: 'YAML syntax error' }],
    [['@extra/list.yaml'], { file: 'extra/list.yaml', line: 1, col: 1, message: 'extra vars file must be a map of variable names to values; found a list' }],
    [['@missing.yaml'], { file: 'missing.yaml', message: 'cannot read: no such file' }],
    [['@'], { file: '<-e>', message: "'@' must be followed by a file name" }],
    [['./vars.yaml'], { file: '<-e #1>', message: "'./vars.yaml' looks like a file name: write -e @./vars.yaml" }],
    [['novalue'], { file: '<-e #1>', line: 1, col: 1, message: "expected key=value, found 'novalue'" }],
    [['a=1 =2'], { file: '<-e #1>', line: 1, col: 5, message: "missing variable name before '=' in '=2'" }],
    [['a="open'], { file: '<-e #1>', line: 1, col: 3, message: 'unterminated double quote' }],
    [['@extra/empty.yaml'], { file: 'extra/empty.yaml', severity: 'warning', message: 'extra vars file is empty' }],
  ])('%j is reported', (args, expected) => {
    const { diagnostics } = parseExtraVars(args, FIXTURES);
    expect(diagnostics).toHaveLength(1);
    const { message, ...rest } = expected;
    expect(diagnostics[0]).toMatchObject({ severity: 'error', ...rest });
    expect(diagnostics[0]!.message).toContain(message);
  });

  it('a bad argument does not drop the good ones', () => {
    expect(parseExtraVars(['a=1', 'oops', 'b=2'], FIXTURES).vars).toEqual({ a: '1', b: '2' });
  });

  it('cannot change prototypes', () => {
    const { vars } = parseExtraVars(['__proto__=x', '{"__proto__": {"polluted": 1}}'], FIXTURES);
    expect(Object.getPrototypeOf(vars)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
