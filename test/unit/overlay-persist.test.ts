// Persistence of routes, policy rules and VXLANs in the formats kvmnet writes besides networkd's
// drop-ins (routes-overlays.test.ts): ifupdown stanzas of post-up commands, NetworkManager keyfile
// routes and routing rules, netplan routes and routing-policy. Facts captured on a lab host
// (test/fixtures/facts/overlay.stdout); the ifupdown files are also read by ifupdown itself
// (`ifup --no-act`) where it is installed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_FRAGMENTS } from '../../src/facts/needs.js';
import { parseFacts } from '../../src/facts/parse.js';
import type { Facts } from '../../src/model/facts.js';
import { changeOps, factsAfter } from '../../src/model/plan.js';
import { netplanFile, netplanPath } from '../../src/persist/netplan-files.js';
import { nmProfile } from '../../src/persist/nm-profiles.js';
import { taskModule } from '../../src/tasks/registry.js';
import { planOf } from './support/plan-task.js';

const captured = readFileSync(new URL('../fixtures/facts/overlay.stdout', import.meta.url), 'utf8');
const facts = (): Facts => parseFacts(captured, '', ALL_FRAGMENTS).facts;
const HEADER = '# Written by kvmnet; changes made here are overwritten on its next run.';

function files(type: 'ensure_route' | 'ensure_rule' | 'ensure_vxlan', args: Record<string, unknown>, f: Facts, format: 'ifupdown' | 'networkd' = 'ifupdown') {
  const m = taskModule(type);
  return m.persistence!.files(format, m.schema.parse(args) as never, f, 'hv1');
}

