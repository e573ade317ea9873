// The shipped example playbooks/nat-guests.yaml (net10, two reserved guests, SSH forwarded to
// one of them) passes `kvmnet validate`'s checks: it loads without diagnostics and every task
// renders for every host, and its arguments are the ones the planner tests use.
import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../src/config/inventory.js';
import { loadPlaybook } from '../../src/config/playbook.js';
import { validatePlaybook } from '../../src/run/validate.js';

describe('playbooks/nat-guests.yaml', () => {
  it('is valid: no load diagnostics, every task renders on every host', () => {
    const { playbook, diagnostics } = loadPlaybook('playbooks/nat-guests.yaml');
    expect(diagnostics).toEqual([]);
    const { inventory } = loadInventory(['hv1.example,hv2.example,']);
    const v = validatePlaybook(playbook!, inventory, {});
    expect(v.renderDiagnostics).toEqual([]);
    const tasks = playbook!.plays[0]!.tasks.map((t) => [t.type, t.args]);
    expect(tasks.map(([type]) => type)).toEqual(['ensure_libvirt_net', 'ensure_dhcp_host', 'ensure_dhcp_host', 'ensure_port_forward', 'ensure_dns_host']);
    expect(tasks[3]![1]).toMatchObject({ network: 'net10', guest_mac: '52:54:00:30:00:11', proto: 'tcp', host_port: 2222, guest_port: 22 });
  });
});
