// Routes, policy rules and a VXLAN persisted as ifupdown stanzas on a real lab host: a bridge with an
// address and a VXLAN port with two flooding entries, a route in its own table through the bridge
// and the rule that sends its subnet's traffic there, all `persist: ifupdown`; the files read back
// inside the host; a second run changes nothing. Then a "reboot": the runtime state deleted, and the
// real ifupdown (`ifup -a` with the host's /etc/network/interfaces.d and Debian's bridge-utils hook,
// in the host's namespaces) brings the bridge, the VXLAN back in it with its entries, the address,
// the route and the rule back from the files alone (read with `ip -j`, `bridge -j fdb`); kvmnet then
// finds nothing to change; `ifdown -a` takes it all away again.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inHost, inventory, ipJson, kvmnet, labState, resetHosts, show, summaryOf, writePlaybook, type LabHost } from './helpers.js';

const HOST: LabHost = 'hv2';
const DIR = '/etc/network/interfaces.d';
const address = () => labState().hosts.find((h) => h.name === HOST)!.address;

const PLAYBOOK = `- hosts: ${HOST}
  persist: ifupdown
  tasks:
    - name: bridge
      ensure_bridge: { name: brif, stp: false }
    - name: vxlan
      ensure_vxlan: { name: vxif, vni: 231, local: "{{ host }}", remotes: [198.18.232.2, 198.18.232.3], mtu: 1400 }
    - name: the vxlan in the bridge
      ensure_port: { bridge: brif, interface: vxif }
    - name: its address
      ensure_ip: { dev: brif, address: 198.18.231.1/24 }
    - name: a subnet behind it, in table 231
      ensure_route: { dst: 10.231.0.0/16, via: 198.18.231.254, dev: brif, table: 231 }
    - name: its subnet looks up table 231
      ensure_rule: { priority: 1231, from: 198.18.231.0/24, table: 231 }
`;

interface IpRoute {
  dst: string;
  gateway?: string;
  dev: string;
}
interface IpRule {
  priority: number;
  src?: string;
  srclen?: number;
  table?: string;
}

async function run(label: string) {
  const r = await kvmnet(['run', writePlaybook(label, PLAYBOOK), '-i', inventory(), '--limit', HOST, '--output', 'json'], { timeoutMs: 150_000 });
  expect(r.code, show(r)).toBe(0);
  return summaryOf(r).hosts[0]!;
}

