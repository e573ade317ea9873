// Rendering every task for every host before any is contacted: a mistake is one error where the
// value is written, listing the hosts, not one per host.
import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../src/config/inventory.js';
import { parsePlaybook } from '../../src/config/playbook.js';
import { formatDiagnostic } from '../../src/errors.js';
import { validatePlaybook } from '../../src/run/validate.js';

const PLAYBOOK = `- hosts: all
  tasks:
    - name: uplink
      ensure_port:
        bridge: br0
        interface: "{{ uplink }}"
    - ensure_ip:
        dev: br0
        address: "{{ mgmt_ip }}/24"
      when: mgmt_ip is defined
    - ensure_bridge: { name: br0 }
      register: made
    - ensure_ip: { dev: "{{ made.name }}", address: "{{ addr }}" }
`;

function validate(hosts: string, extraVars: Record<string, unknown> = {}) {
  const { inventory } = loadInventory([hosts]);
  const { playbook } = parsePlaybook('play.yaml', PLAYBOOK);
  return validatePlaybook(playbook!, inventory, extraVars).renderDiagnostics.map(formatDiagnostic);
}

describe('validate', () => {
  it('one undefined variable on 200 hosts is ONE error at the line of the value, naming a few hosts and the count', () => {
    const hosts = Array.from({ length: 200 }, (_, i) => `hv${i + 1}`).join(',') + ',';
    expect(validate(hosts, { addr: '10.0.0.1/8' })).toEqual([
      "error: play.yaml:6:20: play 1 › task 1 › ensure_port.interface: undefined variable 'uplink' (200 hosts: hv1, hv2, hv3, hv4, hv5 … and 195 more)",
    ]);
  });

  it('a value defined on some hosts only lists the others; a `when` guard and registered results are left to run time', () => {
    const { inventory } = loadInventory(['hv1,hv2,hv3,']);
    inventory.hosts.get('hv2')!.vars.uplink = 'eth1';
    const { playbook } = parsePlaybook('play.yaml', PLAYBOOK);
    const out = validatePlaybook(playbook!, inventory, {}).renderDiagnostics.map(formatDiagnostic);
    expect(out).toEqual([
      "error: play.yaml:6:20: play 1 › task 1 › ensure_port.interface: undefined variable 'uplink' (2 hosts: hv1, hv3)",
      "error: play.yaml:13:53: play 1 › task 4 › ensure_ip.address: undefined variable 'addr' (3 hosts: hv1, hv2, hv3)",
    ]);
  });
});
