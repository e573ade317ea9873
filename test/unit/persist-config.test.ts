// The `persist` task argument and play keyword, and the naming rules of the persisted files.
import { describe, expect, it } from 'vitest';
import { parsePlaybook } from '../../src/config/playbook.js';
import { canonicalAddress } from '../../src/model/ip-address.js';
import { classifyPath, encodeIfupdownName, ifupdownPaths, networkdPaths } from '../../src/persist/paths.js';
import { ifupdownPorts, withIfupdownPorts } from '../../src/persist/render.js';
import { prepareTask } from '../../src/run/prepare.js';

const PLAYBOOK = `- hosts: all
  persist: networkd
  tasks:
    - ensure_bridge: { name: br0 }
    - ensure_port: { bridge: br0, interface: eth1, persist: none }
    - ensure_ip: { dev: br0, address: 192.168.0.90/24 }
    - ensure_libvirt_net: { name: n, forward: nat, ip: { address: 10.0.0.1, prefix: 24 } }
- hosts: all
  persist: "{{ fmt }}"
  tasks:
    - ensure_bridge: { name: br0 }
- hosts: all
  tasks:
    - ensure_bridge: { name: br0 }
`;

describe('persist in playbooks', () => {
  const { playbook, diagnostics } = parsePlaybook('/tmp/pb.yaml', PLAYBOOK);
  const prepared = (play: number, task: number, vars: Record<string, unknown> = {}) => prepareTask(playbook!.plays[play]!.tasks[task]!, vars, 'hv1', '/tmp');

  it('the play keyword is the default of ensure_bridge, ensure_port and ensure_ip; a task setting it wins', () => {
    expect(diagnostics).toEqual([]);
    expect(playbook!.plays[0]!.persist).toBe('networkd');
    expect(prepared(0, 0).args).toMatchObject({ persist: 'networkd' });
    expect(prepared(0, 1).args).toMatchObject({ persist: 'none' });
    expect(prepared(0, 2).args).toMatchObject({ persist: 'networkd' });
    expect(prepared(0, 3).args).not.toHaveProperty('persist');
    expect(prepared(2, 0).args).not.toHaveProperty('persist');
  });

  it('a templated play keyword is rendered and validated per host', () => {
    expect(prepared(1, 0, { fmt: 'ifupdown' }).args).toMatchObject({ persist: 'ifupdown' });
    expect(() => prepared(1, 0, { fmt: 'netpln' })).toThrow(/ensure_bridge\.persist: expected one of/);
  });

  it.each([
    [
      'a play value',
      `- hosts: all\n  persist: netpln\n  tasks: [{ ensure_bridge: { name: br0 } }]\n`,
      "expected one of 'networkd', 'ifupdown', 'networkmanager', 'netplan', 'ifupdown2', 'auto', 'none', found the string 'netpln'",
    ],
    ['a task value', `- hosts: all\n  tasks: [{ ensure_bridge: { name: br0, persist: yes } }]\n`, 'expected one of'],
    ['a misspelt play keyword', `- hosts: all\n  persits: networkd\n  tasks: [{ ensure_bridge: { name: br0 } }]\n`, "did you mean 'persist'?"],
  ])('rejects %s', (_, text, message) => {
    const r = parsePlaybook('/tmp/bad.yaml', text);
    expect(r.playbook).toBeUndefined();
    expect(r.diagnostics.map((d) => d.message).join('\n')).toContain(message);
  });
});

describe('persisted file names', () => {
  it.each([
    ['192.168.0.90', '192.168.0.90'],
    ['2001:DB8:0:0::1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
    ['fe80::', 'fe80::'],
    ['::', '::'],
    ['1:0:1:0:1:0:1:0', '1:0:1:0:1:0:1:0'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
  ])('canonical address %s → %s', (a, b) => expect(canonicalAddress(a)).toBe(b));

  it('ifupdown names use only [A-Za-z0-9_-] (source-directory skips other files) and stay distinct', () => {
    const names = ['br0', 'br0.5', 'br0_5', 'br0-5', 'vlan@eth0', 'a+b'];
    const encoded = names.map(encodeIfupdownName);
    expect(encoded).toEqual(['br0', 'br0_2e5', 'br0_5f5', 'br0-5', 'vlan_40eth0', 'a_2bb']);
    expect(new Set(encoded).size).toBe(names.length);
    for (const e of encoded) expect(e).toMatch(/^[a-zA-Z0-9_-]+$/);
    expect(ifupdownPaths.address('br0.5', '2001:db8::1')).toBe('/etc/network/interfaces.d/kvmnet-br0_2e5__2001-db8--1');
  });

  it('classifies kvmnet paths and nothing else', () => {
    expect(classifyPath(networkdPaths.netdev('br0'))).toEqual({ format: 'networkd', role: 'netdev', name: 'br0' });
    expect(classifyPath(networkdPaths.network('br0.5'))).toEqual({ format: 'networkd', role: 'network', name: 'br0.5' });
    expect(classifyPath(networkdPaths.address('br0', '10.0.0.1'))).toEqual({ format: 'networkd', role: 'address', name: 'br0' });
    expect(classifyPath(ifupdownPaths.main('br0'))).toEqual({ format: 'ifupdown', role: 'main' });
    expect(classifyPath(ifupdownPaths.address('br0', '10.0.0.1'))).toEqual({ format: 'ifupdown', role: 'address' });
    expect(classifyPath('/etc/systemd/network/20-wired.network')).toBeUndefined();
    expect(classifyPath('/etc/network/interfaces.d/eth0')).toBeUndefined();
  });

  it('edits only the bridge_ports line of a bridge stanza', () => {
    const text = '# x\nauto br0\niface br0 inet manual\n    bridge_ports none\n    bridge_stp on\n';
    expect(ifupdownPorts(text)).toEqual([]);
    const two = withIfupdownPorts(text, ['eth1', 'eth2']);
    expect(two).toBe('# x\nauto br0\niface br0 inet manual\n    bridge_ports eth1 eth2\n    bridge_stp on\n');
    expect(ifupdownPorts(two)).toEqual(['eth1', 'eth2']);
    expect(withIfupdownPorts(two, [])).toBe(text);
  });
});
