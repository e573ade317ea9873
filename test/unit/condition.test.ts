import { describe, expect, it } from 'vitest';
import { ConditionError, evaluateCondition } from '../../src/run/condition.js';

const vars = {
  uplink: 'eth1',
  mtu: 9000,
  nics: ['eth1', 'eth2'],
  facts: { links: { eth1: { up: true }, br0: { up: false } } },
  result: { changed: true, rc: 0 },
  empty: [],
  zero: 0,
  nothing: null,
};

describe('when: expressions', () => {
  it.each([
    ['uplink == "eth1"', true],
    ["uplink != 'eth1'", false],
    ['mtu > 1500', true],
    ['mtu >= 9000 and mtu < 9001', true],
    ['mtu < 1500 or uplink == "eth1"', true],
    ['not result.changed', false],
    ['not (mtu > 1 and zero)', true],
    ["'eth2' in nics", true],
    ["'eth3' not in nics", true],
    ["'eth1' in facts.links", true],
    ["'eth9' in facts.links", false],
    ['facts.links.eth1.up', true],
    ["facts.links['br0'].up", false],
    ['nics[1] == "eth2"', true],
    ['missing is defined', false],
    ['missing is undefined', true],
    ['uplink is defined', true],
    ['facts.links.eth9 is not defined', true],
    ['nothing is none', true],
    ['empty', false],
    ['nics', true],
    ['result.rc == 0', true],
    ['true', true],
    ['False', false],
    ['{{ mtu == 9000 }}', true],
    ['"th1" in uplink', true],
    ['[1, 2] == [1, 2]', true],
  ])('%s → %s', (expr, want) => {
    expect(evaluateCondition(expr, vars)).toBe(want);
  });

  it.each([
    ['missing == 1', /undefined variable/],
    ['mtu >', /ends too early/],
    ['mtu > 1 1', /unexpected '1'/],
    ['mtu is bogus', /unknown test/],
    ['uplink < 3', /cannot order/],
    ['a ; b', /cannot read the condition/],
    ['(((mtu)', /expected '\)'/],
  ])('rejects %s', (expr, message) => {
    expect(() => evaluateCondition(expr, vars)).toThrow(message);
  });

  it.each([
    ['constructor is defined', false],
    ['uplink.constructor is defined', false],
    ['nics.length is defined', false],
    ['__proto__ is defined', false],
    ["facts['__proto__'] is defined", false],
    ['uplink.toString is defined', false],
  ])('cannot reach outside the data: %s', (expr, want) => {
    expect(evaluateCondition(expr, vars)).toBe(want);
  });

  it('cannot call anything or run code', () => {
    expect(() => evaluateCondition('process.exit(1)', vars)).toThrow(ConditionError);
    expect(() => evaluateCondition("require('child_process')", vars)).toThrow(ConditionError);
    expect(() => evaluateCondition('`id`', vars)).toThrow(ConditionError);
    expect(() => evaluateCondition('x = 1', vars)).toThrow(ConditionError);
  });

  it('bounds nesting and length', () => {
    expect(() => evaluateCondition('('.repeat(200) + '1' + ')'.repeat(200), vars)).toThrow(/nested too deeply/);
    expect(() => evaluateCondition('1 == 1 and '.repeat(300) + '1', vars)).toThrow(/longer than/);
  });
});