/** What the kernel has of the layout, read inside the host. */
async function kernelState() {
  const links = await ipJson<
    Array<{ ifname: string; mtu: number; master?: string; linkinfo?: { info_kind: string; info_data: { id: number; local: string } } }>
  >(HOST, ['-d', 'link', 'show']);
  const vx = links.find((l) => l.ifname === 'vxif');
  const fdb = vx ? (JSON.parse((await inHost(HOST, ['bridge', '-j', 'fdb', 'show', 'dev', 'vxif'])).stdout) as Array<{ mac: string; dst?: string }>) : [];
  const addrs = await ipJson<Array<{ ifname: string; addr_info: Array<{ local: string; prefixlen: number; scope: string }> }>>(HOST, ['-4', 'address', 'show']);
  const routes = await ipJson<IpRoute[]>(HOST, ['-4', 'route', 'show', 'table', '231']);
  const rules = (await ipJson<IpRule[]>(HOST, ['-4', 'rule', 'show'])).filter((r) => r.priority === 1231);
  return {
    vxlan: vx ? [vx.linkinfo?.info_kind, vx.linkinfo?.info_data.id, vx.linkinfo?.info_data.local, vx.mtu, vx.master] : null,
    remotes: fdb
      .filter((e) => e.mac === '00:00:00:00:00:00')
      .map((e) => e.dst)
      .sort(),
    address: (addrs.find((a) => a.ifname === 'brif')?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`),
    routes: routes.map((r) => [r.dst, r.gateway, r.dev]),
    rules: rules.map((r) => [r.src, r.srclen, r.table]),
  };
}

const WANTED = () => ({
  vxlan: ['vxlan', 231, address(), 1400, 'brif'],
  remotes: ['198.18.232.2', '198.18.232.3'],
  address: ['198.18.231.1/24'],
  routes: [['10.231.0.0/16', '198.18.231.254', 'brif']],
  rules: [['198.18.231.0', 24, '231']],
});

// ifup reads this file, which reads the host's drop-in directory (as Debian's /etc/network/interfaces does).
const IFUPDOWN = (verb: 'ifup' | 'ifdown') =>
  `printf 'source-directory ${DIR}\\n' >/run/kvmnet-e2e-interfaces; mkdir -p /run/kvmnet-e2e-ifstate; ${verb} -v -a -i /run/kvmnet-e2e-interfaces --state-dir /run/kvmnet-e2e-ifstate ${verb === 'ifdown' ? '--force ' : ''}2>&1`;

describe.runIf(existsSync('/sbin/ifup'))('routes, rules and a VXLAN persisted as ifupdown stanzas', () => {
  beforeAll(() => resetHosts([HOST]));
  afterAll(async () => {
    await inHost(HOST, [
      'sh',
      '-c',
      'ip rule del priority 1231 2>/dev/null; ip route flush table 231 2>/dev/null; rm -rf /run/kvmnet-e2e-interfaces /run/kvmnet-e2e-ifstate; true',
    ]);
    await resetHosts([HOST]);
  });

  it('converges, writes the stanzas, and a second run changes nothing', async () => {
    expect(await run('ifupdown-routing')).toMatchObject({ changed: 6, failed: 0 });
    expect(await kernelState()).toEqual(WANTED());
    const files = (await inHost(HOST, ['sh', '-c', `for f in ${DIR}/kvmnet-*; do echo "== $f"; cat "$f"; done`])).stdout;
    expect(files).toContain(`== ${DIR}/kvmnet-0-auto-vxif\n`);
    expect(files).toContain(`== ${DIR}/kvmnet-vxif\n`);
    expect(files).toContain('    bridge_ports vxif\n');
    expect(files).toContain(
      `iface vxif inet manual\n    pre-up ip link add vxif type vxlan id 231 local ${address()} dstport 4789 learning\n    mtu 1400\n    post-up bridge fdb append 00:00:00:00:00:00 dev vxif dst 198.18.232.2\n    post-up bridge fdb append 00:00:00:00:00:00 dev vxif dst 198.18.232.3\n    post-down ip link del vxif\n`,
    );
    expect(files).toContain(`== ${DIR}/kvmnet-brif__route-10-231-0-0-16-m0-t231\n`);
    expect(files).toContain(
      'iface brif inet manual\n    post-up ip route replace 10.231.0.0/16 via 198.18.231.254 dev brif table 231\n    pre-down ip route del 10.231.0.0/16 via 198.18.231.254 dev brif table 231 2>/dev/null || true\n',
    );
    expect(files).toContain(`== ${DIR}/kvmnet-brif__rule-1231\n`);
    expect(files).toContain('    post-up ip rule add from 198.18.231.0/24 priority 1231 table 231\n');
    expect(await run('ifupdown-routing-again')).toMatchObject({ changed: 0, failed: 0 });
  });

  it('after a "reboot", ifupdown brings all of it back from the files alone; kvmnet then changes nothing; ifdown removes it', async () => {
    await inHost(HOST, ['sh', '-c', 'ip link del vxif; ip link del brif; ip rule del priority 1231; ip route flush table 231 2>/dev/null; true']);
    expect((await ipJson<Array<{ ifname: string }>>(HOST, ['link', 'show'])).map((l) => l.ifname)).not.toContain('brif');
    expect(await kernelState()).toEqual({ vxlan: null, remotes: [], address: [], routes: [], rules: [] });
    const up = await inHost(HOST, ['sh', '-c', IFUPDOWN('ifup')], { check: false });
    expect(up.code, show(up)).toBe(0);
    expect(await kernelState(), show(up)).toEqual(WANTED());
    expect(await run('ifupdown-routing-after-reboot')).toMatchObject({ changed: 0, failed: 0 });
    // ifdown -a undoes it: the rule, the route (pre-down), the address, the VXLAN (post-down).
    const down = await inHost(HOST, ['sh', '-c', IFUPDOWN('ifdown')], { check: false });
    expect(down.code, show(down)).toBe(0);
    expect(await kernelState(), show(down)).toEqual({ vxlan: null, remotes: [], address: [], routes: [], rules: [] });
  });
});
