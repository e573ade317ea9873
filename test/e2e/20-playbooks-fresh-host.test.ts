// Every shipped playbook that runs on a namespace host, each on a host made for it just now
// (`kvmnet lab up` of a one-host lab of its own: no network started, no libvirt firewall rule,
// nothing kvmnet ever kept in /run/kvmnet): the first run converges, the second reports only
// `ok` and restarts no network (bridge ifindex and dnsmasq pid as before). What the playbook
// asks for is read back with virsh and ip. playbooks/bonded-vlans.yaml needs bonding and 802.1Q,
// which this kernel lacks: test/e2e/vm/05 runs it on a fresh VM lab host.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { enterHost } from '../../src/lab/host.js';
import { readLabState } from '../../src/lab/index.js';
import { spawnCollect } from './exec.js';
import { kvmnet, labPrefix, REPO_PLAYBOOKS, scratchDir, show, summaryOf, taskEvents } from './helpers.js';
import { shown } from '../../src/text/shown.js';

const NEEDS_VM = new Set(['bonded-vlans.yaml']);
const PLAYBOOKS = readdirSync(REPO_PLAYBOOKS)
  .filter((f) => f.endsWith('.yaml') && !NEEDS_VM.has(f))
  .sort();

interface Task {
  ensure_libvirt_net?: { name: string; state?: string; autostart?: boolean };
  ensure_bridge?: { name: string };
  ensure_port?: { bridge: string; interface: string };
  ensure_ip?: { dev: string; address: string };
}
// The tasks as the host gets them where they name a play variable (`name: "{{ mesh_bridge }}"`).
const tasksOf = (file: string): Task[] =>
  (parse(readFileSync(join(REPO_PLAYBOOKS, file), 'utf8')) as Array<{ tasks: Task[]; vars?: Record<string, unknown> }>).flatMap(
    (p) =>
      JSON.parse(
        JSON.stringify(p.tasks).replace(/\{\{\s*(\w+)\s*\}\}/g, (m: string, v: string) => (p.vars?.[v] === undefined ? m : shown(p.vars[v]))),
      ) as Task[],
  );

const labs: string[] = [];
afterAll(async () => {
  for (const dir of labs) await kvmnet(['lab', 'down', '--dir', dir], { timeoutMs: 120_000 });
});

/** A one-host lab of its own, made now. */
async function freshHost(index: number): Promise<{ dir: string; inventory: string; run: (script: string) => Promise<string> }> {
  const dir = join(scratchDir(`fresh-${index}`), 'lab');
  // Its own prefix (at most 6 characters): the shared lab's, shortened, and the playbook's index.
  const prefix = `${labPrefix().slice(0, 4)}f${index}`;
  const up = await kvmnet(['lab', 'up', '--dir', dir, '--prefix', prefix, '-n', '1'], { timeoutMs: 180_000 });
  labs.push(dir);
  expect(up.code, show(up)).toBe(0);
  const holder = readLabState(dir).hosts[0]!.holderPid!;
  const run = async (script: string) => {
    const r = await spawnCollect([...enterHost(holder), 'sh', '-c', script], {
      timeoutMs: 60_000,
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', HOME: '/root' },
    });
    if (r.code !== 0) throw new Error(`${script}: ${show(r)}`);
    return r.stdout;
  };
  return { dir, inventory: join(dir, 'inventory.yaml'), run };
}

/** Per libvirt network: active, autostart, its bridge's ifindex and dnsmasq's pid (a restart changes both). */
async function networks(run: (s: string) => Promise<string>, names: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const n of names) {
    out[n] = (
      await run(
        `virsh -q net-info ${n} | sed -n 's/^\\(Active\\|Autostart\\):[[:space:]]*//p' | tr '\\n' ' '; b=$(virsh -q net-info ${n} | sed -n 's/^Bridge:[[:space:]]*//p'); cat /sys/class/net/$b/ifindex 2>/dev/null | tr '\\n' ' '; cat /run/libvirt/network/${n}.pid 2>/dev/null || echo no-dnsmasq`,
      )
    ).trim();
  }
  return out;
}

describe.each(PLAYBOOKS.map((f, i) => [f, i] as const))('playbooks/%s on a fresh host', (file, index) => {
  it('converges on its first run and changes nothing on its second', async () => {
    const host = await freshHost(index);
    const playbook = join(REPO_PLAYBOOKS, file);
    const tasks = tasksOf(file);

    const first = await kvmnet(['run', playbook, '-i', host.inventory, '--output', 'json'], { timeoutMs: 170_000 });
    expect(first.code, show(first)).toBe(0);
    expect(summaryOf(first).hosts).toMatchObject([{ host: 'hv1', failed: 0, unreachable: 0 }]);
    expect(summaryOf(first).hosts[0]!.changed).toBeGreaterThan(0);

    // What the playbook asks for, read back from the host.
    const nets = tasks.flatMap((t) => (t.ensure_libvirt_net ? [t.ensure_libvirt_net] : []));
    const state = await networks(
      host.run,
      nets.map((n) => n.name),
    );
    for (const n of nets) {
      const [active, autostart] = state[n.name]!.split(' ');
      expect(active, `${n.name} active`).toBe((n.state ?? 'active') === 'active' ? 'yes' : 'no');
      if (n.autostart !== undefined) expect(autostart, `${n.name} autostart`).toBe(n.autostart ? 'yes' : 'no');
    }
    const links = JSON.parse(await host.run('ip -j -d address show')) as Array<{
      ifname: string;
      master?: string;
      linkinfo?: { info_kind?: string };
      addr_info: Array<{ local: string; prefixlen: number }>;
    }>;
    for (const t of tasks) {
      if (t.ensure_bridge) expect(links.find((l) => l.ifname === t.ensure_bridge!.name)?.linkinfo?.info_kind, t.ensure_bridge.name).toBe('bridge');
      if (t.ensure_port) expect(links.find((l) => l.ifname === t.ensure_port!.interface)?.master, t.ensure_port.interface).toBe(t.ensure_port.bridge);
      if (t.ensure_ip)
        expect(
          links.find((l) => l.ifname === t.ensure_ip!.dev)?.addr_info.map((a) => `${a.local}/${a.prefixlen}`),
          t.ensure_ip.dev,
        ).toContain(t.ensure_ip.address);
    }

    const second = await kvmnet(['run', playbook, '-i', host.inventory, '--output', 'json'], { timeoutMs: 170_000 });
    expect(second.code, show(second)).toBe(0);
    expect(
      taskEvents(second)
        .filter((e) => e.outcome !== 'ok')
        .map((e) => `${e.task}: ${e.outcome} ${e.message}`),
    ).toEqual([]);
    expect(taskEvents(second).length).toBe(tasks.length);
    expect(
      await networks(
        host.run,
        nets.map((n) => n.name),
      ),
    ).toEqual(state);
  });
});
