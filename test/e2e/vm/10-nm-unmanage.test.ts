// Handing devices from NetworkManager to kvmnet (ensure_nm_unmanaged), on a real NetworkManager
// host (`--init systemd --manager networkmanager`, NetworkManager 1.42 unpacked per VM; the lab's
// NetworkManager.conf keeps mgmt0 unmanaged): a runtime-only change of a NIC NetworkManager
// manages is refused with the reason and changes nothing; with the opt-in before it, the plan says
// the handover, the bond is made, `nmcli` shows the NICs unmanaged and a second run changes
// nothing. A restart of NetworkManager leaves eth1 and eth2 unmanaged and the bond as it was, the
// conf.d file kvmnet wrote being appended to the host's own list, not replacing it (mgmt0 stays
// unmanaged too). A real reboot loses `nmcli device set … managed no` (eth3, unmanaged that way by
// hand as a control, is NetworkManager's again) but eth1 and eth2 stay unmanaged (the file); the
// runtime-only bond is gone (persist: none) and a run makes it again with no new handover. All asserted with nmcli, `ip -j`, and
// NetworkManager --print-config on the host, never with kvmnet's output alone.
// 1 host + the lab switch; KVMNET_E2E_VM=0 skips it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabState } from '../../../src/lab/index.js';
import { kvmnet, show, type Result } from '../exec.js';
import { onVmHost, vmLabUp, waitFor, vmLabDown } from './support.js';

const enabled = process.env.KVMNET_E2E_VM !== '0';
const BOND = 'ensure_bond: { name: bond0, mode: active-backup, members: [eth1, eth2] }';
const HANDOVER = 'ensure_nm_unmanaged: { devices: [eth1, eth2] }';
const CONF = '/etc/NetworkManager/conf.d/zz-kvmnet-unmanaged.conf';

