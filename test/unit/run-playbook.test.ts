// The whole run on fake hosts: plays in order, hosts in parallel, a failing or unreachable host
// never takes the others down, facts carried from one play to the next, the recap.
import { afterEach, describe, expect, it } from 'vitest';
import { loadInventory } from '../../src/config/inventory.js';
import { parsePlaybook } from '../../src/config/playbook.js';
import type { Connection, ConnectionSettings } from '../../src/connection/types.js';
import { UnreachableError } from '../../src/errors.js';
import type { TaskEvent } from '../../src/model/result.js';
import { runPlaybook } from '../../src/run/run-playbook.js';
import type { Reporter } from '../../src/run/reporter.js';
import { FakeHost } from './support/fake-host.js';

const opened: FakeHost[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((h) => h.close()));
});

const PLAYBOOK = `- name: bridge
  hosts: all
  tasks:
    - ensure_bridge: { name: br0 }
    - ensure_port: { bridge: br0, interface: eth1 }
- name: address
  hosts: all
  tasks:
    - ensure_ip: { dev: br0, address: 192.168.0.90/24 }
`;

async function runOn(hostsSpec: Record<string, 'fresh' | 'converged' | 'failing' | 'unreachable'>, check = false) {
  const { inventory } = loadInventory([`${Object.keys(hostsSpec).join(',')},`]);
  const { playbook } = parsePlaybook('play.yaml', PLAYBOOK);
  const events: TaskEvent[] = [];
  const reporter: Reporter = { playStart() {}, taskStart() {}, taskDone: (e) => events.push(e), hostDone() {}, warn() {}, finish() {} };
  const byHost = new Map<string, FakeHost>();
  const connect = async (settings: ConnectionSettings): Promise<Connection> => {
    const kind = hostsSpec[settings.name]!;
    if (kind === 'unreachable') throw new UnreachableError(`${settings.name}: connect ECONNREFUSED`);
    const host = new FakeHost(kind === 'failing' ? { facts: 'fresh', failOn: /eth1 master/ } : { facts: kind });
    opened.push(host);
    byHost.set(settings.name, host);
    return host;
  };
  const summary = await runPlaybook(playbook!, inventory, { check, forks: 5, extraVars: {}, connect }, reporter);
  const recap = Object.fromEntries(summary.hosts.map((h) => [h.host, { ok: h.ok, changed: h.changed, failed: h.failed, unreachable: h.unreachable }]));
  return { summary, events, recap, byHost };
}

describe('run-playbook on fake hosts', () => {
  it('a failing and an unreachable host never stop the others; each host gets one connection and its facts once', async () => {
    const r = await runOn({ hv1: 'fresh', hv2: 'failing', hv3: 'unreachable', hv4: 'converged' });
    expect(r.recap).toEqual({
      hv1: { ok: 0, changed: 3, failed: 0, unreachable: 0 },
      hv2: { ok: 0, changed: 1, failed: 1, unreachable: 0 },
      hv3: { ok: 0, changed: 0, failed: 0, unreachable: 1 },
      hv4: { ok: 3, changed: 0, failed: 0, unreachable: 0 },
    });
    // hv1: facts once for both plays (the second play reuses the first one's), one exec per play's changes.
    expect(r.byHost.get('hv1')!.stats.execs).toBe(3);
    expect(r.byHost.get('hv4')!.stats.execs).toBe(1);
    // A failed host is not taken into the next play.
    expect(r.events.filter((e) => e.host === 'hv2').map((e) => e.play)).toEqual(['bridge', 'bridge']);
    expect(r.summary.hosts.find((h) => h.host === 'hv3')!.error).toMatch(/ECONNREFUSED/);
  });

  it('--check: the same plan, nothing but the facts exec on any host', async () => {
    const r = await runOn({ hv1: 'fresh', hv2: 'fresh' }, true);
    expect(r.recap.hv1).toEqual({ ok: 0, changed: 3, failed: 0, unreachable: 0 });
    expect([...r.byHost.values()].map((h) => h.stats.execs)).toEqual([1, 1]);
    expect(r.summary.check).toBe(true);
  });
});
