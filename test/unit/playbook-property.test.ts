// Hostile input: random text and random YAML-shaped documents never crash the playbook loader;
// they only produce collected diagnostics. Limits are enforced with clear messages.
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parsePlaybook } from '../../src/config/playbook.js';
import { MAX_INPUT_BYTES } from '../../src/config/yaml-source.js';

const runs = { numRuns: 300 };

function loads(text: string): void {
  const r = parsePlaybook('fuzz.yaml', text);
  for (const d of r.diagnostics) {
    expect(typeof d.message).toBe('string');
    expect(d.file).toBe('fuzz.yaml');
  }
  // Either a playbook or at least one error, never both missing.
  expect(r.playbook !== undefined || r.diagnostics.some((d) => d.severity === 'error')).toBe(true);
}

const taskKeys = fc.constantFrom(
  'ensure_bridge',
  'ensure_port',
  'ensure_ip',
  'ensure_libvirt_net',
  'command',
  'name',
  'when',
  'loop',
  'notify',
  'tags',
  'register',
  'bogus',
);
const argKeys = fc.constantFrom('name', 'bridge', 'interface', 'dev', 'address', 'state', 'stp', 'mtu', 'forward', 'ip', 'xml', 'template', 'cmd', 'migrate');
const leaf = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('br0', '$(reboot)', 'a;b', '../eth1', 'x\ny', '{{ v }}', '10.0.0.1/24', '</network><network>'),
);
const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(argKeys, tie('v'), { maxKeys: 4 })),
})).v;
const task = fc.dictionary(taskKeys, value, { maxKeys: 4 });
const play = fc.record({ hosts: fc.oneof(fc.constant('all'), leaf), tasks: fc.array(task, { maxLength: 4 }) }, { requiredKeys: [] });

describe('playbook loader on hostile input', () => {
  it('never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (text) => loads(text)),
      runs,
    );
  });
  it('never throws on random YAML-shaped playbooks', () => {
    fc.assert(
      fc.property(fc.array(play, { maxLength: 3 }), (plays) => loads(stringify(plays))),
      runs,
    );
  });
  it('refuses a YAML alias bomb with a limit error', () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      ...'bcdefgh'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(',')}]`),
    ].join('\n');
    const r = parsePlaybook('bomb.yaml', bomb);
    expect(r.diagnostics[0]!.message).toMatch(/too many YAML alias expansions \(limit \d+\)/);
  });
  it('refuses a 10 MB playbook with a size error before parsing', () => {
    const big = '- hosts: all\n  tasks:\n' + '    - ensure_bridge: {name: br0}\n'.repeat(Math.ceil((10 * 1024 * 1024) / 32));
    const r = parsePlaybook('big.yaml', big);
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]!.message).toMatch(new RegExp(`larger than the ${MAX_INPUT_BYTES}-byte limit`));
  });
  it('names crafted to escape are rejected at load time', () => {
    for (const name of ['eth1;reboot', '$(reboot)', '`id`', 'eth1\nreboot', '../../etc', 'a b']) {
      const r = parsePlaybook('x.yaml', stringify([{ hosts: 'all', tasks: [{ ensure_port: { bridge: 'br0', interface: name } }] }]));
      expect(r.playbook, name).toBeUndefined();
      expect(
        r.diagnostics.some((d) => d.path === 'play 1 › task 1 › ensure_port.interface'),
        name,
      ).toBe(true);
    }
  });
});

describe('rendering hostile values', () => {
  it('variables in inline xml are escaped: they cannot add elements', async () => {
    const { prepareTask } = await import('../../src/run/prepare.js');
    const { playbook } = parsePlaybook(
      'x.yaml',
      stringify([{ hosts: 'all', tasks: [{ ensure_libvirt_net: { name: 'n1', xml: '<network><name>n1</name><bridge name="{{ br }}"/></network>' } }] }]),
    );
    const prepared = prepareTask(playbook!.plays[0]!.tasks[0]!, { br: 'x"/></network><network><name>evil</name>' }, 'hv1', '.');
    const xml = (prepared.kind === 'planned' ? (prepared.input as { desiredXml?: string }).desiredXml : undefined)!;
    expect(xml).not.toContain('<name>evil</name>');
    expect(xml).toContain('&lt;/network&gt;');
  });
  it('a rendered interface name is validated again, naming host and task', async () => {
    const { prepareTask } = await import('../../src/run/prepare.js');
    const { playbook } = parsePlaybook('x.yaml', stringify([{ hosts: 'all', tasks: [{ ensure_port: { bridge: 'br0', interface: '{{ nic }}' } }] }]));
    expect(() => prepareTask(playbook!.plays[0]!.tasks[0]!, { nic: 'eth1; reboot' }, 'hv7', '.')).toThrow(
      /invalid arguments after rendering, in task 'ensure_port .*' \(x\.yaml:\d+:\d+\) on hv7: ensure_port\.interface: an interface name cannot contain a space/,
    );
  });
  it('an undefined variable names the variable, the task and the host', async () => {
    const { prepareTask } = await import('../../src/run/prepare.js');
    const { playbook } = parsePlaybook(
      'x.yaml',
      stringify([{ hosts: 'all', tasks: [{ name: 'uplink', ensure_port: { bridge: 'br0', interface: '{{ uplink }}' } }] }]),
    );
    expect(() => prepareTask(playbook!.plays[0]!.tasks[0]!, {}, 'hv7', '.')).toThrow(
      /undefined variable 'uplink' in ensure_port arguments of task 'uplink' .* on hv7/,
    );
  });
});
