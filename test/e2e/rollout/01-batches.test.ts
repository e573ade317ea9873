// Rolling a play out over a fleet of 6 lab hosts in batches (`serial`), stopping when too many
// hosts of a batch fail (`max_fail_percentage`), and rerunning only the failed hosts from the
// `.retry` file. A host is made to fail through a host var (`uplink`: an interface it does not
// have), the way a real fleet has one odd host. Every claim is read back inside the hosts: the
// bridge and its port (ip -j), and whether kvmnet contacted the host at all (the lock-owner file
// that the facts command writes).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectFresh, kvmnet, link, show, writePlaybook, type LabHost } from '../helpers.js';
import { contacted, FLEET, fleetInventory, forgetContacts, growLab, outcomes, resetFleet, runJson } from './support.js';

const uplinks = (bad: readonly string[]) => Object.fromEntries(FLEET.map((h) => [h, { uplink: bad.includes(h) ? 'eth7' : 'eth1' }]));

/** br0 with the host's uplink as its port; HEADER holds the play keywords under test. */
const uplinkPlaybook = (label: string, header: string) =>
  writePlaybook(
    label,
    `- name: uplink bridge
  hosts: lab
${header}
  tasks:
    - name: bridge br0
      ensure_bridge: { name: br0 }
    - name: uplink into br0
      ensure_port: { bridge: br0, interface: "{{ uplink }}" }
`,
  );

/** br0 exists with eth1 as its port: the play ran to the end on HOST. */
async function expectConverged(host: LabHost): Promise<void> {
  expect((await link(host, 'br0'))?.linkinfo?.info_kind, `${host}: br0`).toBe('bridge');
  expect((await link(host, 'eth1'))?.master, `${host}: eth1 master`).toBe('br0');
}

/** Nothing of the play on HOST, and kvmnet never gathered facts there. */
async function expectUntouched(host: LabHost): Promise<void> {
  expect(contacted(host), `${host} was contacted`).toBe(false);
  await expectFresh(host);
}

