// Changes on the SSH path of real lab hosts, guarded by commit-confirmed: the interface that
// carries kvmnet's own session moved into a bridge with `migrate: true` (the host stays reachable at
// its old address: a NEW connection, `kvmnet facts`, and the kernel's links, addresses and routes say
// so); forced into a bridge that is down (the session is cut, the timer rolls the host back, kvmnet
// reports `rolled_back`); and play `confirm: true` on a harmless change (confirmed, disarmed, and the
// timer never fires). The three run at once on different hosts: most of their time is spent waiting
// for rollback timers. Each puts its hosts back by hand (mgmt0 released with its address and route,
// brm deleted) when it ends, also when it fails.
import { existsSync, readdirSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { addresses, ipJson, jsonEvents, kvmnet, labHost, labState, link, show, writePlaybook, type LabHost } from '../helpers.js';
import { fleetInventory, growLab, hostPath, hostProcesses, hv, outcomes, resetFleet, runJson, sleep } from '../rollout/support.js';

const MIGRATE = hv(4);
const CUT = [hv(5), hv(6)];
const CONFIRM = hv(3);

interface Route {
  dst: string;
  gateway?: string;
  dev: string;
}

async function defaultRoutes(host: LabHost): Promise<Array<[string | undefined, string]>> {
  return (await ipJson<Route[]>(host, ['-4', 'route', 'show', 'default'])).map((r) => [r.gateway, r.dev]);
}

/** `kvmnet facts --output json` over new SSH connections: which interface and address carry the session. */
async function sessionOf(inv: string, hosts: readonly LabHost[]): Promise<Record<string, { address?: string; interface?: string } | string>> {
  const r = await kvmnet(['facts', '-i', inv, '--limit', hosts.join(','), '--output', 'json'], { timeoutMs: 60_000 });
  expect(r.code, show(r)).toBe(0);
  return Object.fromEntries(jsonEvents(r.stdout).map((f) => [f.host as string, (f.ssh as { address: string; interface: string }) ?? String(f.error)]));
}

describe.concurrent('changes on the SSH path, guarded by commit-confirmed', () => {
  let inv: string;
  beforeAll(async () => {
    await growLab();
    await resetFleet([MIGRATE, ...CUT, CONFIRM]);
    inv = fleetInventory('mgmt');
  });

  it('migrate: true moves mgmt0 into brm with its address and default route; the host stays reachable at its old address', async ({ onTestFinished }) => {
    const H = MIGRATE;
    onTestFinished(() => resetFleet([H]));
    const address = labHost(H).address;
    const gateway = labState().subnet.gateway;
    const mac = ((await link(H, 'mgmt0')) as unknown as { address: string }).address;
    const playbook = writePlaybook(
      'migrate',
      `- name: management path onto a bridge
  hosts: lab
  tasks:
    - name: bridge brm
      ensure_bridge: { name: brm }
    - name: mgmt0 into brm
      ensure_port: { bridge: brm, interface: mgmt0, migrate: true }
`,
    );
    const { r, tasks, summary } = await runJson([playbook, '-i', inv, '--limit', H]);
    expect(r.code, show(r)).toBe(0);
    expect(outcomes(tasks)).toEqual([
      [H, 'bridge brm', 'changed'],
      [H, 'mgmt0 into brm', 'changed'],
    ]);
    expect(tasks[1]!.message).toBe(`migrate mgmt0 into brm: move ${address}/24, route default via ${gateway} to brm, then add mgmt0 to brm`);
    expect(summary.hosts).toMatchObject([{ host: H, changed: 2, failed: 0, unreachable: 0, rolled_back: 0 }]);

    // A new SSH connection reaches the old address, now through brm.
    expect(await sessionOf(inv, [H])).toEqual({ [H]: { address, interface: 'brm' } });
    // The kernel agrees: mgmt0 is a port of brm, the address and the default route are on brm,
    // and brm answers with mgmt0's MAC (neighbours' ARP caches stay right).
    expect((await link(H, 'mgmt0'))?.master).toBe('brm');
    expect(await addresses(H, 'brm')).toEqual([`${address}/24`]);
    expect(await addresses(H, 'mgmt0')).toEqual([]);
    expect(await defaultRoutes(H)).toEqual([[gateway, 'brm']]);
    expect(((await link(H, 'brm')) as unknown as { address: string }).address).toBe(mac);

    // Converged: a second run changes nothing (and reaches the host through brm to find out).
    const again = await runJson([playbook, '-i', inv, '--limit', H]);
    expect(again.r.code, show(again.r)).toBe(0);
    expect(outcomes(again.tasks)).toEqual([
      [H, 'bridge brm', 'ok'],
      [H, 'mgmt0 into brm', 'ok'],
    ]);
  });

  it('force: true into a bridge that is down cuts the host off; the timer rolls it back, reported rolled_back (exit 2)', async ({ onTestFinished }) => {
    const playbook = writePlaybook(
      'cut',
      `- name: a forced cut
  hosts: lab
  confirm_timeout: 10
  tasks:
    - name: bridge brm, down
      ensure_bridge: { name: brm, up: false }
    - name: mgmt0 into brm, forced
      ensure_port: { bridge: brm, interface: mgmt0, force: true }
`,
    );
    const [JSON_HOST, TEXT_HOST] = CUT as [LabHost, LabHost];
    onTestFinished(() => resetFleet(CUT));
    // The same cut on two hosts at once, one reported as JSON, one as text (the recap a person reads).
    const started = Date.now();
    const [json, text] = await Promise.all([
      runJson([playbook, '-i', inv, '--limit', JSON_HOST]),
      kvmnet(['run', playbook, '-i', inv, '--limit', TEXT_HOST], { timeoutMs: 150_000 }),
    ]);
    const elapsed = Date.now() - started;

    expect(json.r.code, show(json.r)).toBe(2);
    expect(outcomes(json.tasks)).toEqual([
      [JSON_HOST, 'bridge brm, down', 'changed'],
      [JSON_HOST, 'mgmt0 into brm, forced', 'rolled_back'],
    ]);
    expect(json.tasks[1]!.message).toMatch(
      /^the change cut hv5 off \(no new SSH connection was possible\); the rollback timer restored it after 10 s and the host is reachable again/,
    );
    expect(json.summary.hosts).toMatchObject([{ host: JSON_HOST, changed: 1, failed: 0, unreachable: 0, rolled_back: 1 }]);

    expect(text.code, show(text)).toBe(2);
    expect(text.stdout).toMatch(/^hv6 \| mgmt0 into brm, forced \| rolled_back \| the change cut hv6 off/m);
    expect(text.stdout).toMatch(/^hv6 +: ok=0 +changed=1 +failed=0 +skipped=0 +unreachable=0 +rolled_back=1$/m);
    expect(text.stdout).toMatch(/· rolled back 1 ·/);
    // The rollback waited for its timer: not before 10 s.
    expect(elapsed).toBeGreaterThanOrEqual(10_000);

    // Reachable again over new connections, through mgmt0 ...
    const sessions = await sessionOf(inv, CUT);
    for (const h of CUT) expect(sessions[h], h).toEqual({ address: labHost(h).address, interface: 'mgmt0' });
    // ... and the kernel says the old state is back: mgmt0 in no bridge, its address and default route on it.
    for (const h of CUT) {
      expect((await link(h, 'mgmt0'))?.master, `${h}: mgmt0 master`).toBeUndefined();
      expect(await addresses(h, 'mgmt0'), `${h}: mgmt0 addresses`).toEqual([`${labHost(h).address}/24`]);
      expect(await defaultRoutes(h), `${h}: default route`).toEqual([[labState().subnet.gateway, 'mgmt0']]);
    }
  });

  it('confirm: true on a harmless change is confirmed and disarmed: reported changed, and the address is still there after the timeout', async ({
    onTestFinished,
  }) => {
    const H = CONFIRM;
    onTestFinished(() => resetFleet([H]));
    const playbook = writePlaybook(
      'confirm',
      `- name: guarded
  hosts: lab
  confirm: true
  confirm_timeout: 15
  tasks:
    - name: an address on eth1
      ensure_ip: { dev: eth1, address: 10.77.0.5/24 }
`,
    );
    const { r, tasks } = await runJson([playbook, '-i', inv, '--limit', H]);
    expect(r.code, show(r)).toBe(0);
    expect(outcomes(tasks)).toEqual([[H, 'an address on eth1', 'changed']]);
    expect(await addresses(H, 'eth1')).toEqual(['10.77.0.5/24']);
    // Nothing of the guard is left on the host: no confirm dir, no armed timer process. (The facts
    // exec keeps the libvirt daemon's version there on purpose: <daemon>.version.)
    const left = existsSync(hostPath(H, '/run/kvmnet')) ? readdirSync(hostPath(H, '/run/kvmnet')) : [];
    expect(left.filter((f) => !/^(libvirtd|virtnetworkd)\.version$/.test(f))).toEqual([]);
    expect(hostProcesses(H).filter((p) => p.cmdline.includes('/run/kvmnet/'))).toEqual([]);

    // Past the timeout: the timer was armed before the run ended, so it would have fired within 15 s
    // of that. (15 s, not the 8 one might pick: kvmnet gives the new SSH connection 60% of the
    // timeout minus 1.5 s, and on this shared, loaded machine, next to the two other tests, a
    // connection can take seconds. The wait overlaps the cut test's anyway.)
    await sleep(16_000);
    expect(await addresses(H, 'eth1'), 'the address after the rollback timeout').toEqual(['10.77.0.5/24']);
  });
});
