// ensure_route and ensure_rule on real lab hosts: a storage subnet behind a gateway in its own
// table, with the policy rule that sends the storage network's traffic there (read back with
// `ip -j route show table 228` and `ip -j rule`), with a VXLAN port, persisted as networkd files, a
// second run that changes nothing; after a "reboot" (runtime state deleted, the real
// systemd-networkd started in the host's namespaces) the route, the rule and the VXLAN with its
// flooding entries back from the files alone; a route that would take the SSH session's replies away refused; and,
// under `confirm: true`, the same route applied, the session cut, and the host's own timer
// rolling it back (the kernel has no such route afterwards and the host answers again).
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addresses, inHost, inventory, ipJson, jsonEvents, kvmnet, labState, resetHosts, show, summaryOf, writePlaybook, type LabHost } from './helpers.js';

const STORAGE: LabHost = 'hv1';
const REFUSED: LabHost = 'hv2';
const ROLLED: LabHost = 'hv3';

interface IpRoute {
  dst: string;
  gateway?: string;
  dev: string;
  table?: string;
  metric?: number;
}
interface IpRule {
  priority: number;
  src?: string;
  srclen?: number;
  table?: string;
}

const STORAGE_PLAYBOOK = `- hosts: ${STORAGE}
  persist: networkd
  tasks:
    - name: storage bridge
      ensure_bridge: { name: brst, stp: false }
    - name: storage address
      ensure_ip: { dev: brst, address: 198.18.229.1/24 }
    - name: storage subnet behind its gateway, in table 228
      ensure_route: { dst: 10.228.0.0/16, via: 198.18.229.254, dev: brst, table: 228, mtu: 9000 }
    - name: a default route in table 228 too
      ensure_route: { dst: default, via: 198.18.229.254, dev: brst, table: 228 }
    - name: the storage network's traffic looks up table 228
      ensure_rule: { priority: 1228, from: 198.18.229.0/24, table: 228 }
    - name: a VXLAN on the storage bridge
      ensure_vxlan: { name: vxst, vni: 228, local: "{{ host }}", remotes: [198.18.230.2, 198.18.230.3], mtu: 1450 }
    - name: the VXLAN as a port of the storage bridge
      ensure_port: { bridge: brst, interface: vxst }
`;

// The SSH client (the lab's root-namespace address) through a gateway that does not exist: every
// reply of the session would go nowhere.
const cutRoute = (confirm: boolean) => `- hosts: lab
  confirm_timeout: 10
  tasks:
    - name: cut
      ensure_route: { dst: ${labState().subnet.gateway}, via: ${labState().subnet.cidr.replace(/\.0\/24$/, '.250')}, dev: mgmt0 }
${confirm ? '      confirm: true\n' : ''}`;

async function runJson(playbook: string, host: LabHost) {
  const r = await kvmnet(['run', playbook, '-i', inventory(), '--limit', host, '--output', 'json'], { timeoutMs: 150_000 });
  return { r, tasks: jsonEvents(r.stdout).filter((e) => e.event === 'task') as Array<{ task: string; outcome: string; message: string }> };
}

const hostRoutesTo = async (host: LabHost, dst: string) =>
  (await ipJson<IpRoute[]>(host, ['-4', 'route', 'show', 'table', 'all'])).filter((r) => r.dst === dst);

