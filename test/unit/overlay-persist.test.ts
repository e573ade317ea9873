// Persistence of routes, policy rules and VXLANs in the formats kvmnet writes besides networkd's
// drop-ins (routes-overlays.test.ts): ifupdown stanzas of post-up commands, NetworkManager keyfile
// routes and routing rules, netplan routes and routing-policy. Facts captured on a lab host
// (test/fixtures/facts/overlay.stdout); the ifupdown files are also read by ifupdown itself
// (`ifup --no-act`) where it is installed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_FRAGMENTS } from '../../src/facts/needs.js';
import { parseFacts } from '../../src/facts/parse.js';
import type { Facts } from '../../src/model/facts.js';
import { taskModule } from '../../src/tasks/registry.js';

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
    expect(files('ensure_route', { dst: 'fd29::/64', via: 'fd28::9', dev: 'br28' }, withBridge())[0]).toMatchObject({ path: '/etc/network/interfaces.d/kvmnet-br28__route-fd29---64-m1024-tmain', content: expect.stringContaining('    post-up ip -6 route replace fd29::/64 via fd28::9 dev br28 metric 1024\n') });
  });
  it('refuses a device no stanza brings up; absent removes the file', () => {
    expect(() => files('ensure_route', { ...route, dev: 'mgmt0' }, withBridge())).toThrow(/persist: ifupdown: no stanza brings mgmt0 up on hv1 .* Persist mgmt0 first/);
    const f = withBridge();
    f.persisted!['/etc/network/interfaces.d/kvmnet-br28__route-10-50-0-0-16-m5-t100'] = 'x';
    expect(files('ensure_route', { dst: '10.50.0.0/16', table: 100, metric: 5, state: 'absent' }, f)).toEqual([{ path: '/etc/network/interfaces.d/kvmnet-br28__route-10-50-0-0-16-m5-t100', content: null }]);
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
  it('a VXLAN: created in pre-up, its flooding entries in post-up, deleted in post-down', () => {
    const f = facts();
    f.persisted = {};
    expect(files('ensure_vxlan', { name: 'vx28', vni: 28, local: '198.19.151.11', dev: 'mgmt0', learning: false, mtu: 1450, remotes: ['198.19.151.12', '198.19.151.13'] }, f)).toEqual([
      {
        path: '/etc/network/interfaces.d/kvmnet-vx28',
        content: `${HEADER}\n# ensure_vxlan vx28; addresses (ensure_ip) and routes (ensure_route) are in their own files\nauto vx28\niface vx28 inet manual\n    pre-up ip link add vx28 type vxlan id 28 local 198.19.151.11 dev mgmt0 dstport 4789 nolearning\n    mtu 1450\n    post-up bridge fdb append 00:00:00:00:00:00 dev vx28 dst 198.19.151.12\n    post-up bridge fdb append 00:00:00:00:00:00 dev vx28 dst 198.19.151.13\n    post-down ip link del vx28\n`,
      },
    ]);
  });
  it('drift: what the files would bring back that does not run', () => {
    const f = withBridge();
    const vx = files('ensure_vxlan', { name: 'vx30', vni: 30, remotes: ['198.19.151.12'] }, f)[0]!;
    const r = files('ensure_route', { dst: '10.51.0.0/16', via: '198.18.28.254', dev: 'br28', table: 100 }, f)[0]!;
    const ru = files('ensure_rule', { priority: 1500, from: '198.18.28.0/24', table: 100 }, f)[0]!;
    const here = files('ensure_route', route, f)[0]!;
    const all = { [vx.path]: vx.content!, [r.path]: r.content!, [ru.path]: ru.content!, [here.path]: here.content! };
    const drift = [...taskModule('ensure_vxlan').persistence!.drift!(f, all), ...taskModule('ensure_route').persistence!.drift!(f, all), ...taskModule('ensure_rule').persistence!.drift!(f, all)];
    expect(drift).toEqual(['vx30: VXLAN persisted (ifupdown) but not present at runtime', 'br28: route 10.51.0.0/16 table 100 persisted (ifupdown) but not present at runtime', 'rule 1500 (table 100) persisted (ifupdown) but not present at runtime']);
  });
  it.runIf(existsSync('/sbin/ifup'))('ifupdown reads them: ifup runs the commands, in order, after the device\'s own stanza; ifdown undoes them', () => {
    const f = withBridge();
    const all: Record<string, string> = { ...(f.persisted as Record<string, string>) };
    for (const w of [...files('ensure_route', route, f), ...files('ensure_rule', { priority: 1000, from: '198.18.28.0/24', table: 100 }, f), ...files('ensure_vxlan', { name: 'vx28', vni: 28, local: '198.19.151.11', mtu: 1450, remotes: ['198.19.151.12'] }, f)]) all[w.path] = w.content!;
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