/** ifupdown's own reading of the files: the commands `ifup --no-act` / `ifdown --no-act` would run for IFACE. */
function ifupdownDryRun(all: Record<string, string>, iface: string): { up: string; down: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kvmnet-ifupdown-'));
  writeFileSync(join(dir, 'interfaces'), Object.values(all).join('\n'));
  // --no-act prints the commands on stderr.
  const run = (cmd: string, extra: string[] = []) => {
    const r = spawnSync(cmd, ['--no-act', '-i', join(dir, 'interfaces'), '--state-dir', dir, ...extra, iface], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
    return r.stdout + r.stderr;
  };
  return { up: run('/sbin/ifup'), down: run('/sbin/ifdown', ['--force']) };
}

describe('ifupdown', () => {
  const withBridge = () => {
    const f = facts();
    f.persisted = { '/etc/network/interfaces.d/kvmnet-br28': `${HEADER}\nauto br28\niface br28 inet manual\n    bridge_ports vx28\n` };
    return f;
  };
  const route = { dst: '10.50.0.0/16', via: '198.18.28.254', dev: 'br28', table: 100, metric: 5, mtu: 1400, src: '198.18.28.1', onlink: true };
  it('a route is an `iface DEV inet manual` stanza of its own: post-up ip route replace, pre-down ip route del', () => {
    expect(files('ensure_route', route, withBridge())).toEqual([
      {
        path: '/etc/network/interfaces.d/kvmnet-br28__route-10-50-0-0-16-m5-t100',
        content: `${HEADER}\n# ensure_route 10.50.0.0/16 via 198.18.28.254 dev br28\niface br28 inet manual\n    post-up ip route replace 10.50.0.0/16 via 198.18.28.254 dev br28 metric 5 table 100 src 198.18.28.1 onlink mtu 1400\n    pre-down ip route del 10.50.0.0/16 via 198.18.28.254 dev br28 metric 5 table 100 2>/dev/null || true\n`,
      },
    ]);
    // IPv6, main table.
    expect(files('ensure_route', { dst: 'fd29::/64', via: 'fd28::9', dev: 'br28' }, withBridge())[0]).toMatchObject({
      path: '/etc/network/interfaces.d/kvmnet-br28__route-fd29---64-m1024-tmain',
      content: expect.stringContaining('    post-up ip -6 route replace fd29::/64 via fd28::9 dev br28 metric 1024\n'),
    });
  });
  it('refuses a device no stanza brings up; absent removes the file', () => {
    expect(() => files('ensure_route', { ...route, dev: 'mgmt0' }, withBridge())).toThrow(
      /persist: ifupdown: no stanza brings mgmt0 up on hv1 .* Persist mgmt0 first/,
    );
    const f = withBridge();
    f.persisted!['/etc/network/interfaces.d/kvmnet-br28__route-10-50-0-0-16-m5-t100'] = 'x';
    expect(files('ensure_route', { dst: '10.50.0.0/16', table: 100, metric: 5, state: 'absent' }, f)).toEqual([
      { path: '/etc/network/interfaces.d/kvmnet-br28__route-10-50-0-0-16-m5-t100', content: null },
    ]);
  });
  it('a rule: deleted before it is added (ip rule add makes copies), on the device of its from', () => {
    expect(files('ensure_rule', { priority: 1000, from: '198.18.28.0/24', table: 100 }, withBridge())).toEqual([
      {
        path: '/etc/network/interfaces.d/kvmnet-br28__rule-1000',
        content: `${HEADER}\n# ensure_rule priority 1000\niface br28 inet manual\n    post-up ip rule del from 198.18.28.0/24 priority 1000 table 100 2>/dev/null || true\n    post-up ip rule add from 198.18.28.0/24 priority 1000 table 100\n    pre-down ip rule del from 198.18.28.0/24 priority 1000 table 100 2>/dev/null || true\n`,
      },
    ]);
    expect(() => files('ensure_rule', { priority: 1000, to: '10.0.0.0/8', table: 100 }, withBridge())).toThrow(/names none kvmnet can tell/);
  });
  it('a VXLAN: created in pre-up, its flooding entries in post-up, deleted in post-down; its auto line first', () => {
    const f = facts();
    f.persisted = {};
    expect(
      files(
        'ensure_vxlan',
        { name: 'vx28', vni: 28, local: '198.19.151.11', dev: 'mgmt0', learning: false, mtu: 1450, remotes: ['198.19.151.12', '198.19.151.13'] },
        f,
      ),
    ).toEqual([
      // Its auto line sorts before every bridge's stanza: ifup -a makes it before bridge-utils looks for the bridge's ports.
      {
        path: '/etc/network/interfaces.d/kvmnet-0-auto-vx28',
        content: `${HEADER}\n# ensure_vxlan vx28: brought up before the bridges whose stanzas list it as a port\nauto vx28\n`,
      },
      {
        path: '/etc/network/interfaces.d/kvmnet-vx28',
        content: `${HEADER}\n# ensure_vxlan vx28 (its auto line is in /etc/network/interfaces.d/kvmnet-0-auto-vx28); addresses (ensure_ip) and routes (ensure_route) are in their own files\niface vx28 inet manual\n    pre-up ip link add vx28 type vxlan id 28 local 198.19.151.11 dev mgmt0 dstport 4789 nolearning\n    mtu 1450\n    post-up bridge fdb append 00:00:00:00:00:00 dev vx28 dst 198.19.151.12\n    post-up bridge fdb append 00:00:00:00:00:00 dev vx28 dst 198.19.151.13\n    post-down ip link del vx28\n`,
      },
    ]);
  });
  it('drift: what the files would bring back that does not run', () => {
    const f = withBridge();
    const vx = files('ensure_vxlan', { name: 'vx30', vni: 30, remotes: ['198.19.151.12'] }, f)[1]!;
    const r = files('ensure_route', { dst: '10.51.0.0/16', via: '198.18.28.254', dev: 'br28', table: 100 }, f)[0]!;
    const ru = files('ensure_rule', { priority: 1500, from: '198.18.28.0/24', table: 100 }, f)[0]!;
    const here = files('ensure_route', route, f)[0]!;
    const all = { [vx.path]: vx.content!, [r.path]: r.content!, [ru.path]: ru.content!, [here.path]: here.content! };
    const drift = [
      ...taskModule('ensure_vxlan').persistence!.drift!(f, all),
      ...taskModule('ensure_route').persistence!.drift!(f, all),
      ...taskModule('ensure_rule').persistence!.drift!(f, all),
    ];
    expect(drift).toEqual([
      'vx30: VXLAN persisted (ifupdown) but not present at runtime',
      'br28: route 10.51.0.0/16 table 100 persisted (ifupdown) but not present at runtime',
      'rule 1500 (table 100) persisted (ifupdown) but not present at runtime',
    ]);
  });
  it.runIf(existsSync('/sbin/ifup'))("ifupdown reads them: ifup runs the commands, in order, after the device's own stanza; ifdown undoes them", () => {
    const f = withBridge();
    const all: Record<string, string> = { ...(f.persisted as Record<string, string>) };
    for (const w of [
      ...files('ensure_route', route, f),
      ...files('ensure_rule', { priority: 1000, from: '198.18.28.0/24', table: 100 }, f),
      ...files('ensure_vxlan', { name: 'vx28', vni: 28, local: '198.19.151.11', mtu: 1450, remotes: ['198.19.151.12'] }, f),
    ])
      all[w.path] = w.content!;
    // source-directory reads the files in name order: as here.
    const sorted = Object.fromEntries(Object.entries(all).sort(([a], [b]) => a.localeCompare(b)));
    const br = ifupdownDryRun(sorted, 'br28');
    const cmds = br.up.split('\n').filter((l) => /^(ip|bridge) /.test(l));
    expect(cmds).toEqual([
      'ip link set dev br28 up 2>/dev/null || true',
      'ip link set dev br28 up 2>/dev/null || true',
      'ip route replace 10.50.0.0/16 via 198.18.28.254 dev br28 metric 5 table 100 src 198.18.28.1 onlink mtu 1400',
      'ip link set dev br28 up 2>/dev/null || true',
      'ip rule del from 198.18.28.0/24 priority 1000 table 100 2>/dev/null || true',
      'ip rule add from 198.18.28.0/24 priority 1000 table 100',
    ]);
    expect(br.down).toContain('ip route del 10.50.0.0/16 via 198.18.28.254 dev br28 metric 5 table 100 2>/dev/null || true');
    const vx = ifupdownDryRun(sorted, 'vx28');
    expect(vx.up.split('\n').filter((l) => /^(ip|bridge) /.test(l))).toEqual([
      'ip link add vx28 type vxlan id 28 local 198.19.151.11 dstport 4789 learning',
      'ip link set dev vx28 mtu 1450',
      'ip link set dev vx28 up 2>/dev/null || true',
      'bridge fdb append 00:00:00:00:00:00 dev vx28 dst 198.19.151.12',
    ]);
    expect(vx.down).toContain('ip link del vx28');
  });
});

// The managers' own parsers, from the packages the VM lab unpacks (.ci/run; `kvmnet lab` with --vm).
const NM_TREE = '/var/cache/kvmnet-lab/manager-networkmanager';
const NETPLAN_TREE = '/var/cache/kvmnet-lab/manager-netplan';
const libs = (tree: string) => ({ ...process.env, LD_LIBRARY_PATH: `${tree}/usr/lib/x86_64-linux-gnu` });

/** NetworkManager's reading of a keyfile: `nmcli --offline` parses, verifies and writes it back normalised. */
function nmcliNormalised(keyfile: string): string {
  const r = spawnSync(`${NM_TREE}/usr/bin/nmcli`, ['--offline', 'connection', 'modify', 'connection.autoconnect', 'yes'], {
    input: keyfile,
    encoding: 'utf8',
    env: libs(NM_TREE),
  });
  if (r.status !== 0) throw new Error(`nmcli --offline refused the profile: ${r.stderr}`);
  return r.stdout;
}

/** netplan's generator on the files: the networkd files it writes for the next boot. */
function netplanGenerate(files: Record<string, string>): Record<string, string> {
  const root = mkdtempSync(join(tmpdir(), 'kvmnet-netplan-'));
  execIn(root, files);
  const r = spawnSync(`${NETPLAN_TREE}/usr/libexec/netplan/generate`, ['--root-dir', root], { encoding: 'utf8', env: libs(NETPLAN_TREE) });
  if (r.status !== 0) throw new Error(`netplan generate refused the files: ${r.stderr}`);
  const out: Record<string, string> = {};
  const dir = join(root, 'run/systemd/network');
  for (const name of existsSync(dir) ? readdirSync(dir) : []) out[name] = readFileSync(join(dir, name), 'utf8');
  return out;
}
function execIn(root: string, files: Record<string, string>) {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, dirname(path)), { recursive: true });
    writeFileSync(join(root, path), content, { mode: 0o600 });
  }
}

