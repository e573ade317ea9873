// ensure_dhcp_host and ensure_port_forward planned on facts captured from lab hosts
// (test/fixtures/facts/nat-*.stdout, see nat-guests-fixtures.md): the facts they read, their
// plans, refusals and no-ops, and how `kvmnet facts` shows them. These hosts run Debian 12's
// libvirt 9.0.0 (iptables backend); the nftables backend: port-forward-nftables.test.ts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { shellQuote } from '../../src/connection/quote.js';
import { parseFacts } from '../../src/facts/parse.js';
import type { Facts } from '../../src/model/facts.js';
import { applyChanges, changeLines, changeTouches } from '../../src/model/plan.js';
import { RefusedError } from '../../src/errors.js';
import { factsSummary } from '../../src/report/facts-view.js';
import { dhcpHostsOf, hostXml, inSubnet, parseLeases } from '../../src/tasks/dhcp-hosts.js';
import { reservations } from '../../src/tasks/ensure-dhcp-host.js';
import { firewallBackend, forwardRules, HOOK_SCRIPT, parseRulesFile, rulesFileContent, type ForwardSpec } from '../../src/tasks/port-forward-rules.js';
import { ALL_FRAGMENTS } from '../../src/facts/needs.js';
import { taskModules } from '../../src/tasks/registry.js';
import { planOf } from './support/plan-task.js';

const fragments = ALL_FRAGMENTS;
const capture = (name: string): Facts => parseFacts(readFileSync(new URL(`../fixtures/facts/${name}.stdout`, import.meta.url), 'utf8'), '', fragments).facts;
const applyPlan = (facts: Facts, plan: ReturnType<typeof planOf>) => {
  applyChanges(plan.changes, facts);
  return facts;
};

const WEB1 = { network: 'net10', mac: '52:54:00:30:00:11', ip: '192.168.30.11', name: 'web1' };
const SSH = { network: 'net10', guest_mac: '52:54:00:30:00:11', proto: 'tcp', host_port: 2222, guest_port: 22 };

