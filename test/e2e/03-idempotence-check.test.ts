// A second run changes nothing; --check changes nothing and lists every change;
// --check --detailed-exitcode tells pending changes (8) from none (0).
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BRIDGED,
  convergeBoth,
  expectFresh,
  inventory,
  kvmnet,
  LAB_HOSTS,
  link,
  NAT,
  netInfo,
  resetHost,
  resetHosts,
  show,
  snapshot,
  summaryOf,
  taskEvents,
  type LabHost,
} from './helpers.js';

const CONVERGED: LabHost[] = ['hv1', 'hv2'];
const FRESH: LabHost = 'hv3';

describe('idempotence and check mode', () => {
  beforeAll(async () => {
    await resetHosts(LAB_HOSTS);
    await convergeBoth(CONVERGED);
  });

  it('a second run of bridged.yaml and nat-network.yaml changes nothing on any host, and the state stays the same', async () => {
    const before = await Promise.all(CONVERGED.map((h) => snapshot(h)));
    for (const pb of [BRIDGED, NAT]) {
      const r = await kvmnet(['run', pb, '-i', inventory(), '--limit', CONVERGED.join(','), '--output', 'json']);
      expect(r.code, show(r)).toBe(0);
      const summary = summaryOf(r);
      expect(summary.hosts.map((h) => h.host).sort()).toEqual(CONVERGED);
      for (const h of summary.hosts) expect([h.host, h.changed, h.failed, h.unreachable], show(r)).toEqual([h.host, 0, 0, 0]);
      for (const e of taskEvents(r)) expect(e.outcome, `${e.host} ${e.task}: ${e.message}`).toBe('ok');
    }
    const after = await Promise.all(CONVERGED.map((h) => snapshot(h)));
    expect(after).toEqual(before);
  });

  it('--check on a fresh host lists the 4 changes of bridged.yaml and changes nothing', async () => {
    await resetHost(FRESH);
    const r = await kvmnet(['run', BRIDGED, '-i', inventory(), '--limit', FRESH, '--check', '--output', 'json']);
    expect(r.code, show(r)).toBe(0);
    const summary = summaryOf(r);
    expect(summary.check).toBe(true);
    expect(summary.hosts).toMatchObject([{ host: FRESH, changed: 4, failed: 0, unreachable: 0 }]);
    const events = taskEvents(r, FRESH);
    expect(events.map((e) => e.outcome)).toEqual(['changed', 'changed', 'changed', 'changed']);
    const changes = events.flatMap((e) => e.changes).join('\n');
    expect(changes).toMatch(/create bridge br0/);
    expect(changes).toMatch(/add eth1 to br0/);
    expect(changes).toMatch(/add 192\.168\.0\.90\/24 to br0/);
    expect(changes).toMatch(/define network bridged-network/);
    expect(changes).toMatch(/start network bridged-network/);
    expect(changes).toMatch(/autostart of network bridged-network/);

    // Read back: nothing happened.
    expect(await link(FRESH, 'br0')).toBeUndefined();
    expect((await link(FRESH, 'eth1'))?.master).toBeUndefined();
    expect(await netInfo(FRESH, 'bridged-network')).toBeUndefined();
    await expectFresh(FRESH);
  });

  it('--check --detailed-exitcode exits 8 on a fresh host and 0 on a converged one', async () => {
    const fresh = await kvmnet(['run', BRIDGED, '-i', inventory(), '--limit', FRESH, '--check', '--detailed-exitcode']);
    expect(fresh.code, show(fresh)).toBe(8);
    await expectFresh(FRESH);

    const converged = await kvmnet(['run', BRIDGED, '-i', inventory(), '--limit', CONVERGED.join(','), '--check', '--detailed-exitcode']);
    expect(converged.code, show(converged)).toBe(0);
  });

  it('--check --detailed-exitcode on a mix of fresh and converged hosts exits 8', async () => {
    const r = await kvmnet(['run', BRIDGED, '-i', inventory(), '--check', '--detailed-exitcode', '--output', 'json']);
    expect(r.code, show(r)).toBe(8);
    const changed = Object.fromEntries(summaryOf(r).hosts.map((h) => [h.host, h.changed]));
    expect(changed).toEqual({ hv1: 0, hv2: 0, hv3: 4 });
    await expectFresh(FRESH);
  });
});