const lines = (text: string, re: RegExp) => text.split('\n').filter((l) => re.test(l));

describe('NetworkManager', () => {
  it('routes (metric always, options) and rules of the device in its [ipv4]/[ipv6], rendered from the running state', () => {
    const profile = nmProfile(facts(), 'br28');
    expect(lines(profile, /^(\[ipv|route|routing-rule|method|address)/)).toEqual([
      '[ipv4]',
      'method=manual',
      'address1=198.18.28.1/24',
      'route1=10.60.0.0/16,192.0.2.1,0',
      'route1_options=onlink=true',
      'route2=10.50.0.0/16,198.18.28.254,5',
      'route2_options=table=100,mtu=1400,src=198.18.28.1',
      'routing-rule1=priority 1000 from 198.18.28.0/24 table 100',
      'routing-rule2=priority 1001 from 0.0.0.0/0 fwmark 0x10/0xff iif br28 table 100',
      '[ipv6]',
      'method=manual',
      'address1=fd28::1/64',
      'route1=fd29::/64,fd28::9,1024',
      'route1_options=table=100',
      'routing-rule1=priority 1000 from fd28::/64 table 100',
    ]);
  });
  it.runIf(existsSync(`${NM_TREE}/usr/bin/nmcli`))('NetworkManager 1.42 reads the profile as written (nmcli --offline)', () => {
    const profile = nmProfile(facts(), 'br28');
    const back = nmcliNormalised(profile);
    const norm = (t: string) =>
      lines(t, /^(route|routing-rule)/).map((l) => (/_options=/.test(l) ? l.replace(/=(.*)$/, (_m, o: string) => `=${o.split(',').sort().join(',')}`) : l));
    expect(norm(back)).toEqual(norm(profile));
    expect(norm(back)).toHaveLength(9);
  });
  it('a VXLAN with one remote is a vxlan profile; several remotes are refused; routes without an address are refused', () => {
    const f = facts();
    f.links.vx28!.fdbRemotes = ['198.19.151.12'];
    const profile = nmProfile(f, 'vx28');
    expect(lines(profile, /^(type|master|slave-type|\[vxlan\]|id=\d|local|remote|parent|destination-port|learning|mtu)/)).toEqual([
      'type=vxlan',
      'master=br28',
      'slave-type=bridge',
      '[vxlan]',
      'id=28',
      'local=198.19.151.11',
      'remote=198.19.151.12',
      'parent=mgmt0',
      'destination-port=4789',
      'learning=false',
      'mtu=1450',
    ]);
    if (existsSync(`${NM_TREE}/usr/bin/nmcli`))
      expect(lines(nmcliNormalised(profile), /^(remote|id|learning)=(?!kvmnet)/)).toEqual(['id=28', 'learning=false', 'remote=198.19.151.12']);
    expect(() => nmProfile(facts(), 'vx28')).toThrow(
      /VXLAN vx28 floods to 2 remotes \(198.19.151.12, 198.19.151.13\), and a NetworkManager VXLAN profile has one remote only/,
    );
    const g = facts();
    g.addrs = g.addrs.filter((a) => !(a.dev === 'br28' && a.family === 6));
    expect(() => nmProfile(g, 'br28')).toThrow(/br28 has IPv6 routes \(fd29::\/64\) but no IPv6 address/);
  });
  it("an ensure_route / ensure_rule task with persist: networkmanager renders the profile of the route's or rule's device", () => {
    const f = facts();
    f.managers = { systemd: true, active: { networkmanager: true }, ifupdown: null, netplan: [], nmDevices: {}, networkdLinks: {}, ifupdownStanzas: [] };
    const route = planOf('ensure_route', { dst: '10.70.0.0/16', via: '198.18.28.254', dev: 'br28', persist: 'networkmanager' }, f);
    const write = changeOps(route.changes).find((o) => o.op === 'file.write') as { path: string; content: string };
    expect(write.path).toBe('/etc/NetworkManager/system-connections/kvmnet-br28.nmconnection');
    expect(write.content).toContain('route3=10.70.0.0/16,198.18.28.254,0\n');
    const rule = planOf('ensure_rule', { priority: 1100, from: '198.18.28.0/24', to: '10.9.0.0/16', table: 100, persist: 'networkmanager' }, f);
    expect((changeOps(rule.changes).find((o) => o.op === 'file.write') as { content: string }).content).toContain(
      'routing-rule3=priority 1100 from 198.18.28.0/24 to 10.9.0.0/16 table 100\n',
    );
  });
  it("ensure_vxlan writes and loads the VXLAN's profile, never its underlay's (dev: here the NIC of the SSH session)", () => {
    const f = facts();
    f.managers = { systemd: true, active: { networkmanager: true }, ifupdown: null, netplan: [], nmDevices: {}, networkdLinks: {}, ifupdownStanzas: [] };
    f.links.vx28!.fdbRemotes = ['198.19.151.12'];
    const args = {
      name: 'vx28',
      vni: 28,
      local: '198.19.151.11',
      dev: 'mgmt0',
      remotes: ['198.19.151.12'],
      learning: false,
      mtu: 1400,
      persist: 'networkmanager',
    };
    const plan = planOf('ensure_vxlan', args, f);
    const ops = changeOps(plan.changes);
    const written = ops.flatMap((o) => (o.op === 'file.write' ? [o.path.replace(/^.*\/kvmnet-/, '')] : []));
    // br28 takes its port's new MTU: its profile says it.
    expect(written.sort()).toEqual(['br28.nmconnection', 'vx28.nmconnection']);
    // Loaded, not activated: NetworkManager cannot take over a VXLAN that floods through forwarding entries (measured); it creates it at boot.
    expect(ops.filter((o) => o.op === 'nm.up')).toEqual([{ op: 'nm.up', dev: 'br28', profile: 'kvmnet-br28' }]);
  });
  it("a port that lowers its bridge's MTU re-renders the bridge's profile too (the second run found it stale on the VM lab)", () => {
    const f = facts();
    f.managers = { systemd: true, active: { networkmanager: true }, ifupdown: null, netplan: [], nmDevices: {}, networkdLinks: {}, ifupdownStanzas: [] };
    delete f.links.vx28!.master;
    f.links.vx28!.fdbRemotes = ['198.19.151.12'];
    f.links.br28!.mtu = 1500;
    const plan = planOf('ensure_port', { bridge: 'br28', interface: 'vx28', persist: 'networkmanager' }, f);
    const writes = changeOps(plan.changes).flatMap((o) => (o.op === 'file.write' ? [o] : []));
    expect(writes.map((w) => w.path.replace(/^.*\/kvmnet-/, '')).sort()).toEqual(['br28.nmconnection', 'vx28.nmconnection']);
    expect(writes.find((w) => w.path.endsWith('kvmnet-br28.nmconnection'))!.content).toMatch(/^mtu=1450$/m);
  });
  it('a device activated by one task is not activated again by the next (NetworkManager would add its rules a second time)', () => {
    const f = facts();
    f.managers = { systemd: true, active: { networkmanager: true }, ifupdown: null, netplan: [], nmDevices: {}, networkdLinks: {}, ifupdownStanzas: [] };
    const route = planOf('ensure_route', { dst: '10.70.0.0/16', via: '198.18.28.254', dev: 'br28', persist: 'networkmanager' }, f);
    expect(changeOps(route.changes).filter((o) => o.op === 'nm.up')).toEqual([{ op: 'nm.up', dev: 'br28', profile: 'kvmnet-br28' }]);
    const rule = planOf('ensure_rule', { priority: 1100, from: '198.18.28.0/24', table: 100, persist: 'networkmanager' }, factsAfter(route.changes, f));
    expect(changeOps(rule.changes).map((o) => o.op)).toEqual(['rule.add', 'file.write', 'nm.load']);
  });
});

describe('netplan', () => {
  const noIif = () => {
    const f = facts();
    f.rules = f.rules!.filter((r) => !r.iif);
    return f;
  };
  it('routes and routing-policy of the device, rendered from the running state', () => {
    expect(netplanFile(noIif(), 'br28', 'hv1')).toContain(
      [
        '      routes:',
        '        - to: 10.60.0.0/16',
        '          via: 192.0.2.1',
        '          metric: 0',
        '          on-link: true',
        '        - to: 10.50.0.0/16',
        '          via: 198.18.28.254',
        '          metric: 5',
        '          table: 100',
        '          mtu: 1400',
        '          from: 198.18.28.1',
        '        - to: fd29::/64',
        '          via: fd28::9',
        '          metric: 1024',
        '          table: 100',
        '      routing-policy:',
        '        - from: 198.18.28.0/24',
        '          table: 100',
        '          priority: 1000',
        '        - from: fd28::/64',
        '          table: 100',
        '          priority: 1000',
      ].join('\n'),
    );
    expect(() => netplanFile(facts(), 'br28', 'hv1')).toThrow(/rule 1001 matches iif br28, and netplan's routing-policy has no interface selector/);
  });
  it('a VXLAN with one remote is a tunnel; several remotes, or an underlay netplan does not define, are refused', () => {
    const f = facts();
    f.links.vx29!.vxlan!.dev = undefined;
    f.links.vx29!.vxlan!.group = undefined;
    f.links.vx29!.vxlan!.local = '198.19.151.11';
    f.links.vx29!.fdbRemotes = ['198.19.151.12'];
    expect(netplanFile(f, 'vx29', 'hv1')).toContain(
      '  tunnels:\n    vx29:\n      mode: vxlan\n      id: 29\n      local: 198.19.151.11\n      remote: 198.19.151.12\n      port: 4790\n      mac-learning: true\n      mtu: 1450\n',
    );
    expect(() => netplanFile(facts(), 'vx28', 'hv1')).toThrow(/VXLAN vx28 floods to 2 remotes/);
    const g = facts();
    g.links.vx28!.fdbRemotes = ['198.19.151.12'];
    expect(() => netplanFile(g, 'vx28', 'hv1')).toThrow(/VXLAN vx28 sits on mgmt0, which netplan must define too/);
  });
  it.runIf(existsSync(`${NETPLAN_TREE}/usr/libexec/netplan/generate`))(
    'netplan 0.106 generates networkd [Route], [RoutingPolicyRule] and a vxlan .netdev from them',
    () => {
      const f = noIif();
      // (br28's port vx28 floods to two remotes, which netplan cannot say: br28 alone here)
      f.links.vx28!.master = undefined;
      f.links.vx29!.vxlan = { vni: 29, local: '198.19.151.11', dstport: 4790, learning: true };
      f.links.vx29!.fdbRemotes = ['198.19.151.12'];
      const out = netplanGenerate({
        [netplanPath('br28', 'bridge')]: netplanFile(f, 'br28', 'hv1'),
        [netplanPath('vx29', 'vxlan')]: netplanFile(f, 'vx29', 'hv1'),
      });
      expect(out['10-netplan-br28.network']).toContain(
        '[Route]\nDestination=10.50.0.0/16\nGateway=198.18.28.254\nPreferredSource=198.18.28.1\nMetric=5\nTable=100\nMTUBytes=1400\n',
      );
      expect(out['10-netplan-br28.network']).toContain('[Route]\nDestination=10.60.0.0/16\nGateway=192.0.2.1\nGatewayOnLink=true\nMetric=0\n');
      expect(out['10-netplan-br28.network']).toContain('[RoutingPolicyRule]\nFrom=198.18.28.0/24\nTable=100\nPriority=1000\n');
      expect(out['10-netplan-vx29.netdev']).toContain(
        'Kind=vxlan\n\n[VXLAN]\nVNI=29\nRemote=198.19.151.12\nLocal=198.19.151.11\nMacLearning=true\nDestinationPort=4790\n',
      );
    },
  );
});