describe('facts of the guests’ side (captured)', () => {
  it('reservations of the persistent and the live definition, and leases', () => {
    const f = capture('nat-guests');
    expect(f.dhcp!.net10!.config).toEqual([
      { mac: '52:54:00:30:00:11', ip: '192.168.30.11', name: 'web1' },
      { mac: '52:54:00:30:00:12', ip: '192.168.30.12', name: 'db1' },
      { mac: '52:54:00:e5:07:e7', ip: '192.168.30.20', name: 'guest1' },
    ]);
    // 52:54:00:30:00:13 was added with `net-update --live` only.
    expect(f.dhcp!.net10!.live).toContainEqual({ mac: '52:54:00:30:00:13', ip: '192.168.30.13' });
    expect(f.dhcp!.net10!.leases).toEqual([
      {
        expiry: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
        mac: '52:54:00:30:00:11',
        protocol: 'ipv4',
        address: '192.168.30.11/24',
        hostname: 'web1',
        clientId: '01:52:54:00:30:00:11',
      },
    ]);
    // The running definition of an active network is read too (what a live update is checked against).
    expect(f.dhcp!.default).toEqual({
      config: [],
      live: [],
      liveXml: expect.stringMatching(/^<network>\n {2}<name>default<\/name>/),
      leases: [],
      dnsConfig: [],
      dnsLive: [],
    });
  });

  it('the firewall: libvirt’s backend, kvmnet’s rules, its jumps first, its files', () => {
    const f = capture('nat-guests');
    expect(f.portForwards!.firewall).toEqual({ backend: 'iptables', why: "libvirt's LIBVIRT_* iptables chains exist" });
    expect(f.portForwards!.rules).toHaveLength(2);
    expect(f.portForwards!.jumpsFirst).toBe(true);
    expect(Object.keys(f.portForwards!.files).sort()).toEqual([
      '/etc/libvirt/hooks/daemon.d/kvmnet-port-forwards',
      '/etc/libvirt/hooks/kvmnet-port-forwards/net10_tcp_any_2222.rules',
      '/etc/libvirt/hooks/network.d/kvmnet-port-forwards',
    ]);
    expect(f.portForwards!.files['/etc/libvirt/hooks/network.d/kvmnet-port-forwards']).toBe(HOOK_SCRIPT);
  });

  it.each([
    ['nat-fresh-no-rules', 'iptables', 'libvirt 9.0.0 has only the iptables backend'],
    ['nat-no-forwards', 'iptables', "libvirt's LIBVIRT_* iptables chains exist"],
    ['nat-guests-flushed', 'iptables', "libvirt's LIBVIRT_* iptables chains exist"],
  ])('%s: backend %s (%s)', (name, backend, why) => {
    expect(capture(name).portForwards!.firewall).toEqual({ backend, why });
  });

  it.each([
    ['nft-table\n', false, 'nftables', "libvirt's nftables table (ip libvirt_network) exists"],
    ['conf nftables\n', false, 'nftables', 'firewall_backend = nftables in /etc/libvirt/network.conf'],
    ['version libvirtd (libvirt) 10.4.0\n', false, 'nftables', 'libvirt 10.4.0 defaults to nftables'],
    ['version libvirtd (libvirt) 10.3.0\n', false, 'iptables', 'libvirt 10.3.0 has only the iptables backend'],
    ['', false, 'unknown', 'no libvirt firewall rules, no firewall_backend setting and no libvirtd version found'],
  ])('backend from %j (rules of libvirt: %s) → %s', (text, chains, backend, why) => {
    expect(firewallBackend(text, chains)).toEqual({ backend, why });
  });

  it('kvmnet facts: which guest (domiflist MAC) holds which reservation, its lease, the forward', () => {
    const f = capture('nat-guests');
    // The running guest of the with-guest capture (guest1, 52:54:00:e5:07:e7 on net10): its reservation was made on the nat-guests host.
    const withGuest = parseFacts(readFileSync(new URL('../fixtures/facts/with-guest.stdout', import.meta.url), 'utf8'), '').facts;
    if (f.libvirt.available && withGuest.libvirt.available) f.libvirt.guests = withGuest.libvirt.guests;
    expect(reservations(f)).toEqual([
      { network: 'net10', mac: '52:54:00:30:00:11', ip: '192.168.30.11', name: 'web1', in: 'both', guest: null, lease: '192.168.30.11/24' },
      { network: 'net10', mac: '52:54:00:30:00:12', ip: '192.168.30.12', name: 'db1', in: 'both', guest: null, lease: null },
      { network: 'net10', mac: '52:54:00:e5:07:e7', ip: '192.168.30.20', name: 'guest1', in: 'both', guest: 'guest1 (vnet0)', lease: null },
      { network: 'net10', mac: '52:54:00:30:00:13', ip: '192.168.30.13', name: null, in: 'live', guest: null, lease: null },
    ]);
    const summary = factsSummary(f);
    expect(summary.port_forwards).toEqual([
      { network: 'net10', proto: 'tcp', listen: '*', host_ports: '2222', guest: '192.168.30.11:22', guest_name: 'web1', source: 'any', active: true },
    ]);
    expect((factsSummary(capture('nat-guests-flushed')).port_forwards as Array<{ active: boolean }>)[0]!.active).toBe(false);
  });
});