describe('static routes and policy rules', () => {
  beforeAll(() => resetHosts([STORAGE, REFUSED, ROLLED]));
  afterAll(async () => {
    await inHost(STORAGE, ['sh', '-c', 'ip rule del priority 1228 2>/dev/null; ip route flush table 228 2>/dev/null; true']);
    await resetHosts([STORAGE, REFUSED, ROLLED]);
  });

  it('a storage subnet: route in table 228 and a rule, read back from the kernel, persisted; a second run changes nothing', async () => {
    const playbook = writePlaybook('storage', STORAGE_PLAYBOOK);
    const first = await runJson(playbook, STORAGE);
    expect(first.r.code, show(first.r)).toBe(0);
    expect(summaryOf(first.r).hosts[0]).toMatchObject({ changed: 7, failed: 0 });

    const table = await ipJson<Array<IpRoute & { metrics?: Array<{ mtu?: number }> }>>(STORAGE, ['-4', 'route', 'show', 'table', '228']);
    expect(table.map((r) => [r.dst, r.gateway, r.dev, r.metrics?.[0]?.mtu])).toEqual([
      ['default', '198.18.229.254', 'brst', undefined],
      ['10.228.0.0/16', '198.18.229.254', 'brst', 9000],
    ]);
    // Not in main.
    expect((await ipJson<IpRoute[]>(STORAGE, ['-4', 'route', 'show'])).some((r) => r.dst === '10.228.0.0/16')).toBe(false);
    const rules = await ipJson<IpRule[]>(STORAGE, ['-4', 'rule', 'show']);
    expect(rules.filter((r) => r.priority === 1228)).toEqual([{ priority: 1228, src: '198.18.229.0', srclen: 24, table: '228' }]);
    // The kernel uses them: a storage-sourced lookup goes by table 228, another source by main.
    const lookup = async (src: string) => (await ipJson<IpRoute[]>(STORAGE, ['route', 'get', '10.228.1.1', 'from', src]))[0]!;
    expect(await lookup('198.18.229.1')).toMatchObject({ gateway: '198.18.229.254', dev: 'brst' });
    expect((await lookup(labState().hosts.find((h) => h.name === STORAGE)!.address)).dev).toBe('mgmt0');

    const files = (await inHost(STORAGE, ['sh', '-c', 'for f in /etc/systemd/network/10-kvmnet-brst.network.d/r*.conf; do echo "== $f"; cat "$f"; done']))
      .stdout;
    expect(files).toContain('== /etc/systemd/network/10-kvmnet-brst.network.d/route-10_228_0_0_16-m0-t228.conf');
    expect(files).toContain('[Route]\nDestination=10.228.0.0/16\nGateway=198.18.229.254\nTable=228\nMTUBytes=9000\n');
    expect(files).toContain('[RoutingPolicyRule]\nFrom=198.18.229.0/24\nTable=228\nPriority=1228\n');

    const second = await runJson(playbook, STORAGE);
    expect(second.r.code, show(second.r)).toBe(0);
    expect(summaryOf(second.r).hosts[0]).toMatchObject({ changed: 0, ok: 7 });
    expect(second.tasks.map((t) => t.message).join('\n')).toMatch(/^route 10\.228\.0\.0\/16 table 228 is via 198\.18\.229\.254 dev brst mtu 9000/m);
  });

  it.runIf(existsSync('/lib/systemd/systemd-networkd'))(
    'after a "reboot", systemd-networkd rebuilds the route, the rule and the VXLAN with its entries from the files alone',
    async () => {
      // Runtime state gone, as after a reboot; then the real networkd in the host's namespaces (as in
      // persist.test.ts), until the route, the rule and the VXLAN's entries are back, then stopped.
      const script = String.raw`
      ip link del vxst; ip link del brst; ip route flush table 228; ip rule del priority 1228
      ip -br link show brst 2>/dev/null; ip route show table 228; ip rule show priority 1228; echo '@@gone@@'
      rm -rf /run/systemd/netif; mkdir -p /run/systemd/netif; chown systemd-network:systemd-network /run/systemd/netif
      unshare -m --propagation private sh -c 'mount -o remount,bind,ro /sys && exec /lib/systemd/systemd-networkd' >/run/kvmnet-e2e-networkd.log 2>&1 &
      pid=$!
      for i in $(seq 100); do
        if ip route show table 228 | grep -q '^10.228.0.0/16' && ip rule show priority 1228 | grep -q 228 && [ "$(bridge fdb show dev vxst 2>/dev/null | grep -c '^00:00:00:00:00:00')" = 2 ] && ip -o link show master brst | grep -q vxst; then break; fi
        sleep 0.1
      done
      kill $pid; wait $pid 2>/dev/null
      cat /run/kvmnet-e2e-networkd.log
    `;
      const r = await inHost(STORAGE, ['sh', '-c', script], { check: false });
      expect(r.stdout.split('@@gone@@')[0]!.trim(), show(r)).toBe('');
      const table = await ipJson<Array<IpRoute & { metrics?: Array<{ mtu?: number }> }>>(STORAGE, ['-4', 'route', 'show', 'table', '228']);
      expect(
        table.map((x) => [x.dst, x.gateway, x.dev, x.metrics?.[0]?.mtu]),
        show(r),
      ).toContainEqual(['10.228.0.0/16', '198.18.229.254', 'brst', 9000]);
      // (networkd's rule says protocol static: kvmnet compares rules without it)
      expect(
        (await ipJson<IpRule[]>(STORAGE, ['-4', 'rule', 'show'])).filter((x) => x.priority === 1228),
        show(r),
      ).toEqual([{ priority: 1228, src: '198.18.229.0', srclen: 24, table: '228', protocol: 'static' }]);
      const vx = (
        await ipJson<Array<{ master?: string; mtu: number; linkinfo: { info_data: { id: number; local: string } } }>>(STORAGE, ['-d', 'link', 'show', 'vxst'])
      )[0]!;
      expect([vx.master, vx.mtu, vx.linkinfo.info_data.id, vx.linkinfo.info_data.local], show(r)).toEqual([
        'brst',
        1450,
        228,
        labState().hosts.find((h) => h.name === STORAGE)!.address,
      ]);
      const fdb = (await inHost(STORAGE, ['bridge', '-j', 'fdb', 'show', 'dev', 'vxst'])).stdout;
      expect(
        (JSON.parse(fdb) as Array<{ mac: string; dst?: string }>)
          .filter((e) => e.mac === '00:00:00:00:00:00')
          .map((e) => e.dst)
          .sort(),
      ).toEqual(['198.18.230.2', '198.18.230.3']);
      // And kvmnet, reading the host again, finds nothing to change.
      const again = await runJson(writePlaybook('storage-after-reboot', STORAGE_PLAYBOOK), STORAGE);
      expect(summaryOf(again.r).hosts[0], show(again.r)).toMatchObject({ changed: 0, failed: 0 });
    },
  );

  it("a route that would take the SSH session's replies away is refused, and nothing changes", async () => {
    const { r, tasks } = await runJson(writePlaybook('cut-refused', cutRoute(false)), REFUSED);
    expect(r.code, show(r)).toBe(2);
    expect(tasks.find((t) => t.task === 'cut')).toMatchObject({
      outcome: 'failed',
      message: expect.stringMatching(
        new RegExp(`^refused: this change changes route ${labState().subnet.gateway.replace(/\./g, '\\.')} on mgmt0, and the SSH session runs over mgmt0`),
      ),
    });
    expect(await hostRoutesTo(REFUSED, labState().subnet.gateway)).toEqual([]);
  });

  it('under confirm: true the same route is applied, cuts the session, and the host rolls it back', async () => {
    const started = Date.now();
    const { r, tasks } = await runJson(writePlaybook('cut-confirm', cutRoute(true)), ROLLED);
    const elapsed = Date.now() - started;
    expect(r.code, show(r)).toBe(2);
    const cut = tasks.find((t) => t.task === 'cut');
    expect(cut?.outcome, show(r)).toBe('rolled_back');
    expect(cut!.message).toMatch(/^the change cut hv3 off/);
    expect(elapsed).toBeGreaterThanOrEqual(10_000);
    console.log(`[e2e] route cut on ${ROLLED} rolled back in ${elapsed} ms`);
    // The kernel has no such route, and the host answers a new connection.
    expect(await hostRoutesTo(ROLLED, labState().subnet.gateway)).toEqual([]);
    const facts = await kvmnet(['facts', '-i', inventory(), '--limit', ROLLED, '--output', 'json'], { timeoutMs: 60_000 });
    expect(facts.code, show(facts)).toBe(0);
    expect(await addresses(ROLLED, 'mgmt0')).toHaveLength(1);
  });
});
