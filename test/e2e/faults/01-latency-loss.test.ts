// A slow, lossy link: 200 ms each way (a delaying proxy in front of hv1's sshd) and 5 % of the
// packets to hv1's port 22 dropped (iptables in hv1's namespace; this kernel has no netem).
// bridged.yaml still converges there, on ONE connection, with one exec for the facts and one
// per changed task — latency must not turn into repeated work — and a second run only reads facts.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addresses,
  BRIDGED,
  inHost,
  kvmnet,
  labDir,
  labHost,
  link,
  netInfo,
  resetHost,
  scratchDir,
  show,
  summaryOf,
  taskEvents,
  type LabHost,
} from '../helpers.js';
import { inventoryCopy, knownHostsEntry, startDelayProxy, type DelayProxy } from './support.js';

const HOST: LabHost = 'hv1';
const DELAY_MS = 200;
const DROP_RULE = ['INPUT', '-p', 'tcp', '--dport', '22', '-m', 'statistic', '--mode', 'random', '--probability', '0.05', '-j', 'DROP'];

async function iptablesRules(): Promise<string> {
  return (await inHost(HOST, ['iptables', '-S', 'INPUT'])).stdout;
}

describe('a slow and lossy link to one host', () => {
  let proxy: DelayProxy | undefined;
  let inv = '';
  let playbook = '';

  beforeAll(async () => {
    await resetHost(HOST);
    await inHost(HOST, ['iptables', '-A', ...DROP_RULE]);
    proxy = await startDelayProxy({ host: labHost(HOST).address, port: 22 }, DELAY_MS);

    // known_hosts entries are by address: the proxy's address needs hv1's key under `[127.0.0.1]:PORT`.
    const dir = scratchDir('latency');
    const knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, `${readFileSync(join(labDir(), 'known_hosts'), 'utf8')}[127.0.0.1]:${proxy.port} ${knownHostsEntry(HOST).key}\n`);
    inv = inventoryCopy(dir, (doc) => {
      doc.all.vars.known_hosts = knownHosts;
      Object.assign(doc.all.children.lab.hosts[HOST]!, { host: '127.0.0.1', port: proxy!.port });
    });
    playbook = join(dir, 'bridged.yaml');
    writeFileSync(playbook, readFileSync(BRIDGED, 'utf8'));
  });

  afterAll(async () => {
    await proxy?.close();
    // Delete the rule as often as it is there (once), then check none is left.
    while ((await inHost(HOST, ['iptables', '-D', ...DROP_RULE], { check: false })).code === 0);
    expect(await iptablesRules()).not.toMatch(/statistic/);
  });

  it('bridged.yaml converges through it: 1 connection, 2 execs (facts + the 4 changed tasks in one), state read back', async () => {
    expect(await iptablesRules()).toMatch(/--dport 22 -m statistic --mode random --probability 0\.0(5|49999)\d* -j DROP/);
    const r = await kvmnet(['run', playbook, '-i', inv, '--limit', HOST, '--output', 'json'], { timeoutMs: 170_000 });
    expect(r.code, show(r)).toBe(0);
    const summary = summaryOf(r) as ReturnType<typeof summaryOf> & { stats: { connections: number; execs: number }; elapsedMs: number };
    expect(summary.hosts).toMatchObject([{ host: HOST, changed: 4, failed: 0, unreachable: 0 }]);
    expect(taskEvents(r, HOST).map((e) => e.outcome)).toEqual(['changed', 'changed', 'changed', 'changed']);
    expect(summary.stats).toEqual({ connections: 1, execs: 2, factsTopUps: 0 });
    // The latency was really there: the handshake and every exec are round trips through the proxy.
    expect(summary.elapsedMs).toBeGreaterThan(2 * 2 * DELAY_MS);
    expect(proxy!.accepted()).toBe(1);

    expect((await link(HOST, 'br0'))?.linkinfo?.info_data?.stp_state).toBe(1);
    expect((await link(HOST, 'eth1'))?.master).toBe('br0');
    expect(await addresses(HOST, 'br0')).toEqual(['192.168.0.90/24']);
    expect(await netInfo(HOST, 'bridged-network')).toMatchObject({ active: true, autostart: true, persistent: true, bridge: 'br0' });
  });

  it('a second run through it changes nothing and only reads the facts: 1 connection, 1 exec', async () => {
    const r = await kvmnet(['run', playbook, '-i', inv, '--limit', HOST, '--output', 'json'], { timeoutMs: 170_000 });
    expect(r.code, show(r)).toBe(0);
    const summary = summaryOf(r) as ReturnType<typeof summaryOf> & { stats: { connections: number; execs: number } };
    expect(summary.hosts).toMatchObject([{ host: HOST, ok: 4, changed: 0, failed: 0, unreachable: 0 }]);
    expect(summary.stats).toEqual({ connections: 1, execs: 1, factsTopUps: 0 });
    expect(proxy!.accepted()).toBe(2);
    const counters = (await inHost(HOST, ['iptables', '-L', 'INPUT', '-v', '-n', '-x'])).stdout;
    console.log(`[faults] ${HOST}: packets dropped by the 5 % rule during both runs:\n${counters}`);
  });
});
