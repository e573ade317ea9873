// persist: ifupdown of a VLAN-aware bridge, proven on a real kernel: kvmnet writes the bridge's
// stanza (bridge_vlan_aware + post-up `bridge vlan` lines, what Debian 12's bridge-utils offers),
// the bridge is deleted by hand, and `ifup` of the written stanza alone must bring back the same
// VLAN table (`bridge -j vlan show`) and vlan_filtering (`ip -j -d link`). Then `kvmnet facts`
// finds no drift and a second run changes nothing; `ifdown` removes the bridge again.
// 1 host + the lab switch (eth3 is wired to a switch trunk port); KVMNET_E2E_VM=0 skips it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabState } from '../../../src/lab/index.js';
import { kvmnet, show, type Result } from '../exec.js';
import { onVmHost, vmLabUp, vmLabDown } from './support.js';

const enabled = process.env.KVMNET_E2E_VM !== '0';

let tmp = '';
let dir = '';
let state: LabState;
let inventory = '';
const timings: Record<string, number> = {};

const sh = (script: string, check = true): Promise<Result> => onVmHost(state, 'hv1', script, check);

async function run(name: string, tasks: string[]): Promise<Result> {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(file, `- name: ${name}\n  hosts: hv1\n  tasks:\n${tasks.map((t) => `    - ${t}\n`).join('')}`);
  const t0 = Date.now();
  const r = await kvmnet(['run', file, '-i', inventory], { timeoutMs: 300_000, env: { ...process.env, CI: '1' } });
  timings[name] = Date.now() - t0;
  return r;
}

const recap = (r: Result) => /hv1\s+: ok=(\d+)\s+changed=(\d+)\s+failed=(\d+)/.exec(r.stdout)?.slice(1).map(Number);

/** `bridge -j vlan show`, one line per port: `eth3 30 99:PVID,untagged 200 201 202`. */
async function vlanTable(): Promise<string[]> {
  const list = JSON.parse((await sh('bridge -j vlan show')).stdout) as Array<{
    ifname: string;
    vlans: Array<{ vlan: number; vlanEnd?: number; flags?: string[] }>;
  }>;
  return list
    .map((p) => {
      const ids = p.vlans.flatMap((v) =>
        Array.from({ length: (v.vlanEnd ?? v.vlan) - v.vlan + 1 }, (_, i) => {
          const flags = (v.flags ?? []).map((f) => (f === 'Egress Untagged' ? 'untagged' : f));
          return `${v.vlan + i}${flags.length ? `:${flags.join(',')}` : ''}`;
        }),
      );
      return `${p.ifname} ${ids.join(' ')}`;
    })
    .sort();
}

const TASKS = [
  'ensure_bridge: { name: br0, vlan_filtering: true, default_pvid: 1, persist: ifupdown }',
  'ensure_port: { bridge: br0, interface: eth3, vlans: [30, "200-202"], pvid: 99, untagged: [99], persist: ifupdown }',
];
const FILE = '/etc/network/interfaces.d/kvmnet-br0';
const WANTED = ['br0 1:PVID,untagged', 'eth3 30 99:PVID,untagged 200 201 202'];

describe.skipIf(!enabled)('persist: ifupdown of a VLAN-aware bridge, brought up by ifup on a VM lab host', () => {
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'kvmnet-e2e-vm-ifupdown-'));
    dir = join(tmp, 'lab');
    const lab = await vmLabUp(dir, 'kvi');
    ({ state, inventory } = lab);
    timings.up = lab.upMs;
    console.log(`[e2e vm ifupdown] lab ${lab.prefix} up in ${timings.up} ms`);
  }, 420_000);

  afterAll(() => vmLabDown(dir, tmp, `[e2e vm ifupdown] timings (ms): ${JSON.stringify(timings)}`), 180_000);

  it('converges the bridge and the port VLANs, and writes one stanza with them', async () => {
    const r = await run('converge', TASKS);
    expect(r.code, show(r)).toBe(0);
    expect(recap(r)).toEqual([0, 2, 0]);
    expect(await vlanTable()).toEqual(WANTED);
    const file = (await sh(`cat ${FILE}`)).stdout;
    expect(file).toContain('    bridge_vlan_aware yes\n');
    expect(file).toContain('    post-up bridge vlan add dev eth3 vid 99 pvid untagged\n');
  });

  it('ifup of the written stanza alone brings the bridge back with the same VLAN table', async () => {
    await sh('ip link del br0 && ip link set eth3 down');
    expect((await sh('ip -j link show br0', false)).code).not.toBe(0);
    const t0 = Date.now();
    const up = await sh('mkdir -p /run/network && ifup br0 2>&1');
    timings.ifup = Date.now() - t0;
    expect(up.code, show(up)).toBe(0);
    const [br0] = JSON.parse((await sh('ip -j -d link show br0')).stdout) as Array<{
      flags: string[];
      linkinfo: { info_data: { vlan_filtering: number; vlan_default_pvid: number } };
    }>;
    expect(br0!.linkinfo.info_data).toMatchObject({ vlan_filtering: 1, vlan_default_pvid: 1 });
    expect(br0!.flags).toContain('UP');
    expect(JSON.parse((await sh('ip -j link show eth3')).stdout)[0].master).toBe('br0');
    expect(await vlanTable()).toEqual(WANTED);
  });

  it('kvmnet facts finds no drift, and a second run changes nothing', async () => {
    const facts = await kvmnet(['facts', '-i', inventory, '--limit', 'hv1', '--output', 'json'], { timeoutMs: 120_000 });
    expect(facts.code, show(facts)).toBe(0);
    const drift = (JSON.parse(facts.stdout.trim().split('\n')[0]!) as { persistence_drift: string[] }).persistence_drift;
    expect(drift.filter((d) => /br0|eth3/.test(d))).toEqual([]);
    expect(recap(await run('again', TASKS))).toEqual([2, 0, 0]);
  });

  it('a VLAN changed by hand is drift in kvmnet facts', async () => {
    await sh('bridge vlan del dev eth3 vid 30');
    const facts = await kvmnet(['facts', '-i', inventory, '--limit', 'hv1', '--output', 'json'], { timeoutMs: 120_000 });
    const drift = (JSON.parse(facts.stdout.trim().split('\n')[0]!) as { persistence_drift: string[] }).persistence_drift;
    expect(drift).toContain('eth3: VLANs 30, 99 PVID untagged, 200-202 persisted (ifupdown), 99 PVID untagged, 200-202 at runtime');
  });

  it('state: absent of the port takes it and its VLAN lines out of the stanza; ifdown removes the bridge', async () => {
    const r = await run('absent', ['ensure_port: { bridge: br0, interface: eth3, state: absent, persist: ifupdown }']);
    expect(r.code, show(r)).toBe(0);
    const file = (await sh(`cat ${FILE}`)).stdout;
    expect(file).toContain('bridge_ports none');
    expect(file).not.toContain('eth3');
    await sh('ifdown br0 2>&1');
    expect((await sh('ip -j link show br0', false)).code).not.toBe(0);
  });
});
