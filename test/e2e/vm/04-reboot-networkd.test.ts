// persist: auto on a systemd-networkd host, proven by a real reboot (reboot-support.ts has the
// layout and every assertion). 1 `--init systemd --manager networkd` host + the lab switch;
// KVMNET_E2E_VM=0 skips it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kvmnet, show } from '../exec.js';
import { assertLayout, assertNoChange, assertVlanTraffic, rebootHost, recap, runLayout, type RebootCtx } from './reboot-support.js';
import { onVmHost, vmLabUp } from './support.js';

const enabled = process.env.KVMNET_E2E_VM !== '0';
const MANAGER = 'networkd';
const PERSIST = process.env.KVMNET_E2E_PERSIST ?? 'auto';

let dir = '';
const ctx = { timings: {} } as RebootCtx;

describe.skipIf(!enabled)(`persist: ${PERSIST} on a ${MANAGER} host survives a real reboot`, () => {
  beforeAll(async () => {
    ctx.tmp = mkdtempSync(join(tmpdir(), `kvmnet-e2e-vm-reboot-${MANAGER}-`));
    dir = join(ctx.tmp, 'lab');
    const lab = await vmLabUp(dir, 'kvr', 1, ['--init', 'systemd', '--manager', MANAGER]);
    ({ state: ctx.state, inventory: ctx.inventory } = lab);
    ctx.timings.up = lab.upMs;
    // mgmt0 and br10 share the lab subnet: only br10 may answer ARP for its address (kept across the reboot).
    await onVmHost(ctx.state, 'hv1', 'echo net.ipv4.conf.all.arp_ignore=1 > /etc/sysctl.d/90-kvmnet-e2e.conf && sysctl -q -p /etc/sysctl.d/90-kvmnet-e2e.conf && systemctl is-system-running --wait', false);
  }, 420_000);

  afterAll(async () => {
    if (!dir) return;
    const down = await kvmnet(['lab', 'down', '--dir', dir], { timeoutMs: 120_000 });
    rmSync(ctx.tmp, { recursive: true, force: true });
    console.log(`[e2e vm reboot ${MANAGER}] timings (ms): ${JSON.stringify(ctx.timings)}`);
    expect(down.code, show(down)).toBe(0);
  }, 180_000);

  it('converges the production layout, and a second run changes nothing', async () => {
    const r = await runLayout(ctx, 'converge', PERSIST);
    expect(r.code, show(r)).toBe(0);
    expect(recap(r)?.[2]).toBe(0);
    await assertLayout(ctx);
    const again = await runLayout(ctx, 'again', PERSIST);
    expect(again.code, show(again)).toBe(0);
    expect(recap(again)?.[1], show(again)).toBe(0);
  }, 300_000);

  it('after a real reboot the manager brings back the same layout, VLAN traffic flows, and --check finds nothing to change', async () => {
    await rebootHost(ctx);
    await assertLayout(ctx);
    expect(await assertVlanTraffic(ctx)).toBeGreaterThanOrEqual(3);
    await assertNoChange(ctx, PERSIST);
  }, 900_000);
});