describe('ensure_dhcp_host', () => {
  it('no reservation yet: one net-update add, --live --config (active, persistent)', () => {
    const plan = planOf('ensure_dhcp_host', WEB1, capture('nat-no-forwards'));
    expect(plan.changes.map((c) => changeLines([c]))).toEqual([
      [
        `virsh -q net-update net10 add ip-dhcp-host '<host mac='\\''52:54:00:30:00:11'\\'' name='\\''web1'\\'' ip='\\''192.168.30.11'\\''/>' --config --live >/dev/null`,
      ],
    ]);
    expect(changeTouches(plan.changes, capture('nat-no-forwards'))).toEqual([{ kind: 'network', name: 'net10' }]);
  });

  it('then a no-op, because the effect updated the facts', () => {
    const f = capture('nat-no-forwards');
    applyPlan(f, planOf('ensure_dhcp_host', WEB1, f));
    expect(planOf('ensure_dhcp_host', WEB1, f)).toMatchObject({ changes: [], noop: 'net10 reserves 192.168.30.11 for 52:54:00:30:00:11 (web1)' });
  });

  it('in place on the captured host: no change, because both definitions have it', () => {
    expect(planOf('ensure_dhcp_host', WEB1, capture('nat-guests')).noop).toBe('net10 reserves 192.168.30.11 for 52:54:00:30:00:11 (web1)');
  });

  it('live only (net-update --live by hand): added to the persistent definition only', () => {
    const plan = planOf('ensure_dhcp_host', { network: 'net10', mac: '52:54:00:30:00:13', ip: '192.168.30.13' }, capture('nat-guests'));
    expect(plan.changes.map((c) => c.summary)).toEqual(['reserve 192.168.30.13 for 52:54:00:30:00:13 in net10 (persistent definition only)']);
    expect(changeLines([plan.changes[0]!])[0]).toMatch(/ add ip-dhcp-host .* --config >\/dev\/null$/);
  });

  it('a changed address: net-update modify', () => {
    const plan = planOf('ensure_dhcp_host', { ...WEB1, ip: '192.168.30.21' }, capture('nat-guests'));
    expect(plan.changes.map((c) => c.summary)).toEqual([
      'change reservation of 52:54:00:30:00:11 in net10 to mac 52:54:00:30:00:11, name web1, ip 192.168.30.21',
    ]);
    expect(changeLines([plan.changes[0]!])[0]).toContain(' modify ip-dhcp-host ');
    expect(plan.diff).toEqual({
      before: "config: <host mac='52:54:00:30:00:11' name='web1' ip='192.168.30.11'/>\nlive: <host mac='52:54:00:30:00:11' name='web1' ip='192.168.30.11'/>",
      after: "config: <host mac='52:54:00:30:00:11' name='web1' ip='192.168.30.21'/>\nlive: <host mac='52:54:00:30:00:11' name='web1' ip='192.168.30.21'/>",
    });
  });

  it.each([
    [{ ...WEB1, ip: '10.0.0.5' }, "10.0.0.5 is outside the usable addresses of network net10's subnet 192.168.30.1/24"],
    [{ ...WEB1, ip: '192.168.30.255' }, "192.168.30.255 is outside the usable addresses of network net10's subnet 192.168.30.1/24"],
    [{ ...WEB1, ip: '192.168.30.1' }, "192.168.30.1 is network net10's own address (the guests' gateway)"],
    [
      { ...WEB1, mac: '52:54:00:30:00:99' },
      'ip 192.168.30.11 is already reserved in network net10 (persistent definition) by another entry: mac 52:54:00:30:00:11, name web1, ip 192.168.30.11; remove or change that entry first',
    ],
    [
      { ...WEB1, mac: '52:54:00:30:00:99', ip: '192.168.30.99', name: 'db1' },
      'name db1 is already reserved in network net10 (persistent definition) by another entry: mac 52:54:00:30:00:12, name db1, ip 192.168.30.12; remove or change that entry first',
    ],
    [
      { ...WEB1, mac: '52:54:00:30:00:99', ip: '192.168.30.13', name: undefined },
      'ip 192.168.30.13 is already reserved in network net10 (live network) by another entry: mac 52:54:00:30:00:13, ip 192.168.30.13; remove or change that entry first',
    ],
    [{ ...WEB1, network: 'nope' }, 'network nope is not defined on hv1'],
  ])('refuses %j', (args, message) => {
    const f = capture('nat-guests');
    expect(() => planOf('ensure_dhcp_host', args, f)).toThrow(RefusedError);
    expect(() => planOf('ensure_dhcp_host', args, f)).toThrow(message);
  });

  it('absent: deletes each definition’s own entry; absent again is a no-op', () => {
    const f = capture('nat-guests');
    const plan = planOf('ensure_dhcp_host', { ...WEB1, state: 'absent' }, f);
    expect(plan.changes.map((c) => c.summary)).toEqual(['remove reservation mac 52:54:00:30:00:11, name web1, ip 192.168.30.11 from net10']);
    expect(changeLines([plan.changes[0]!])[0]).toContain(' delete ip-dhcp-host ');
    applyPlan(f, plan);
    expect(planOf('ensure_dhcp_host', { ...WEB1, state: 'absent' }, f).noop).toBe('net10 has no reservation for 52:54:00:30:00:11');
  });
});

