// ensure_port_forward with libvirt's nftables firewall backend, planned on facts captured from lab
// hosts running bookworm-backports' libvirt 11.3 (test/fixtures/facts/nft-*.stdout, made by
// scripts/capture-nat-fixtures.sh nft; see nat-guests-fixtures.md): what the facts read from
// `nft list`, the plans (kvmnet's table, its accept in libvirt's forward chain), no-ops, re-applies,
// removal, refusals, and a host whose libvirt switched backends under an existing forward.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { shellQuote } from '../../src/connection/quote.js';
import { parseFacts } from '../../src/facts/parse.js';
import type { Facts } from '../../src/model/facts.js';
import { applyChanges, changeLines } from '../../src/model/plan.js';
import { factsSummary } from '../../src/report/facts-view.js';
import { forwardRules, HOOK_SCRIPT, parseNftSection, parseRulesFile, rulesFileContent, type ForwardSpec } from '../../src/tasks/port-forward-rules.js';
import { ALL_FRAGMENTS } from '../../src/facts/needs.js';
import { planOf } from './support/plan-task.js';

const fragments = ALL_FRAGMENTS;
const raw = (name: string) => readFileSync(new URL(`../fixtures/facts/${name}.stdout`, import.meta.url), 'utf8');
const capture = (name: string): Facts => parseFacts(raw(name), '', fragments).facts;
const applyPlan = (facts: Facts, plan: ReturnType<typeof planOf>) => {
  applyChanges(plan.changes, facts);
  return facts;
};

const WEB1 = { network: 'net10', mac: '52:54:00:30:00:11', ip: '192.168.30.11', name: 'web1' };
const SSH = { network: 'net10', guest_mac: '52:54:00:30:00:11', proto: 'tcp', host_port: 2222, guest_port: 22 };
const TAG = 'comment "kvmnet-pf:net10:tcp:any:2222"';
const DNAT = `nft-dnat fib daddr type local tcp dport 2222 dnat to 192.168.30.11:22 ${TAG}`;
const ACCEPT = `nft-accept ip daddr 192.168.30.11 oifname "br10" tcp dport 22 ct status dnat accept ${TAG}`;
const IN_PLACE = 'tcp *:2222 → 192.168.30.11:22 (net10) is in place (rules, rules file and libvirt hooks)';
/** The pf-nft section of a capture, as the host printed it. */
const nftSection = (name: string) => /@@kvmnet:pf-nft@@\n([\s\S]*?)@@kvmnet:/.exec(raw(name))![1]!;

describe('facts of an nftables host (captured, libvirt 11.3)', () => {
  it.each([
    ['nft-fresh-no-rules', 'firewall_backend = nftables in /etc/libvirt/network.conf'],
    ['nft-no-forwards', "libvirt's nftables table (ip libvirt_network) exists"],
    ['nft-guests', "libvirt's nftables table (ip libvirt_network) exists"],
    // The ruleset flushed: no table until libvirtd makes it again, the setting still says so.
    ['nft-guests-flushed', 'firewall_backend = nftables in /etc/libvirt/network.conf'],
  ])('%s: backend nftables (%s)', (name, why) => {
    expect(capture(name).portForwards!.firewall).toEqual({ backend: 'nftables', why });
    expect(capture(name).portForwards!.nft).toBe(true);
  });

  it('kvmnet’s DNAT in its table and its accept in libvirt’s forward chain, above libvirt’s jumps; its files', () => {
    const pf = capture('nft-guests').portForwards!;
    expect(pf.rules).toEqual([DNAT, ACCEPT]);
    expect(pf.jumpsFirst).toBe(true);
    expect(pf.files['/etc/libvirt/hooks/daemon.d/kvmnet-port-forwards']).toBe(HOOK_SCRIPT);
    expect(pf.files['/etc/libvirt/hooks/kvmnet-port-forwards/net10_tcp_any_2222.rules']).toContain(`${DNAT}\n${ACCEPT}\n`);
    expect(factsSummary(capture('nft-guests')).port_forwards).toEqual([
      { network: 'net10', proto: 'tcp', listen: '*', host_ports: '2222', guest: '192.168.30.11:22', guest_name: 'web1', source: 'any', active: true },
    ]);
    expect((factsSummary(capture('nft-guests-flushed')).port_forwards as Array<{ active: boolean }>)[0]!.active).toBe(false);
  });

  it('order: kvmnet’s accept below one of libvirt’s jumps does not count as first (the captured lines, reordered)', () => {
    const lines = nftSection('nft-guests').split('\n');
    expect(parseNftSection(lines.join('\n')).acceptsFirst).toBe(true);
    const ours = lines.findIndex((l) => l.startsWith('forward ') && l.includes('kvmnet-pf:'));
    const below = [...lines.slice(0, ours), ...lines.slice(ours + 1, ours + 2), lines[ours]!, ...lines.slice(ours + 2)];
    expect(parseNftSection(below.join('\n'))).toMatchObject({ acceptsFirst: false, accepts: [ACCEPT.slice(11)] });
    // libvirt's own rules never count as kvmnet's.
    expect(parseNftSection(nftSection('nft-no-forwards'))).toEqual({ command: true, dnat: [], accepts: [], acceptsFirst: false });
  });
});

