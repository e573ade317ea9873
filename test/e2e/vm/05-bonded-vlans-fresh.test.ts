// playbooks/bonded-vlans.yaml, the one shipped playbook that needs a real kernel (bonding,
// 802.1Q), on a VM lab host made for it just now: the first run converges (read back with
// `ip -j -d link` and virsh), the second reports only `ok` and restarts no network.
// test/e2e/20-playbooks-fresh-host.test.ts does the same for the others on namespace hosts.
// 1 VM host + the lab switch; KVMNET_E2E_VM=0 skips it.
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabState } from '../../../src/lab/index.js';
import { kvmnet, REPO, show } from '../exec.js';
import { onVmHost, vmLabUp, vmLabDown } from './support.js';

const enabled = process.env.KVMNET_E2E_VM !== '0';

let tmp = '';
let dir = '';
let state: LabState;
let inventory = '';

interface JsonEvent {
  event: string;
  task?: string;
  outcome?: string;
  message?: string;
  hosts?: Array<{ host: string; changed: number; failed: number; unreachable: number }>;
}
const events = (stdout: string): JsonEvent[] =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as JsonEvent);

/** Each network's state, autostart, bridge ifindex (a restart makes the bridge anew). */
const networks = async () =>
  (
    await onVmHost(
      state,
      'hv1',
      "for n in vlan100 vlan200; do echo \"$n $(virsh -q net-info $n | sed -n 's/^\\(Active\\|Autostart\\):[[:space:]]*//p' | tr '\\n' ' ')$(cat /sys/class/net/br${n#vlan}/ifindex)\"; done",
    )
  ).stdout.trim();

describe.skipIf(!enabled)('playbooks/bonded-vlans.yaml on a fresh VM host', () => {
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'kvmnet-e2e-vm-fresh-'));
    dir = join(tmp, 'lab');
    ({ state, inventory } = await vmLabUp(dir, 'kbf', 1));
  }, 420_000);

  afterAll(() => vmLabDown(dir, tmp), 180_000);

  it('converges on its first run and changes nothing on its second', async () => {
    // A copy, so that a failed run's .retry file lands beside it and not in playbooks/.
    const pb = join(tmp, 'bonded-vlans.yaml');
    copyFileSync(join(REPO, 'playbooks', 'bonded-vlans.yaml'), pb);
    const first = await kvmnet(['run', pb, '-i', inventory, '--output', 'json'], { timeoutMs: 300_000 });
    expect(first.code, show(first)).toBe(0);
    const summary = events(first.stdout).find((e) => e.event === 'summary')!;
    expect(summary.hosts).toMatchObject([{ host: 'hv1', failed: 0, unreachable: 0 }]);
    expect(summary.hosts![0]!.changed).toBeGreaterThan(0);

    const l = Object.fromEntries(
      (
        JSON.parse((await onVmHost(state, 'hv1', 'ip -j -d link show')).stdout) as Array<{
          ifname: string;
          master?: string;
          link?: string;
          linkinfo?: { info_kind?: string; info_data?: { id?: number; mode?: string } };
        }>
      ).map((x) => [x.ifname, x]),
    );
    expect(l.bond0?.linkinfo?.info_data?.mode).toBe('802.3ad');
    expect([l.eth1?.master, l.eth2?.master]).toEqual(['bond0', 'bond0']);
    for (const v of [100, 200]) {
      expect(l[`bond0.${v}`]).toMatchObject({ link: 'bond0', master: `br${v}`, linkinfo: { info_kind: 'vlan', info_data: { id: v } } });
      expect(l[`br${v}`]?.linkinfo?.info_kind).toBe('bridge');
    }
    const nets = await networks();
    expect(nets).toMatch(/^vlan100 yes yes \d+\nvlan200 yes yes \d+$/);

    const second = await kvmnet(['run', pb, '-i', inventory, '--output', 'json'], { timeoutMs: 300_000 });
    expect(second.code, show(second)).toBe(0);
    const tasks = events(second.stdout).filter((e) => e.event === 'task');
    expect(tasks.filter((e) => e.outcome !== 'ok').map((e) => `${e.task}: ${e.outcome} ${e.message}`)).toEqual([]);
    expect(tasks.length).toBeGreaterThanOrEqual(9);
    expect(await networks()).toBe(nets);
  });
});