describe('rolling out over 6 hosts', () => {
  beforeAll(async () => {
    await growLab();
  });
  beforeEach(async () => {
    await resetFleet(FLEET);
  });
  afterAll(async () => {
    await resetFleet(FLEET);
  });

  it('serial [1, "50%"] with a failing canary and max_fail_percentage 0 stops after the canary; the 5 others are never touched (exit 2)', async () => {
    const playbook = uplinkPlaybook('canary', '  serial: [1, "50%"]\n  max_fail_percentage: 0');
    const { r, events, tasks, summary } = await runJson([playbook, '-i', fleetInventory('canary', uplinks(['hv1']))]);
    expect(r.code, show(r)).toBe(2);

    // Batches of 1, 3 (50% of 6) and 2 were planned; only the first started.
    expect(events.filter((e) => e.event === 'batch').map(({ time: _time, ...e }) => e)).toEqual([{ event: 'batch', batch: 1, batches: 3, hosts: ['hv1'] }]);
    expect(outcomes(tasks)).toEqual([
      ['hv1', 'bridge br0', 'changed'],
      ['hv1', 'uplink into br0', 'failed'],
    ]);
    expect(tasks[1]!.message).toMatch(/interface eth7 does not exist on hv1/);
    expect(summary.hosts).toMatchObject([{ host: 'hv1', failed: 1, batch: 1 }]);
    expect(summary.notTouched).toEqual(['hv2', 'hv3', 'hv4', 'hv5', 'hv6']);
    const warnings = events.filter((e) => e.event === 'warning').map((e) => e.message);
    expect(warnings).toContain('never touched: hv2, hv3, hv4, hv5, hv6');

    // The canary really ran (br0 made, port refused) ...
    expect((await link('hv1', 'br0'))?.linkinfo?.info_kind).toBe('bridge');
    expect((await link('hv1', 'eth1'))?.master).toBeUndefined();
    expect(contacted('hv1')).toBe(true);
    // ... and the rest of the fleet is exactly as it was.
    await Promise.all(FLEET.slice(1).map(expectUntouched));
  });

  it('max_fail_percentage stops when the failed share EXCEEDS it: 1 of 2 failed goes on at 50, stops at 49', async () => {
    const inv = fleetInventory('threshold', uplinks(['hv2']));

    const at50 = await runJson([uplinkPlaybook('threshold-50', '  serial: 2\n  max_fail_percentage: 50'), '-i', inv]);
    expect(at50.r.code, show(at50.r)).toBe(2);
    expect(at50.events.filter((e) => e.event === 'batch').map((e) => e.hosts)).toEqual([
      ['hv1', 'hv2'],
      ['hv3', 'hv4'],
      ['hv5', 'hv6'],
    ]);
    expect(at50.summary.notTouched).toEqual([]);
    expect(at50.summary.hosts.map((h) => [h.host, h.batch, h.failed])).toEqual([
      ['hv1', 1, 0],
      ['hv2', 1, 1],
      ['hv3', 2, 0],
      ['hv4', 2, 0],
      ['hv5', 3, 0],
      ['hv6', 3, 0],
    ]);
    await Promise.all(FLEET.filter((x) => x !== 'hv2').map(expectConverged));
    expect((await link('hv2', 'eth1'))?.master).toBeUndefined();

    await resetFleet(FLEET);
    // Plain output this time: the recap a person reads says the same.
    const at49 = await kvmnet(['run', uplinkPlaybook('threshold-49', '  serial: 2\n  max_fail_percentage: 49'), '-i', inv]);
    expect(at49.code, show(at49)).toBe(2);
    expect(at49.stdout).toContain('warning: 1 of 2 hosts failed in batch 1, more than max_fail_percentage 49%: stopping the rollout');
    expect(at49.stdout).toMatch(/^hv1 +: ok=0 +changed=2 +failed=0 /m);
    expect(at49.stdout).toMatch(/^hv2 +: ok=0 +changed=1 +failed=1 /m);
    expect(at49.stdout).toContain('never touched (rollout stopped): hv3, hv4, hv5, hv6');
    expect(at49.stdout).not.toMatch(/BATCH 2\//);
    await expectConverged('hv1');
    await Promise.all(FLEET.slice(2).map(expectUntouched));
  });

  it('the .retry file lists exactly the failed hosts, and --limit @file reruns only those', async () => {
    const playbook = uplinkPlaybook('retry', '');
    const retry = playbook.replace(/\.yaml$/, '.retry');
    const first = await runJson([playbook, '-i', fleetInventory('retry-broken', uplinks(['hv3', 'hv5']))]);
    expect(first.r.code, show(first.r)).toBe(2);
    expect(first.summary.hosts.filter((h) => h.failed > 0).map((h) => h.host)).toEqual(['hv3', 'hv5']);
    expect(readFileSync(retry, 'utf8')).toBe('hv3\nhv5\n');
    await Promise.all((['hv1', 'hv2', 'hv4', 'hv6'] as LabHost[]).map(expectConverged));

    // The cause fixed (every host's uplink is eth1 again), the rerun goes only to the two.
    forgetContacts(FLEET);
    const again = await runJson([playbook, '-i', fleetInventory('retry-fixed', uplinks([])), '--limit', `@${retry}`]);
    expect(again.r.code, show(again.r)).toBe(0);
    expect(again.events.filter((e) => e.event === 'play').map((e) => e.hosts)).toEqual([['hv3', 'hv5']]);
    expect([...new Set(again.tasks.map((t) => t.host))].sort()).toEqual(['hv3', 'hv5']);
    expect(again.summary.hosts.map((h) => [h.host, h.changed, h.failed])).toEqual([
      ['hv3', 1, 0],
      ['hv5', 1, 0],
    ]);
    for (const h of FLEET) expect(contacted(h), `${h} contacted by the rerun`).toBe(['hv3', 'hv5'].includes(h));
    await Promise.all(FLEET.map(expectConverged));
  });
});