describe.skipIf(!enabled)('handing NICs from NetworkManager to kvmnet (ensure_nm_unmanaged) on a NetworkManager host', () => {
  let tmp = '';
  let dir = '';
  let state: LabState;
  let inventory = '';
  const timings: Record<string, number> = {};
  const sh = (s: string, check = true) => onVmHost(state, 'hv1', s, check);

  /** `nmcli -t -f DEVICE,STATE device` as DEVICE → STATE. */
  const nmStates = async () =>
    Object.fromEntries(
      (await sh('nmcli -t -f DEVICE,STATE device')).stdout
        .trim()
        .split('\n')
        .map((l) => l.split(':') as [string, string]),
    );
  const links = async () =>
    Object.fromEntries(
      (JSON.parse((await sh('ip -j -d link show')).stdout) as Array<{ ifname: string; master?: string; linkinfo?: { info_kind?: string } }>).map((l) => [
        l.ifname,
        l,
      ]),
    );

  const run = async (name: string, tasks: string[], extra: string[] = []): Promise<Result> => {
    const file = join(tmp, `${name}.yaml`);
    writeFileSync(file, `- name: ${name}\n  hosts: hv1\n  persist: none\n  tasks:\n${tasks.map((t) => `    - ${t}\n`).join('')}`);
    const t0 = Date.now();
    const r = await kvmnet(['run', file, '-i', inventory, ...extra], { timeoutMs: 300_000, env: { ...process.env, CI: '1' } });
    timings[name] = Date.now() - t0;
    return r;
  };
  const recap = (r: Result) => /hv1\s+: ok=(\d+)\s+changed=(\d+)\s+failed=(\d+)/.exec(r.stdout)?.slice(1).map(Number);

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'kvmnet-e2e-vm-nm-unmanage-'));
    dir = join(tmp, 'lab');
    const lab = await vmLabUp(dir, 'knu', 1, ['--init', 'systemd', '--manager', 'networkmanager']);
    ({ state, inventory } = lab);
    timings.up = lab.upMs;
    await sh('systemctl is-system-running --wait', false);
  }, 600_000);

  afterAll(() => vmLabDown(dir, tmp, `[e2e vm nm-unmanage] timings (ms): ${JSON.stringify(timings)}`), 180_000);

  it('a runtime-only change of NICs NetworkManager manages is refused with the reason, and nothing changes', async () => {
    // Right after boot NetworkManager lists the NICs as unavailable for a few seconds.
    await waitFor('NetworkManager to list eth1 and eth2 as disconnected', async () => {
      const s = await nmStates();
      return s.eth1 === 'disconnected' && s.eth2 === 'disconnected' && s.mgmt0 === 'unmanaged' ? s : undefined;
    });
    const r = await run('refused', [BOND]);
    expect(r.code, show(r)).toBe(2);
    expect(r.stdout + r.stderr).toContain('eth1 is managed by NetworkManager on hv1 (disconnected)');
    expect(r.stdout + r.stderr).toContain('ensure_nm_unmanaged: { devices: [eth1] }');
    expect((await links()).bond0).toBeUndefined();
    expect(await nmStates()).toMatchObject({ eth1: 'disconnected', eth2: 'disconnected' });
    expect((await sh(`test -e ${CONF}`, false)).code).not.toBe(0);
  }, 300_000);

  it('with the opt-in, the plan says the handover; the bond is made, nmcli shows the NICs unmanaged, a second run changes nothing', async () => {
    const check = await run('check', [HANDOVER, BOND], ['--check']);
    expect(check.code, show(check)).toBe(0);
    expect(check.stdout).toContain('NetworkManager stops managing eth1 (nmcli device set eth1 managed no)');
    expect(check.stdout).toContain(`NetworkManager leaves eth1, eth2 alone after a reboot too (${CONF})`);
    // --check changed nothing on the host.
    expect(await nmStates()).toMatchObject({ eth1: 'disconnected', eth2: 'disconnected' });

    const r = await run('handover', [HANDOVER, BOND]);
    expect(r.code, show(r)).toBe(0);
    expect(recap(r)?.[2], show(r)).toBe(0);
    expect(await nmStates()).toMatchObject({ eth1: 'unmanaged', eth2: 'unmanaged', mgmt0: 'unmanaged' });
    const l = await links();
    expect(l.bond0?.linkinfo?.info_kind).toBe('bond');
    expect([l.eth1?.master, l.eth2?.master]).toEqual(['bond0', 'bond0']);
    expect((await sh(`cat ${CONF}`)).stdout).toContain('unmanaged-devices+=interface-name:eth1;interface-name:eth2');

    const again = await run('again', [HANDOVER, BOND]);
    expect(again.code, show(again)).toBe(0);
    expect(recap(again)?.[1], show(again)).toBe(0);
  }, 600_000);

  it("NetworkManager restarted leaves them alone, mgmt0 included (the conf.d file appends to the host's list), and the bond stays", async () => {
    // The merged configuration: the host's own list and kvmnet's, appended.
    const config = (await sh('NetworkManager --print-config')).stdout;
    const line = config.split('\n').find((x) => x.startsWith('unmanaged-devices='));
    expect(line, config).toBeDefined();
    for (const dev of ['mgmt0', 'eth1', 'eth2']) expect(line).toContain(`interface-name:${dev}`);
    // The control for the reboot below: eth3 unmanaged at runtime only, as `nmcli device set` alone leaves it.
    await sh('nmcli device set eth3 managed no');
    expect((await nmStates()).eth3).toBe('unmanaged');
    const pid = (await sh('systemctl show -p MainPID --value NetworkManager')).stdout.trim();
    await sh('systemctl restart NetworkManager');
    const states = await waitFor('NetworkManager to list the NICs again after its restart', async () => {
      const s = await nmStates();
      return s.eth1 && s.eth2 && s.mgmt0 && s.eth3 ? s : undefined;
    });
    expect((await sh('systemctl show -p MainPID --value NetworkManager')).stdout.trim()).not.toBe(pid);
    // NetworkManager 1.42 keeps a runtime `managed no` across its own restart (measured): eth3 too.
    expect(states).toMatchObject({ eth1: 'unmanaged', eth2: 'unmanaged', mgmt0: 'unmanaged', eth3: 'unmanaged' });
    // Give NetworkManager time to do what it would do to a managed NIC, then look again.
    await new Promise((r) => setTimeout(r, 5000));
    const l = await links();
    expect([l.eth1?.master, l.eth2?.master]).toEqual(['bond0', 'bond0']);
    const again = await run('after-restart', [HANDOVER, BOND], ['--check', '--detailed-exitcode']);
    expect(again.code, show(again)).toBe(0);
  }, 300_000);

  it('after a real reboot NetworkManager still leaves eth1 and eth2 alone (the file); the runtime-only bond is gone, and a run makes it again without a new handover', async () => {
    const before = (await sh('cat /proc/sys/kernel/random/boot_id')).stdout.trim();
    const t0 = Date.now();
    await sh('systemctl reboot', false);
    await waitFor(
      'hv1 to come back from its reboot',
      async () => {
        const r = await sh('cat /proc/sys/kernel/random/boot_id; systemctl is-system-running --wait', false);
        const [id, status] = r.stdout.trim().split('\n');
        return id && id !== before && (status === 'running' || status === 'degraded') ? true : undefined;
      },
      300_000,
    );
    timings.reboot = Date.now() - t0;
    const states = await waitFor('NetworkManager to list the NICs after the boot', async () => {
      const s = await nmStates();
      return s.eth1 && s.eth2 && s.eth3 && s.eth3 !== 'unavailable' ? s : undefined;
    });
    expect(states).toMatchObject({ eth1: 'unmanaged', eth2: 'unmanaged', mgmt0: 'unmanaged', eth3: 'disconnected' });
    // persist: none: kvmnet's bond was runtime state only.
    expect((await links()).bond0).toBeUndefined();
    const r = await run('after-reboot', [HANDOVER, BOND]);
    expect(r.code, show(r)).toBe(0);
    expect(recap(r), show(r)).toEqual([1, 1, 0]);
    expect(r.stdout).not.toContain('NetworkManager stops managing');
    const l = await links();
    expect([l.eth1?.master, l.eth2?.master]).toEqual(['bond0', 'bond0']);
  }, 900_000);
});
