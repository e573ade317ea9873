// Inverses that undo what the kernel does alongside an operation, on facts captured on real hosts
// (each measured on a lab host by test/e2e/21-ops-inverse.test.ts):
// - re-creating a deleted bridge passes VLAN filtering only when it was on: off is the kernel's
//   default, and a kernel without CONFIG_BRIDGE_VLAN_FILTERING (the namespace lab's) refuses even
//   `vlan_filtering 0`, so the bridge would not come back;
// - a link taken down loses its routes and its IPv6 addresses: up again, they are put back;
// - an address deleted takes the link's routes with it (all of them with the last IPv4 address).
import { ALL_FRAGMENTS } from '../../src/facts/needs.js';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseFacts } from '../../src/facts/parse.js';
import { inverseOps, opsLines } from '../../src/ops/index.js';
import { vmFixture } from './support/vm-fixture.js';

const fragments = ALL_FRAGMENTS;
const converged = parseFacts(readFileSync(new URL('../fixtures/facts/converged.stdout', import.meta.url), 'utf8'), '', fragments).facts;

describe('the inverse of taking a link down, or deleting an address', () => {
  it('down: up again, then its addresses and its routes (not the kernel’s own)', () => {
    const { undo } = inverseOps([{ op: 'link.up', name: 'mgmt0', up: false }], converged);
    expect(opsLines(undo)).toEqual([
      'ip link set mgmt0 up',
      'ip address replace 198.18.176.12/24 dev mgmt0',
      'ip route replace default via 198.18.176.1 dev mgmt0',
    ]);
  });

  it('up: only down again', () => {
    const { undo } = inverseOps([{ op: 'link.up', name: 'eth2', up: true }], converged);
    expect(opsLines(undo)).toEqual(['ip link set eth2 down']);
  });

  it('an address deleted: back, then the routes of its family through the link', () => {
    const { undo } = inverseOps([{ op: 'addr.del', dev: 'mgmt0', address: '198.18.176.12', prefix: 24, family: 4 }], converged);
    expect(opsLines(undo)).toEqual(['ip address replace 198.18.176.12/24 dev mgmt0', 'ip route replace default via 198.18.176.1 dev mgmt0']);
  });
});

describe('the inverse of deleting a bridge', () => {
  it('a bridge without VLAN filtering comes back without vlan_filtering in its ip link add', () => {
    expect(converged.links.br0?.bridge?.vlanFiltering).toBe(false);
    const { undo } = inverseOps([{ op: 'link.del', name: 'br0' }], converged);
    expect(opsLines(undo)[0]).toBe('ip link add br0 type bridge stp_state 1 forward_delay 1500');
  });

  it('a VLAN-aware bridge comes back VLAN-aware, with its default pvid', () => {
    const vm = vmFixture('vlan-bridge');
    expect(vm.links.br0?.bridge?.vlanFiltering).toBe(true);
    const { undo } = inverseOps([{ op: 'link.del', name: 'br0' }], vm);
    expect(opsLines(undo)[0]).toBe('ip link add br0 type bridge stp_state 0 forward_delay 1500 vlan_filtering 1 vlan_default_pvid 1');
  });
});