describe('ensure_port_forward', () => {
  it('fresh: installs the hooks, writes the rules file and applies it; the diff shows the rules', () => {
    const f = capture('nat-no-forwards');
    applyPlan(f, planOf('ensure_dhcp_host', WEB1, f));
    const plan = planOf('ensure_port_forward', SSH, f);
    expect(plan.changes.map((c) => c.summary)).toEqual([
      "install kvmnet's libvirt network and daemon hooks (re-apply port forwards when libvirt re-creates its rules; libvirtd uses new hooks from its next start)",
      'forward tcp *:2222 → 192.168.30.11:22 (net10)',
    ]);
    // The files; the firewall apply touches no network (a rollback puts the files back and applies them again).
    expect(changeTouches(plan.changes, f)).toEqual([
      { kind: 'file', path: '/etc/libvirt/hooks/network.d/kvmnet-port-forwards' },
      { kind: 'file', path: '/etc/libvirt/hooks/daemon.d/kvmnet-port-forwards' },
      { kind: 'file', path: '/etc/libvirt/hooks/kvmnet-port-forwards/net10_tcp_any_2222.rules' },
    ]);
    expect(plan.diff!.after).toContain(
      'nat -A KVMNET_DNAT -p tcp -m addrtype --dst-type LOCAL -m tcp --dport 2222 -m comment --comment "kvmnet-pf:net10:tcp:any:2222" -j DNAT --to-destination 192.168.30.11:22',
    );
    applyPlan(f, plan);
    expect(planOf('ensure_port_forward', SSH, f).noop).toBe('tcp *:2222 → 192.168.30.11:22 (net10) is in place (rules, rules file and libvirt hooks)');
  });

  it('the rules kvmnet writes are exactly the ones iptables-save gives back (captured): a no-op', () => {
    expect(planOf('ensure_port_forward', SSH, capture('nat-guests')).noop).toBe(
      'tcp *:2222 → 192.168.30.11:22 (net10) is in place (rules, rules file and libvirt hooks)',
    );
    expect(planOf('ensure_port_forward', { ...SSH, guest_mac: undefined, guest_ip: '192.168.30.11' }, capture('nat-guests')).changes).toEqual([]);
  });

  it('firewall flushed: re-applied from the same rules file', () => {
    const plan = planOf('ensure_port_forward', SSH, capture('nat-guests-flushed'));
    expect(plan.changes.map((c) => c.summary)).toEqual([
      'update forward tcp *:2222 → 192.168.30.11:22 (net10) (re-applied: its rules are missing from the firewall, kvmnet’s chains are not first)',
    ]);
    expect(changeLines([plan.changes[0]!]).at(-1)).toBe(`printf '%s' ${shellQuote(HOOK_SCRIPT)} | sh -s -- - apply`);
  });

  it('absent: the last forward takes the hooks with it; then a no-op', () => {
    const f = capture('nat-guests');
    const plan = planOf('ensure_port_forward', { ...SSH, state: 'absent' }, f);
    expect(plan.changes.map((c) => c.summary)).toEqual([
      'remove port forward tcp *:2222 → 192.168.30.11:22 (net10) and kvmnet’s libvirt hooks (no forward left)',
    ]);
    expect(changeLines([plan.changes[0]!])).toEqual([
      'rm -f /etc/libvirt/hooks/kvmnet-port-forwards/net10_tcp_any_2222.rules',
      // The emptied rules directory goes before the apply: the apply then finds no rules file, as in an empty directory.
      'rmdir /etc/libvirt/hooks/kvmnet-port-forwards 2>/dev/null || :',
      `printf '%s' ${shellQuote(HOOK_SCRIPT)} | sh -s -- - apply`,
      'rm -f /etc/libvirt/hooks/network.d/kvmnet-port-forwards',
      'rm -f /etc/libvirt/hooks/daemon.d/kvmnet-port-forwards',
    ]);
    applyPlan(f, plan);
    expect(planOf('ensure_port_forward', { ...SSH, state: 'absent' }, f).noop).toBe('no kvmnet port forward tcp/2222 in net10');
  });

  it('a second forward of the same port elsewhere is refused, naming the one in place', () => {
    expect(() => planOf('ensure_port_forward', { ...SSH, host_port: '2200-2300', guest_port: undefined }, capture('nat-guests'))).toThrow(
      'tcp port 2200-2300 on hv1 is already forwarded by kvmnet: tcp *:2222 → 192.168.30.11:22 (net10) (/etc/libvirt/hooks/kvmnet-port-forwards/net10_tcp_any_2222.rules); remove that forward first',
    );
  });

  it.each([
    [
      { ...SSH, guest_mac: '52:54:00:00:00:01' },
      'network net10 on hv1 has no DHCP reservation for 52:54:00:00:00:01: reserve an address first (ensure_dhcp_host) or give guest_ip',
    ],
    [{ ...SSH, guest_mac: undefined, guest_ip: '10.1.1.1' }, "guest 10.1.1.1 is outside network net10's subnet 192.168.30.1/24"],
    [{ ...SSH, network: 'nope' }, 'network nope is not defined on hv1'],
  ])('refuses %j', (args, message) => {
    expect(() => planOf('ensure_port_forward', args, capture('nat-guests'))).toThrow(message);
  });

  it('the SSH session’s own port is refused (new SSH connections would reach the guest); on another listen address it is fine', () => {
    const f = capture('nat-guests');
    expect(() => planOf('ensure_port_forward', { ...SSH, host_port: 22 }, f)).toThrow(
      /^forwarding tcp port 22 of 198\.18\.\d+\.\d+ would send new SSH connections to hv1 \(like kvmnet's next one\) to the guest/,
    );
    expect(() => planOf('ensure_port_forward', { ...SSH, host_port: '20-30', guest_port: undefined }, f)).toThrow(/^forwarding tcp port 22 /);
    expect(planOf('ensure_port_forward', { ...SSH, host_port: 22, listen: '192.168.122.1' }, f).changes.map((c) => c.summary)).toEqual([
      'forward tcp 192.168.122.1:22 → 192.168.30.11:22 (net10)',
    ]);
    expect(planOf('ensure_port_forward', { ...SSH, host_port: 22, proto: 'udp' }, f).changes).toHaveLength(1);
  });

  it('a forward network that is not NAT is refused', () => {
    const f = capture('nat-guests');
    if (f.libvirt.available) f.libvirt.networks.net10!.forwardMode = 'route';
    expect(() => planOf('ensure_port_forward', SSH, f)).toThrow("network net10 on hv1 has forward mode 'route', not nat");
  });
});

describe('rules and files (pure)', () => {
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
        'nat -A KVMNET_DNAT -s 203.0.113.0/24 -d 198.18.0.11/32 -p udp -m udp --dport 6000:6010 -m comment --comment "kvmnet-pf:net10:udp:198.18.0.11:6000-6010" -j DNAT --to-destination 192.168.30.12',
        'filter -A KVMNET_FWD -s 203.0.113.0/24 -d 192.168.30.12/32 -o br10 -p udp -m udp --dport 6000:6010 -m conntrack --ctstate DNAT -m comment --comment "kvmnet-pf:net10:udp:198.18.0.11:6000-6010" -j ACCEPT',
      ],
    ],
    [
      { ...spec, proto: 'tcp', listen: undefined, source: undefined, hostPorts: [2222, 2222], guestPort: 22 },
      [
        'nat -A KVMNET_DNAT -p tcp -m addrtype --dst-type LOCAL -m tcp --dport 2222 -m comment --comment "kvmnet-pf:net10:tcp:any:2222" -j DNAT --to-destination 192.168.30.12:22',
        'filter -A KVMNET_FWD -d 192.168.30.12/32 -o br10 -p tcp -m tcp --dport 22 -m conntrack --ctstate DNAT -m comment --comment "kvmnet-pf:net10:tcp:any:2222" -j ACCEPT',
      ],
    ],
  ])('%#: forwardRules', (s, rules) => {
    expect(forwardRules(s)).toEqual(rules);
    expect(parseRulesFile(rulesFileContent(s))).toEqual(s);
  });

  it.each([
    [
      { network: 'net10', guest_ip: '192.168.30.11', host_port: '8000-8010', guest_port: 80 },
      'guest_port',
      'a range of host ports goes to the same ports on the guest: leave guest_port out (or give 8000)',
    ],
    [{ network: 'net10', guest_ip: '192.168.30.11', guest_mac: '52:54:00:30:00:11', host_port: 22 }, 'guest_ip', 'give exactly one of guest_ip and guest_mac'],
    [{ network: 'net10', guest_ip: '192.168.30.11', host_port: 22, source: '2001:db8::/32' }, 'source', 'expected an IPv4 network like 203.0.113.0/24'],
    [{ network: 'net10', guest_ip: '192.168.30.11', host_port: '9-2' }, 'host_port', 'expected a range low-high within 1–65535'],
  ])('argument problem: %j', (args, field, message) => {
    const m = taskModules.find((t) => t.type === 'ensure_port_forward')!;
    expect(m.argProblems!(args)).toEqual([{ field, message }]);
  });

  it('host XML, subnets and lease rows', () => {
    expect(hostXml({ mac: '52:54:00:00:00:01', ip: '192.168.30.5', name: "a'b" })).toBe("<host mac='52:54:00:00:00:01' name='a&apos;b' ip='192.168.30.5'/>");
    expect(dhcpHostsOf("<network><ip address='10.0.0.1' prefix='8'><dhcp><host mac='AA:BB:CC:DD:EE:FF' ip='10.1.2.3'/></dhcp></ip></network>")).toEqual([
      { mac: 'aa:bb:cc:dd:ee:ff', ip: '10.1.2.3' },
    ]);
    expect([inSubnet('192.168.30.200', { address: '192.168.30.1', prefix: 24 }), inSubnet('192.168.31.1', { address: '192.168.30.1', prefix: 24 })]).toEqual([
      true,
      false,
    ]);
    expect(parseLeases(' 2026-12-01 16:50:33   52:54:00:30:00:11   ipv4   192.168.30.11/24   -   -\n')).toEqual([
      { expiry: '2026-12-01 16:50:33', mac: '52:54:00:30:00:11', protocol: 'ipv4', address: '192.168.30.11/24' },
    ]);
  });
});

