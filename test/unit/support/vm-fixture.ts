// Facts of a VM lab host (real kernel: bonds, VLANs), from the outputs captured in
// test/fixtures/facts/vm/<state>/, assembled into the facts exec's output and parsed the way a
// run parses it: the core parser, then every registered task type's fragment.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseFacts } from '../../../src/facts/parse.js';
import type { Facts } from '../../../src/model/facts.js';
import { ALL_FRAGMENTS } from '../../../src/facts/needs.js';

const root = join(import.meta.dirname, '../../fixtures/facts/vm');

export type VmState = 'active-backup' | 'active-backup-failover' | '802.3ad' | '802.3ad-member-down' | 'bond-vlan' | 'vlan-bridge';

export interface VmFixtureOptions {
  /** The SSH session's local address (default: mgmt0's, 198.18.138.11). */
  sshAddress?: string;
  /** Routes (ip -j route) — the captures have none; the lab's default route is on mgmt0. */
  routes?: string;
}

/** The facts exec's stdout for this capture (what a VM host would print). */
export function vmFactsOutput(state: VmState, opts: VmFixtureOptions = {}): string {
  const dir = join(root, state);
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  const bond = existsSync(join(dir, 'bond0.txt')) ? `@@kvmnet:bonding:bond0@@\n${read('bond0.txt')}` : '';
  const routes =
    opts.routes ??
    '[{"dst":"default","gateway":"198.18.138.1","dev":"mgmt0","flags":[]},{"dst":"198.18.138.0/24","dev":"mgmt0","protocol":"kernel","scope":"link","prefsrc":"198.18.138.11","flags":[]}]';
  return [
    '@@kvmnet:hostname@@\nhv1\n',
    `@@kvmnet:link@@\n${read('ip-link.json')}`,
    `@@kvmnet:addr@@\n${read('ip-addr.json')}`,
    `@@kvmnet:route@@\n${routes}\n`,
    '@@kvmnet:route6@@\n[]\n',
    `@@kvmnet:ssh@@\n198.18.138.1 40000 ${opts.sshAddress ?? '198.18.138.11'} 22\n`,
    '@@kvmnet:persist@@\n@@kvmnet:dir:/etc/systemd/network@@\n@@kvmnet:dir:/etc/network/interfaces.d@@\n@@kvmnet:persist-end@@\n',
    bond,
    '@@kvmnet:virsh@@\n@@kvmnet:no-virsh@@\n',
  ].join('');
}

export function vmFixture(state: VmState, opts: VmFixtureOptions = {}): Facts {
  const fragments = ALL_FRAGMENTS;
  return parseFacts(vmFactsOutput(state, opts), '', fragments).facts;
}