describe('ensure_port_forward on an nftables host', () => {
  it('fresh: hooks, then the rules file with the nft rules, applied; the diff shows them; then a no-op', () => {
    const f = capture('nft-no-forwards');
    applyPlan(f, planOf('ensure_dhcp_host', WEB1, f));
    const plan = planOf('ensure_port_forward', SSH, f);
    expect(plan.changes.map((c) => c.summary)).toEqual([
      "install kvmnet's libvirt network and daemon hooks (re-apply port forwards when libvirt re-creates its rules; libvirtd uses new hooks from its next start)",
      'forward tcp *:2222 → 192.168.30.11:22 (net10)',
    ]);
    expect(changeLines([plan.changes[1]!]).at(-1)).toBe(`printf '%s' ${shellQuote(HOOK_SCRIPT)} | sh -s -- - apply`);
    expect(plan.diff!.after.split('\n')).toEqual(expect.arrayContaining([DNAT, ACCEPT]));
    applyPlan(f, plan);
    expect(planOf('ensure_port_forward', SSH, f).noop).toBe(IN_PLACE);
  });

  it('the rules kvmnet writes are exactly the ones `nft list` gives back (captured): a no-op', () => {
    expect(planOf('ensure_port_forward', SSH, capture('nft-guests')).noop).toBe(IN_PLACE);
  });

  it('ruleset flushed: re-applied from the same rules file', () => {
    const plan = planOf('ensure_port_forward', SSH, capture('nft-guests-flushed'));
    expect(plan.changes.map((c) => c.summary)).toEqual([
      'update forward tcp *:2222 → 192.168.30.11:22 (net10) (re-applied: its rules are missing from the firewall, kvmnet’s accepts are not above libvirt’s jumps)',
    ]);
    expect(plan.diff!.after).toContain(`live: ${ACCEPT}`);
  });

  it('absent: rules file and hooks removed, the apply takes the table and the accept; the diff shows the live rules; then a no-op', () => {
    const f = capture('nft-guests');
    const plan = planOf('ensure_port_forward', { ...SSH, state: 'absent' }, f);
    expect(plan.changes.map((c) => c.summary)).toEqual([
      'remove port forward tcp *:2222 → 192.168.30.11:22 (net10) and kvmnet’s libvirt hooks (no forward left)',
    ]);
    expect(changeLines([plan.changes[0]!]).slice(0, 3)).toEqual([
      'rm -f /etc/libvirt/hooks/kvmnet-port-forwards/net10_tcp_any_2222.rules',
      'rmdir /etc/libvirt/hooks/kvmnet-port-forwards 2>/dev/null || :',
      `printf '%s' ${shellQuote(HOOK_SCRIPT)} | sh -s -- - apply`,
    ]);
    expect(plan.diff!.before).toContain(`live: ${DNAT}`);
    applyPlan(f, plan);
    expect(f.portForwards!.rules).toEqual([]);
    expect(planOf('ensure_port_forward', { ...SSH, state: 'absent' }, f).noop).toBe('no kvmnet port forward tcp/2222 in net10');
  });

  it('libvirt switched backends under a forward (iptables rules file, nftables now): rewritten with nft rules', () => {
    const f = capture('nat-guests');
    f.portForwards!.firewall = capture('nft-guests').portForwards!.firewall;
    const plan = planOf('ensure_port_forward', SSH, f);
    expect(plan.changes.map((c) => c.summary)).toEqual(['update forward tcp *:2222 → 192.168.30.11:22 (net10)']);
    expect(plan.diff!.before).toContain('nat -A KVMNET_DNAT');
    expect(plan.diff!.after).toContain(ACCEPT);
  });

  it('refused without nft, and when the backend cannot be told', () => {
    const f = capture('nft-guests');
    f.portForwards!.nft = false;
    expect(() => planOf('ensure_port_forward', SSH, f)).toThrow(
      "libvirt on hv1 uses the nftables firewall backend (libvirt's nftables table (ip libvirt_network) exists) but nft is not installed there (apt-get install nftables)",
    );
    f.portForwards!.firewall = { backend: 'unknown', why: 'no libvirt firewall rules, no firewall_backend setting and no libvirtd version found' };
    expect(() => planOf('ensure_port_forward', SSH, f)).toThrow(
      'cannot tell which firewall backend libvirt on hv1 uses (no libvirt firewall rules, no firewall_backend setting and no libvirtd version found); start a NAT network first, or set firewall_backend in /etc/libvirt/network.conf',
    );
  });
});

describe('nft rules (pure)', () => {
  const spec: ForwardSpec = {
    network: 'net10',
    bridge: 'br10',
    proto: 'udp',
    listen: '198.18.0.11',
    hostPorts: [6000, 6010],
    guestIp: '192.168.30.12',
    source: '203.0.113.0/24',
  };
  it.each<[ForwardSpec, string[]]>([
    [
      spec,
      [
        'nft-dnat ip saddr 203.0.113.0/24 ip daddr 198.18.0.11 udp dport 6000-6010 dnat to 192.168.30.12 comment "kvmnet-pf:net10:udp:198.18.0.11:6000-6010"',
        'nft-accept ip saddr 203.0.113.0/24 ip daddr 192.168.30.12 oifname "br10" udp dport 6000-6010 ct status dnat accept comment "kvmnet-pf:net10:udp:198.18.0.11:6000-6010"',
      ],
    ],
    // A single source address: nft prints it without /32.
    [
      { ...spec, proto: 'tcp', listen: undefined, source: '203.0.113.7/32', hostPorts: [2222, 2222], guestPort: 22 },
      [
        'nft-dnat ip saddr 203.0.113.7 fib daddr type local tcp dport 2222 dnat to 192.168.30.12:22 comment "kvmnet-pf:net10:tcp:any:2222"',
        'nft-accept ip saddr 203.0.113.7 ip daddr 192.168.30.12 oifname "br10" tcp dport 22 ct status dnat accept comment "kvmnet-pf:net10:tcp:any:2222"',
      ],
    ],
  ])('%#: forwardRules(nftables)', (s, rules) => {
    expect(forwardRules(s, 'nftables')).toEqual(rules);
    expect(parseRulesFile(rulesFileContent(s, 'nftables'))).toEqual(s);
  });
});
