// ensure_ovs_bridge on a VM lab host running Debian's openvswitch-switch (its kernel module and
// daemons, started with ovs-ctl): an OVS bridge with a tagged port, a libvirt network with
// `<virtualport type="openvswitch"/>` on it, read back with ovs-vsctl and virsh; a second run
// changes nothing; a new tag is set in place, a port no longer listed is removed; a trunk port's
// VLANs (trunks) set, compared as ovs-vsctl reports them (a second run with them listed in another
// order changes nothing), changed and cleared in place.
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

const sh = (script: string, check = true): Promise<Result> => onVmHost(state, 'hv1', script, check);

async function run(name: string, tasks: string[]): Promise<Result> {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(file, `- name: ${name}\n  hosts: hv1\n  tasks:\n${tasks.map((t) => `    - ${t}\n`).join('')}`);
  return kvmnet(['run', file, '-i', inventory], { timeoutMs: 300_000, env: { ...process.env, CI: '1' } });
}

const recap = (r: Result) => /hv1\s+: ok=(\d+)\s+changed=(\d+)\s+failed=(\d+)/.exec(r.stdout)?.slice(1).map(Number);
const NET = `ensure_libvirt_net: { name: ovsnet, state: active, xml: "<network><name>ovsnet</name><forward mode='bridge'/><bridge name='ovsbr0'/><virtualport type='openvswitch'/></network>" }`;

describe.skipIf(!enabled)('Open vSwitch on a VM lab host', () => {
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'kvmnet-e2e-vm-ovs-'));
    dir = join(tmp, 'lab');
    const lab = await vmLabUp(dir, 'kvo');
    ({ state, inventory } = lab);
    // The lab's root is this machine's (read-only, /etc and /var writable overlays): start OVS in the VM.
    await sh('modprobe openvswitch && /usr/share/openvswitch/scripts/ovs-ctl start --system-id=random >/dev/null');
  }, 420_000);

  afterAll(() => vmLabDown(dir, tmp), 180_000);

  it('an OVS bridge with a tagged port and a libvirt network on it; a second run changes nothing', async () => {
    const tasks = ['ensure_ovs_bridge: { name: ovsbr0, ports: [{ name: eth1, tag: 100 }, { name: eth2 }] }', NET];
    const first = await run('ovs', tasks);
    expect(first.code, show(first)).toBe(0);
    expect(recap(first), show(first)).toEqual([0, 2, 0]);
    expect((await sh('ovs-vsctl list-ports ovsbr0')).stdout.split('\n').filter(Boolean).sort()).toEqual(['eth1', 'eth2']);
    expect((await sh('ovs-vsctl get port eth1 tag; ovs-vsctl get port eth2 tag')).stdout.split('\n').filter(Boolean)).toEqual(['100', '[]']);
    expect((await sh('ip -br link show eth1; ip -br link show ovsbr0')).stdout).toMatch(/^eth1\s+UP.*\n^ovsbr0\s+UNKNOWN/m);
    const xml = (await sh('virsh net-dumpxml ovsnet; virsh net-info ovsnet')).stdout;
    expect(xml).toMatch(/<bridge name='ovsbr0'\/>/);
    expect(xml).toMatch(/<virtualport type='openvswitch'\/>/);
    expect(xml).toMatch(/^Active:\s+yes/m);

    const second = await run('ovs', tasks);
    expect(recap(second), show(second)).toEqual([2, 0, 0]);
  }, 300_000);

  it('a new tag is set in place, a port no longer listed is removed', async () => {
    const r = await run('ovs-retag', ['ensure_ovs_bridge: { name: ovsbr0, ports: [{ name: eth1, tag: 200 }] }']);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/OVS port eth1: tag 100 → tag 200/);
    expect(r.stdout).toMatch(/remove eth2 from OVS bridge ovsbr0 \(not listed\)/);
    expect((await sh('ovs-vsctl list-ports ovsbr0; ovs-vsctl get port eth1 tag')).stdout.split('\n').filter(Boolean)).toEqual(['eth1', '200']);
  }, 300_000);

  it('a trunk port: its VLANs set, the same set in another order is no change, then changed and cleared in place', async () => {
    const trunk = (t: string) => [`ensure_ovs_bridge: { name: ovsbr0, ports: [{ name: eth1, tag: 200 }, { name: eth2, trunks: ${t} }] }`];
    const trunks = async () => (await sh('ovs-vsctl get port eth2 trunks')).stdout.trim();
    const r = await run('ovs-trunk', trunk('[30, 10, 20]'));
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/add eth2 to OVS bridge ovsbr0 \(untagged trunks 10,20,30\)/);
    expect(await trunks()).toBe('[10, 20, 30]');
    const again = await run('ovs-trunk-again', trunk('[20, 30, 10]'));
    expect(recap(again), show(again)).toEqual([1, 0, 0]);
    const changed = await run('ovs-trunk-change', trunk('[10, 40]'));
    expect(changed.stdout).toMatch(/OVS port eth2: trunks 10,20,30 → 10,40/);
    expect(await trunks()).toBe('[10, 40]');
    const cleared = await run('ovs-trunk-clear', trunk('[]'));
    expect(cleared.stdout).toMatch(/OVS port eth2: trunks 10,40 → none/);
    expect(await trunks()).toBe('[]');
  }, 300_000);
});
