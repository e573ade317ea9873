// playbooks/nat-guests.yaml on hv1, proven through the data plane: two "guests" (network
// namespaces plugged into net10's bridge br10 by a veth) get their reserved addresses from
// libvirt's dnsmasq; a TCP connection from the root namespace to hv1's management address,
// port 2222, reaches a listener on port 22 of web1; it still does after net-destroy + net-start
// and after libvirtd restarts (also when the firewall was flushed first, so that libvirt
// re-creates its own rules and kvmnet's hook must put the forward back); `state: absent`
// removes it (refused again) and leaves libvirt's own rules exactly as they were.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCollect } from './exec.js';
import { GUESTS, hookSettled as hookSettledIn, reaches, tryConnect as tryConnectTo } from './nat-guests-support.js';
import {
  inHost,
  inventory,
  kvmnet,
  labDir,
  labHost,
  labPrefix,
  REPO_PLAYBOOKS,
  resetHost,
  scratchDir,
  show,
  summaryOf,
  virsh,
  waitFor,
  writePlaybook,
} from './helpers.js';

const HOST = 'hv1';
const PLAYBOOK = join(REPO_PLAYBOOKS, 'nat-guests.yaml');

const ns = (g: (typeof GUESTS)[number]) => `${labPrefix()}-${g.id}`;
const veth = (g: (typeof GUESTS)[number]) => `${labPrefix()}${g.id}`;
const sh = async (argv: string[]) => {
  const r = await spawnCollect(argv, { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${show(r)}`);
  return r.stdout;
};

const tries = { attempts: 0 };
const tryConnect = (port: number) => tryConnectTo(labHost(HOST).address, port);
/** Connects until web1's listener answers. */
const reachesWeb1 = () => reaches(labHost(HOST).address, 2222, 'hello from web1', tries);

/** libvirt's own rules: iptables-save without kvmnet's chains, counters and comments. */
async function libvirtRules(): Promise<string[]> {
  const out = (await inHost(HOST, ['iptables-save'])).stdout;
  return out
    .split('\n')
    .filter((l) => l && !l.startsWith('#') && !l.includes('KVMNET'))
    .map((l) => l.replace(/\[\d+:\d+\]/, ''));
}
const kvmnetRules = async () => (await inHost(HOST, ['iptables-save'])).stdout.split('\n').filter((l) => l.includes('KVMNET'));

async function plugIn(g: (typeof GUESTS)[number]): Promise<void> {
  await inHost(HOST, ['ip', 'link', 'set', veth(g), 'master', 'br10', 'up']);
}

async function restartLibvirtd(): Promise<void> {
  const pid = labHost(HOST).libvirtdPid!;
  await inHost(HOST, ['kill', String(pid)]);
  await waitFor(
    'libvirtd to exit',
    async () => (await inHost(HOST, ['sh', '-c', `kill -0 ${pid} 2>/dev/null || echo gone`])).stdout.includes('gone'),
    30_000,
    100,
  );
  // `lab up` restarts what is missing (libvirtd the way the lab runs it) and records its pid.
  const r = await kvmnet(['lab', 'up', '--dir', labDir()], { timeoutMs: 180_000 });
  expect(r.code, show(r)).toBe(0);
  expect(labHost(HOST).libvirtdPid).not.toBe(pid);
}

const hookSettled = () => hookSettledIn(labHost(HOST).netns);

const listeners: ChildProcess[] = [];

describe('nat-guests.yaml: DHCP reservations and a port forward, through the data plane', () => {
  let libvirtBefore: string[];
  const script = join(scratchDir('nat-guests'), 'udhcpc.sh');

  beforeAll(async () => {
    await resetHost(HOST);
    // net10 alone first: libvirt's rules as they are before kvmnet forwards anything.
    const net = writePlaybook(
      'nat-guests-net10',
      `- hosts: ${HOST}\n  tasks:\n    - ensure_libvirt_net: { name: net10, forward: nat, nat_ports: { start: 1024, end: 65535 }, bridge: { name: br10, stp: true, delay: 0 }, ip: { address: 192.168.30.1, netmask: 255.255.255.0, dhcp: { ranges: [{ start: 192.168.30.50, end: 192.168.30.200 }] } }, state: active, autostart: true }\n`,
    );
    const r = await kvmnet(['run', net, '-i', inventory(), '--limit', HOST]);
    expect(r.code, show(r)).toBe(0);
    libvirtBefore = await libvirtRules();
    writeFileSync(
      script,
      '#!/bin/sh\ncase "$1" in bound|renew) ip addr flush dev "$interface"; ip addr add "$ip/$subnet" dev "$interface"; ip route replace default via "${router%% *}";; esac\nexit 0\n',
    );
    chmodSync(script, 0o755);
    for (const g of GUESTS) {
      await sh(['ip', 'netns', 'add', ns(g)]);
      await sh(['ip', 'link', 'add', veth(g), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns(g)]);
      await sh(['ip', 'link', 'set', veth(g), 'netns', labHost(HOST).netns]);
      await sh(['ip', '-n', ns(g), 'link', 'set', 'eth0', 'address', g.mac]);
      await sh(['ip', '-n', ns(g), 'link', 'set', 'eth0', 'up']);
      await sh(['ip', '-n', ns(g), 'link', 'set', 'lo', 'up']);
      await plugIn(g);
    }
  });

  afterAll(async () => {
    for (const l of listeners) if (l.pid) process.kill(l.pid);
    for (const g of GUESTS) await spawnCollect(['ip', 'netns', 'del', ns(g)], { timeoutMs: 30_000 });
    // Whatever a failed test left: kvmnet's hooks, rules files and chains on hv1 (by hand).
    await inHost(
      HOST,
      [
        'sh',
        '-c',
        'rm -rf /etc/libvirt/hooks/network.d/kvmnet-port-forwards /etc/libvirt/hooks/daemon.d/kvmnet-port-forwards /etc/libvirt/hooks/kvmnet-port-forwards; for c in "nat PREROUTING KVMNET_DNAT" "filter FORWARD KVMNET_FWD"; do set -- $c; while iptables -t $1 -D $2 -j $3 2>/dev/null; do :; done; iptables -t $1 -F $3 2>/dev/null; iptables -t $1 -X $3 2>/dev/null; done; true',
      ],
      { check: false },
    );
    await resetHost(HOST);
  });

  it('kvmnet validate accepts the shipped playbook', async () => {
    const v = await kvmnet(['validate', PLAYBOOK, '-i', inventory()]);
    expect(v.code, show(v)).toBe(0);
    expect(v.stdout).toMatch(/nat-guests\.yaml: valid · 1 play · \d+ hosts? · 5 tasks/);
  });

  it('--check --diff shows the reservations and the forward rules, and changes nothing', async () => {
    const r = await kvmnet(['run', PLAYBOOK, '-i', inventory(), '--limit', HOST, '--check', '--diff'], { env: { CI: '1' } });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain("+ config: <host mac='52:54:00:30:00:11' name='web1' ip='192.168.30.11'/>");
    expect(r.stdout).toMatch(/\+ nat -A KVMNET_DNAT -p tcp -m addrtype --dst-type LOCAL -m tcp --dport 2222 .* -j DNAT --to-destination 192\.168\.30\.11:22/);
    expect(await virsh(HOST, ['net-dumpxml', 'net10'])).not.toContain('<host ');
    expect(await kvmnetRules()).toEqual([]);
  });

  it('converges: reservations live and persistent, the forward in the firewall, hooks installed', async () => {
    const r = await kvmnet(['run', PLAYBOOK, '-i', inventory(), '--limit', HOST, '--output', 'json']);
    expect(r.code, show(r)).toBe(0);
    expect(summaryOf(r).hosts.map((h) => [h.host, h.changed, h.failed])).toEqual([[HOST, 4, 0]]);
    for (const flags of [[], ['--inactive']]) {
      const xml = await virsh(HOST, ['net-dumpxml', ...flags, 'net10']);
      for (const g of GUESTS) expect(xml).toContain(`<host mac='${g.mac}' name='${g.name}' ip='${g.ip}'/>`);
      expect(xml).toMatch(/<host ip='192\.168\.30\.11'>\s*<hostname>www\.lab\.example<\/hostname>\s*<\/host>/);
    }
    const rules = await kvmnetRules();
    expect(rules).toContain('-A PREROUTING -j KVMNET_DNAT');
    expect(rules).toContain('-A FORWARD -j KVMNET_FWD');
    expect(rules.filter((l) => l.includes('kvmnet-pf:net10:tcp:any:2222'))).toHaveLength(2);
    const hooks = await inHost(HOST, [
      'sh',
      '-c',
      'test -x /etc/libvirt/hooks/network.d/kvmnet-port-forwards && test -x /etc/libvirt/hooks/daemon.d/kvmnet-port-forwards && echo ok',
    ]);
    expect(hooks.stdout.trim()).toBe('ok');
    // Idempotent: nothing more to do.
    const again = await kvmnet(['run', PLAYBOOK, '-i', inventory(), '--limit', HOST, '--output', 'json']);
    expect(summaryOf(again).hosts.map((h) => [h.host, h.changed, h.failed])).toEqual([[HOST, 0, 0]]);
  });

  it('each guest gets its reserved address from libvirt’s dnsmasq', async () => {
    for (const g of GUESTS) {
      const r = await spawnCollect(
        ['ip', 'netns', 'exec', ns(g), 'busybox', 'udhcpc', '-i', 'eth0', '-n', '-q', '-f', '-t', '10', '-T', '2', '-s', script, '-x', `hostname:${g.name}`],
        { timeoutMs: 60_000 },
      );
      expect(r.code, show(r)).toBe(0);
      const addrs = JSON.parse(await sh(['ip', '-n', ns(g), '-j', 'addr', 'show', 'dev', 'eth0'])) as Array<{
        addr_info: Array<{ family: string; local: string }>;
      }>;
      expect(addrs[0]!.addr_info.filter((a) => a.family === 'inet').map((a) => a.local)).toEqual([g.ip]);
    }
    const leases = await virsh(HOST, ['-q', 'net-dhcp-leases', 'net10']);
    for (const g of GUESTS) expect(leases).toMatch(new RegExp(`${g.mac}\\s+ipv4\\s+${g.ip.replaceAll('.', '\\.')}/24`));
    // kvmnet facts shows the reservations with their leases and the forward to web1.
    const f = await kvmnet(['facts', '-i', inventory(), '--limit', HOST, '--output', 'json']);
    expect(f.code, show(f)).toBe(0);
    expect(f.stdout).toContain('"lease":"192.168.30.11/24"');
    expect(f.stdout).toMatch(/"host_ports":"2222","guest":"192.168.30.11:22","guest_name":"web1","source":"any","active":true/);
  });

  it('db1 resolves www.lab.example to web1 through net10’s dnsmasq', async () => {
    const r = await spawnCollect(['ip', 'netns', 'exec', ns(GUESTS[1]), 'busybox', 'nslookup', 'www.lab.example', '192.168.30.1'], { timeoutMs: 30_000 });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/Name:\s+www\.lab\.example\s+Address:\s+192\.168\.30\.11/);
  });

  it('a TCP connection from outside hv1 to its port 2222 reaches web1’s port 22', async () => {
    const l = spawn('ip', ['netns', 'exec', ns(GUESTS[0]), 'busybox', 'nc', '-ll', '-p', '22', '-e', '/bin/echo', 'hello from web1'], { stdio: 'ignore' });
    listeners.push(l);
    expect(await reachesWeb1()).toContain('hello from web1');
    // Not forwarded: another port of the host, and db1 is not reachable through hv1 at all.
    expect((await tryConnect(2223)).kind).toBe('refused');
  });

  it('still reaches web1 after virsh net-destroy + net-start', async () => {
    await virsh(HOST, ['net-destroy', 'net10']);
    await virsh(HOST, ['net-start', 'net10']);
    // A new br10: plug the guests back in, as libvirt does with a real guest's tap.
    for (const g of GUESTS) await plugIn(g);
    expect(await reachesWeb1()).toContain('hello from web1');
  });

  it('still reaches web1 after libvirtd restarts', async () => {
    await restartLibvirtd();
    expect(await reachesWeb1()).toContain('hello from web1');
    await hookSettled();
    expect(await reachesWeb1()).toContain('hello from web1');
  });

  it('still reaches web1 when libvirt re-creates its rules (firewall flushed, libvirtd restarted): the hook puts the forward back', async () => {
    await inHost(HOST, ['sh', '-c', 'for t in filter nat mangle; do iptables -t $t -F; done']);
    expect(await kvmnetRules()).not.toContain('-A FORWARD -j KVMNET_FWD');
    await restartLibvirtd();
    expect(await reachesWeb1()).toContain('hello from web1');
    await hookSettled();
    const forward = (await inHost(HOST, ['iptables', '-S', 'FORWARD'])).stdout.split('\n');
    expect(forward[1]).toBe('-A FORWARD -j KVMNET_FWD');
    expect(forward.slice(2, 5)).toEqual(['-A FORWARD -j LIBVIRT_FWX', '-A FORWARD -j LIBVIRT_FWI', '-A FORWARD -j LIBVIRT_FWO']);
    // And after that a network restart goes through the network hook (libvirtd found it at its start).
    await virsh(HOST, ['net-destroy', 'net10']);
    await inHost(HOST, ['sh', '-c', 'iptables -t nat -F KVMNET_DNAT']);
    await virsh(HOST, ['net-start', 'net10']);
    for (const g of GUESTS) await plugIn(g);
    expect(await reachesWeb1()).toContain('hello from web1');
  });

  it('state: absent removes the forward (refused again), the hooks and the chains, and leaves libvirt’s rules exactly as they were', async () => {
    const libvirtNow = await libvirtRules();
    const absent = writePlaybook(
      'nat-guests-absent',
      `- hosts: ${HOST}\n  tasks:\n    - ensure_port_forward: { network: net10, guest_mac: "52:54:00:30:00:11", host_port: 2222, guest_port: 22, state: absent }\n    - ensure_dhcp_host: { network: net10, mac: "52:54:00:30:00:12", ip: 192.168.30.12, state: absent }\n    - ensure_dns_host: { network: net10, ip: 192.168.30.11, hostnames: [www.lab.example], state: absent }\n`,
    );
    const check = await kvmnet(['run', absent, '-i', inventory(), '--check', '--diff'], { env: { CI: '1' } });
    expect(check.stdout).toMatch(/remove port forward tcp \*:2222 → 192\.168\.30\.11:22 \(net10\) and kvmnet’s libvirt hooks/);
    const r = await kvmnet(['run', absent, '-i', inventory(), '--output', 'json']);
    expect(r.code, show(r)).toBe(0);
    expect(summaryOf(r).hosts.map((h) => [h.host, h.changed, h.failed])).toEqual([[HOST, 3, 0]]);
    const lookup = await spawnCollect(['ip', 'netns', 'exec', ns(GUESTS[1]), 'busybox', 'nslookup', 'www.lab.example', '192.168.30.1'], { timeoutMs: 30_000 });
    expect(lookup.stdout).not.toContain('192.168.30.11');
    expect(await waitFor('the forward to be gone', async () => ((await tryConnect(2222)).kind === 'refused' ? true : undefined), 10_000)).toBe(true);
    expect(await kvmnetRules()).toEqual([]);
    expect(await libvirtRules()).toEqual(libvirtNow);
    expect(await libvirtRules()).toEqual(libvirtBefore);
    const files = await inHost(HOST, [
      'sh',
      '-c',
      'ls /etc/libvirt/hooks/network.d /etc/libvirt/hooks/daemon.d 2>/dev/null; ls -d /etc/libvirt/hooks/kvmnet-port-forwards 2>/dev/null; true',
    ]);
    expect(files.stdout).not.toContain('kvmnet');
    for (const flags of [[], ['--inactive']]) {
      const xml = await virsh(HOST, ['net-dumpxml', ...flags, 'net10']);
      expect(xml).toContain("<host mac='52:54:00:30:00:11' name='web1' ip='192.168.30.11'/>");
      expect(xml).not.toContain('52:54:00:30:00:12');
      expect(xml).not.toContain('www.lab.example');
    }
    console.log(`nat-guests: ${tries.attempts} connections tried to reach web1`);
  });
});
