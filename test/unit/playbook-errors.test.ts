// A corpus of malformed playbooks: each must be reported at the right file:line:col with a
// message that says what was found and what was expected.
import { describe, expect, it } from 'vitest';
import { parsePlaybook } from '../../src/config/playbook.js';

interface Case {
  name: string;
  yaml: string;
  line: number;
  col: number;
  message: RegExp;
  path?: string;
}

const play = (tasks: string) => `- hosts: all\n  tasks:\n${tasks}`;

const cases: Case[] = [
  {
    name: 'unclosed [ points at where it opens',
    yaml: play('    - ensure_bridge: {name: br0, stp: [on}\n    - ensure_ip: {dev: br0}\n'),
    line: 3,
    col: 39,
    message: /the flow sequence '\[' opened here is never closed/,
  },
  {
    name: 'unclosed { points at where it opens',
    yaml: '- hosts: all\n  vars: {a: 1\n  tasks: []\n',
    line: 2,
    col: 9,
    message: /the flow mapping '\{' opened here is never closed/,
  },
  {
    name: 'unclosed quote points at where it opens',
    yaml: play('    - ensure_ip: {dev: br0, address: "10.0.0.1/8}\n    - ensure_bridge: {name: br1}\n'),
    line: 3,
    col: 38,
    message: /the quoted string \("\) opened here is never closed/,
  },
  {
    name: 'misspelled task type',
    yaml: play('    - ensure_brige: {name: br0}\n'),
    line: 3,
    col: 7,
    message: /unknown task type or keyword 'ensure_brige': did you mean 'ensure_bridge'\?/,
  },
  { name: 'misspelled keyword', yaml: play('    - ensure_bridge: {name: br0}\n      notfy: x\n'), line: 4, col: 7, message: /did you mean 'notify'\?/ },
  {
    name: 'two task types',
    yaml: play('    - ensure_bridge: {name: br0}\n      ensure_port: {bridge: br0, interface: eth1}\n'),
    line: 4,
    col: 7,
    message: /exactly one task type, found ensure_bridge and ensure_port/,
  },
  { name: 'no task type', yaml: play('    - name: nothing\n'), line: 3, col: 7, message: /a task needs one task type/ },
  {
    name: 'args not a map',
    yaml: play('    - ensure_bridge: br0\n'),
    line: 3,
    col: 22,
    message: /expected the arguments of ensure_bridge as a mapping, found the string 'br0'/,
  },
  {
    name: 'interface name too long',
    yaml: play('    - ensure_bridge: {name: averyveryverylongname}\n'),
    line: 3,
    col: 29,
    message: /at most 15 bytes, this one is 21/,
  },
  { name: 'interface name with space', yaml: play("    - ensure_bridge: {name: 'br 0'}\n"), line: 3, col: 29, message: /cannot contain a space/ },
  { name: 'interface name with slash', yaml: play('    - ensure_port: {bridge: br0, interface: ../eth1}\n'), line: 3, col: 45, message: /cannot contain '\/'/ },
  { name: 'interface name with colon', yaml: play("    - ensure_port: {bridge: 'br0:1', interface: eth1}\n"), line: 3, col: 29, message: /cannot contain ':'/ },
  {
    name: 'interface name with percent',
    yaml: play("    - ensure_ip: {dev: 'br%d', address: 10.0.0.1/24}\n"),
    line: 3,
    col: 24,
    message: /cannot contain '%'/,
  },
  {
    name: 'interface name with semicolon',
    yaml: play("    - ensure_ip: {dev: 'br0;reboot', address: 10.0.0.1/24}\n"),
    line: 3,
    col: 24,
    message: /may only use letters, digits/,
  },
  { name: 'interface name with $()', yaml: play("    - ensure_bridge: {name: '$(id)'}\n"), line: 3, col: 29, message: /may only use letters, digits/ },
  { name: 'interface name with newline', yaml: play('    - ensure_bridge: {name: "br\\n0"}\n'), line: 3, col: 29, message: /cannot contain a newline/ },
  { name: 'empty interface name', yaml: play("    - ensure_bridge: {name: ''}\n"), line: 3, col: 29, message: /cannot be empty/ },
  {
    name: 'address without prefix',
    yaml: play('    - ensure_ip: {dev: br0, address: 192.168.0.90}\n'),
    line: 3,
    col: 38,
    message: /expected an address with a prefix length/,
  },
  {
    name: 'address with bad octet',
    yaml: play('    - ensure_ip: {dev: br0, address: 192.168.0.300/24}\n'),
    line: 3,
    col: 38,
    message: /expected an IPv4 or IPv6 address with a prefix length/,
  },
  {
    name: 'address with too long prefix',
    yaml: play('    - ensure_ip: {dev: br0, address: 10.0.0.1/33}\n'),
    line: 3,
    col: 38,
    message: /expected an IPv4 or IPv6 address/,
  },
  {
    name: 'ipv6 prefix too long',
    yaml: play("    - ensure_ip: {dev: br0, address: '2001:db8::1/129'}\n"),
    line: 3,
    col: 38,
    message: /expected an IPv4 or IPv6 address/,
  },
  { name: 'mtu too small', yaml: play('    - ensure_bridge: {name: br0, mtu: 20}\n'), line: 3, col: 39, message: /expected a value >=68 \(found number 20\)/ },
  { name: 'mtu too large', yaml: play('    - ensure_bridge: {name: br0, mtu: 70000}\n'), line: 3, col: 39, message: /<=65535/ },
  { name: 'mtu not a number', yaml: play('    - ensure_bridge: {name: br0, mtu: big}\n'), line: 3, col: 39, message: /expected a number/ },
  { name: 'forward delay out of range', yaml: play('    - ensure_bridge: {name: br0, forward_delay: 31}\n'), line: 3, col: 49, message: /<=30/ },
  {
    name: 'an object given a string (article)',
    yaml: play('    - ensure_libvirt_net: {name: n1, forward: bridge, bridge: br0}\n'),
    line: 3,
    col: 63,
    message: /expected an object \(found the string 'br0'\)/,
  },
  { name: 'stp not a bool', yaml: play('    - ensure_bridge: {name: br0, stp: maybe}\n'), line: 3, col: 39, message: /expected a boolean/ },
  { name: 'bad state', yaml: play('    - ensure_bridge: {name: br0, state: gone}\n'), line: 3, col: 41, message: /expected one of "present"\|"absent"/ },
  {
    name: 'unknown argument',
    yaml: play('    - ensure_bridge: {name: br0, stpp: true}\n'),
    line: 3,
    col: 34,
    message: /unknown ensure_bridge argument 'stpp': did you mean 'stp'\?/,
  },
  { name: 'missing required argument', yaml: play('    - ensure_port: {bridge: br0}\n'), line: 3, col: 20, message: /missing required argument 'interface'/ },
  {
    name: 'bad libvirt network name',
    yaml: play("    - ensure_libvirt_net: {name: 'net 1', xml: '<network/>'}\n"),
    line: 3,
    col: 34,
    message: /libvirt network name may only use/,
  },
  {
    name: 'two definition sources',
    yaml: play("    - ensure_libvirt_net: {name: n1, xml: '<network/>', forward: nat}\n"),
    line: 3,
    col: 57,
    message: /exactly one definition source.*xml and structured fields/,
  },
  {
    name: 'missing template file',
    yaml: play('    - ensure_libvirt_net: {name: n1, template: missing.xml.hbs}\n'),
    line: 3,
    col: 48,
    message: /template file not found: 'missing.xml.hbs'/,
  },
  { name: 'bad forward mode', yaml: play('    - ensure_libvirt_net: {name: n1, forward: natt}\n'), line: 3, col: 47, message: /expected one of "nat"/ },
  {
    name: 'dhcp range with bad ip',
    yaml: play('    - ensure_libvirt_net: {name: n1, forward: nat, ip: {address: 10.0.0.1, prefix: 24, dhcp: {ranges: [{start: 10.0.0.x, end: 10.0.0.9}]}}}\n'),
    line: 3,
    col: 112,
    message: /expected an IPv4 or IPv6 address/,
  },
  {
    name: 'netmask and prefix',
    yaml: play('    - ensure_libvirt_net: {name: n1, forward: nat, ip: {address: 10.0.0.1, prefix: 24, netmask: 255.255.255.0}}\n'),
    line: 3,
    col: 52,
    message: /netmask or prefix, not both/,
  },
  {
    name: 'nat ports reversed',
    yaml: play('    - ensure_libvirt_net: {name: n1, forward: nat, nat_ports: {start: 2000, end: 1000}, ip: {address: 10.0.0.1, prefix: 24}}\n'),
    line: 3,
    col: 52,
    message: /nat_ports.start must not exceed/,
  },
  {
    name: 'bridge forward without bridge',
    yaml: play('    - ensure_libvirt_net: {name: n1, forward: bridge}\n'),
    line: 3,
    col: 38,
    message: /forward: bridge needs bridge/,
  },
  { name: 'play is not a map', yaml: '- just a string\n', line: 1, col: 3, message: /a play is a mapping/ },
  { name: 'playbook is not a list', yaml: 'hosts: all\n', line: 1, col: 1, message: /a playbook is a list of plays/ },
  { name: 'play without hosts', yaml: '- tasks: []\n', line: 1, col: 3, message: /a play needs 'hosts'/ },
  { name: 'task at play level', yaml: '- hosts: all\n  ensure_bridge: {name: br0}\n', line: 2, col: 3, message: /is a task: put it in the play's tasks list/ },
  { name: 'misspelled play keyword', yaml: '- hosts: all\n  taks: []\n', line: 2, col: 3, message: /unknown play keyword 'taks': did you mean 'tasks'\?/ },
  { name: 'bad serial', yaml: '- hosts: all\n  serial: "abc"\n  tasks: []\n', line: 2, col: 11, message: /expected a host count/ },
  { name: 'serial zero', yaml: '- hosts: all\n  serial: 0\n  tasks: []\n', line: 2, col: 11, message: /expected a host count \(1 or more\)/ },
  { name: 'max_fail_percentage too big', yaml: '- hosts: all\n  max_fail_percentage: 150\n  tasks: []\n', line: 2, col: 24, message: /from 0 to 100/ },
  { name: 'bad strategy', yaml: '- hosts: all\n  strategy: fast\n  tasks: []\n', line: 2, col: 13, message: /expected 'free' or 'linear'/ },
  { name: 'tasks not a list', yaml: '- hosts: all\n  tasks: {a: 1}\n', line: 2, col: 10, message: /expected a list of tasks/ },
  {
    name: 'notify unknown handler',
    yaml: play('    - ensure_bridge: {name: br0}\n      notify: restart netwrk\n  handlers:\n    - name: restart network\n      ensure_bridge: {name: br0}\n'),
    line: 4,
    col: 15,
    message: /no handler named 'restart netwrk' in this play: did you mean 'restart network'\?/,
  },
  { name: 'bad register name', yaml: play('    - ensure_bridge: {name: br0}\n      register: 1abc\n'), line: 4, col: 17, message: /expected a variable name/ },
  { name: 'become not a bool', yaml: '- hosts: all\n  become: sure\n  tasks: []\n', line: 2, col: 11, message: /expected true or false/ },
  { name: 'duplicate key', yaml: '- hosts: all\n  hosts: web\n  tasks: []\n', line: 2, col: 3, message: /duplicate key: 'hosts' appears twice/ },
  { name: 'YAML syntax error', yaml: '- hosts: all\n  tasks: [\n', line: 2, col: 10, message: /YAML syntax error: the flow sequence/ },
  { name: 'vars not a map', yaml: '- hosts: all\n  vars: [1, 2]\n  tasks: []\n', line: 2, col: 9, message: /expected a mapping of variables/ },
];

describe('malformed playbooks', () => {
  it('has a corpus of at least 40 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });
  it.each(cases)('$name', (c) => {
    const { playbook, diagnostics } = parsePlaybook('bad.yaml', c.yaml);
    expect(playbook).toBeUndefined();
    const errors = diagnostics.filter((d) => d.severity === 'error');
    const hit = errors.find((d) => c.message.test(d.message));
    expect(hit, `no error matching ${c.message}; got: ${JSON.stringify(errors)}`).toBeDefined();
    expect({ file: hit!.file, line: hit!.line, col: hit!.col }).toEqual({ file: 'bad.yaml', line: c.line, col: c.col });
  });
});

describe('valid playbooks', () => {
  it('collects every problem, not only the first', () => {
    const { diagnostics } = parsePlaybook(
      'bad.yaml',
      play('    - ensure_brige: {}\n    - ensure_ip: {dev: br0, address: x}\n    - ensure_bridge: {name: br0, mtu: 1}\n'),
    );
    expect(diagnostics.filter((d) => d.severity === 'error')).toHaveLength(3);
  });
  it('names the path to the problem', () => {
    const { diagnostics } = parsePlaybook(
      'bad.yaml',
      play('    - ensure_bridge: {name: br0}\n    - ensure_bridge: {name: br0}\n    - ensure_ip: {dev: br0, address: x}\n'),
    );
    expect(diagnostics[0]!.path).toBe('play 1 › task 3 › ensure_ip.address');
  });
  it('defers templated values to rendering time', () => {
    const { playbook, diagnostics } = parsePlaybook('ok.yaml', play("    - ensure_bridge: {name: '{{ br }}', mtu: '{{ mtu }}'}\n"));
    expect(diagnostics).toEqual([]);
    expect(playbook!.plays[0]!.tasks[0]!.args).toEqual({ name: '{{ br }}', mtu: '{{ mtu }}' });
  });
  it('loads the shipped examples', async () => {
    const { loadPlaybook } = await import('../../src/config/playbook.js');
    for (const f of ['playbooks/bridged.yaml', 'playbooks/nat-network.yaml']) {
      const r = loadPlaybook(f);
      expect(r.diagnostics).toEqual([]);
      expect(r.playbook!.plays[0]!.tasks.length).toBeGreaterThan(0);
    }
  });
});