describe('ensure_dns_host (captured: nat-dns)', () => {
  const WWW = { network: 'net10', ip: '192.168.30.11', hostnames: ['www.lab.example', 'web1.lab.example'] };

  it('facts: the records of both definitions; one added with --live only', () => {
    const st = capture('nat-dns').dhcp!.net10!;
    expect(st.dnsConfig).toEqual([{ ip: '192.168.30.11', hostnames: ['www.lab.example', 'web1.lab.example'] }]);
    expect(st.dnsLive).toEqual([
      { ip: '192.168.30.11', hostnames: ['www.lab.example', 'web1.lab.example'] },
      { ip: '192.168.30.12', hostnames: ['db.lab.example'] },
    ]);
    expect(factsSummary(capture('nat-dns')).dns_hosts).toEqual([
      { network: 'net10', ip: '192.168.30.11', hostnames: ['www.lab.example', 'web1.lab.example'], in: 'both' },
      { network: 'net10', ip: '192.168.30.12', hostnames: ['db.lab.example'], in: 'live' },
    ]);
  });

  it('in place (names in any order): no change', () => {
    expect(planOf('ensure_dns_host', { ...WWW, hostnames: ['web1.lab.example', 'www.lab.example'] }, capture('nat-dns')).noop).toBe(
      'net10 resolves web1.lab.example, www.lab.example → 192.168.30.11',
    );
  });

  it('new: one add on both sides; then a no-op', () => {
    const f = capture('nat-no-forwards');
    const plan = planOf('ensure_dns_host', WWW, f);
    expect(plan.changes.map((c) => changeLines([c])[0])).toEqual([
      `virsh -q net-update net10 add dns-host '<host ip='\\''192.168.30.11'\\''><hostname>www.lab.example</hostname><hostname>web1.lab.example</hostname></host>' --config --live >/dev/null`,
    ]);
    applyPlan(f, plan);
    expect(planOf('ensure_dns_host', WWW, f).changes).toEqual([]);
  });

  it('other names: delete the record and add it again (libvirt cannot modify one)', () => {
    const plan = planOf('ensure_dns_host', { ...WWW, hostnames: ['www.lab.example'] }, capture('nat-dns'));
    expect(plan.changes.map((c) => c.summary)).toEqual([
      'remove DNS host www.lab.example, web1.lab.example → 192.168.30.11 from net10 (to add it with other names)',
      'add DNS host www.lab.example → 192.168.30.11 to net10',
    ]);
  });

  it('live only: added to the persistent definition only', () => {
    const plan = planOf('ensure_dns_host', { network: 'net10', ip: '192.168.30.12', hostnames: ['db.lab.example'] }, capture('nat-dns'));
    expect(plan.changes.map((c) => c.summary)).toEqual(['add DNS host db.lab.example → 192.168.30.12 to net10 (persistent definition only)']);
  });

  it('a name another record holds is refused, naming it', () => {
    expect(() => planOf('ensure_dns_host', { network: 'net10', ip: '192.168.30.40', hostnames: ['db.lab.example'] }, capture('nat-dns'))).toThrow(
      'name db.lab.example is already a DNS host record of network net10 (live network) for another address: db.lab.example → 192.168.30.12; remove or change that record first',
    );
  });

  it('absent: one delete on both sides; then a no-op', () => {
    const f = capture('nat-dns');
    const plan = planOf('ensure_dns_host', { ...WWW, state: 'absent' }, f);
    expect(plan.changes.map((c) => changeLines([c])[0])).toEqual([
      expect.stringMatching(/^virsh -q net-update net10 delete dns-host .* --config --live >\/dev\/null$/),
    ]);
    applyPlan(f, plan);
    expect(planOf('ensure_dns_host', { ...WWW, state: 'absent' }, f).noop).toBe('net10 has no DNS host record for 192.168.30.11');
  });
});
