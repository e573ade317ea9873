// No host lost: ways to cut a lab host off its SSH session, each through a different task type,
// keyword or circumstance. Every one must end with the host reachable at its address — by a
// refusal (nothing changed) or by a reported `rolled_back` — checked from outside with a NEW SSH
// connection (`kvmnet facts`) and with `ip -j` inside the host. The counts and the recovery times
// are printed and written to e2e-safety-matrix.json in the run's scratch dir.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished, type TestContext } from 'vitest';
import { addresses, jsonEvents, kvmnet, labDir, labHost, labState, link, scratchDir, show, writePlaybook, type LabHost } from '../helpers.js';
import { inventoryCopy, knownHostsEntry, spawnKvmnet, startDelayProxy, waitFor } from '../faults/support.js';
import { fleetInventory, growLab, hostPath, hv, outcomes, resetFleet, runJson } from '../rollout/support.js';

interface Cut {
  name: string;
  host: LabHost;
  ended: 'refused' | 'rolled_back';
  recoveredMs?: number;
  reachable?: boolean;
}
const cuts: Cut[] = [];
const ROLLBACK_LOG = '/run/kvmnet/rollbacks.log';

/**
 * Reachable from outside: a NEW connection reports the session at the host's address on `via`
 * (mgmt0, or brm when the cut came after a migration: the rollback restores the state before the
 * cutting task), and the kernel agrees.
 */
async function expectIntact(inv: string, host: LabHost, via: 'mgmt0' | 'brm' = 'mgmt0'): Promise<void> {
  const r = await kvmnet(['facts', '-i', inv, '--limit', host, '--output', 'json'], { timeoutMs: 60_000 });
  expect(r.code, show(r)).toBe(0);
  const [facts] = jsonEvents(r.stdout);
  expect(facts!.ssh, `${host}: session over a new connection`).toEqual({ address: labHost(host).address, interface: via });
  const mgmt0 = await link(host, 'mgmt0');
  expect(mgmt0?.flags, `${host}: mgmt0 up`).toContain('UP');
  expect(mgmt0?.master, `${host}: mgmt0's bridge`).toBe(via === 'brm' ? 'brm' : undefined);
  if (via === 'brm') expect((await link(host, 'brm'))?.flags, `${host}: brm up`).toContain('UP');
  expect(await addresses(host, via), `${host}: ${via} address`).toEqual([`${labHost(host).address}/24`]);
}

function record(cut: Cut): void {
  cuts.push(cut);
}

const MIGRATE = `    - name: bridge brm
      ensure_bridge: { name: brm }
    - name: mgmt0 into brm
      ensure_port: { bridge: brm, interface: mgmt0, migrate: true }
`;

describe('no host lost: refused cuts (nothing changes on the SSH path)', () => {
  const H = hv(1);
  let inv: string;
  beforeAll(async () => {
    await growLab();
    await resetFleet([H]);
    inv = fleetInventory('no-host-lost');
  });
  afterAll(() => resetFleet([H]));

  it.each([
    [
      'ensure_port: the SSH NIC into a bridge without migrate',
      `    - ensure_bridge: { name: brm }\n    - name: cut\n      ensure_port: { bridge: brm, interface: mgmt0 }\n`,
      /mgmt0 carries this SSH session/,
    ],
    [
      'ensure_ip: removing the session address',
      `    - name: cut\n      ensure_ip: { dev: mgmt0, address: "{{ mgmt_cidr }}", state: absent }\n`,
      /is the address this SSH session uses/,
    ],
    [
      'ensure_ip: exclusive another address on the SSH NIC',
      `    - name: cut\n      ensure_ip: { dev: mgmt0, address: 198.19.255.1/24, exclusive: true }\n`,
      /is the address this SSH session uses/,
    ],
    [
      'ensure_bridge: deleting the bridge that carries SSH (after a migration)',
      `${MIGRATE}    - name: cut\n      ensure_bridge: { name: brm, state: absent }\n`,
      /carries this SSH session/,
    ],
    [
      'ensure_bridge: taking the SSH bridge down (after a migration)',
      `${MIGRATE}    - name: cut\n      ensure_bridge: { name: brm, up: false }\n`,
      /^refused: this change takes down brm, and the SSH session runs over brm, mgmt0/,
    ],
    [
      'ensure_port: a later task undoing the migration',
      `${MIGRATE}    - name: cut\n      ensure_port: { bridge: brm, interface: mgmt0, state: absent }\n`,
      /^refused: this change re-parents mgmt0, and the SSH session runs over brm, mgmt0/,
    ],
    [
      'ensure_libvirt_net: a NAT network on the management subnet (libvirt refuses to start it)',
      `    - name: cut\n      ensure_libvirt_net: { name: kvmcut, forward: nat, bridge: { name: virbrcut }, ip: { address: "{{ mgmt_net_ip }}", prefix: 24 } }\n`,
      /Network is already in use by interface mgmt0/,
    ],
    [
      'ensure_bridge: STP on the SSH bridge (bridge settings on the path need confirm: STP can stop forwarding for 2 × forward delay)',
      `${MIGRATE}    - name: cut\n      ensure_bridge: { name: brm, stp: true }\n`,
      /^refused: this change reconfigures brm/,
    ],
  ])('%s', async (name, tasks, why) => {
    // Sequential tests: the global onTestFinished belongs to this one.
    onTestFinished(() => resetFleet([H]));
    const playbook = writePlaybook(
      'refused',
      `- hosts: lab\n  vars: { mgmt_cidr: "${labHost(H).address}/24", mgmt_net_ip: "${labState().subnet.base}.250" }\n  tasks:\n${tasks}`,
    );
    const { r, tasks: events } = await runJson([playbook, '-i', inv, '--limit', H]);
    expect(r.code, show(r)).toBe(2);
    const cut = events.find((e) => e.task === 'cut');
    expect(cut?.outcome, show(r)).toBe('failed');
    expect(cut!.message).toMatch(why);
    // Migrations before the refused task are undone by hand (resetFleet) only after this check.
    if (!tasks.includes('migrate: true')) await expectIntact(inv, H);
    else {
      const r2 = await kvmnet(['facts', '-i', inv, '--limit', H, '--output', 'json'], { timeoutMs: 60_000 });
      expect((jsonEvents(r2.stdout)[0]!.ssh as { address: string }).address).toBe(labHost(H).address);
    }
    record({ name, host: H, ended: 'refused', reachable: true });
  });
});

describe.concurrent('no host lost: cuts that are applied, and rolled back by the host itself', () => {
  let inv: string;
  beforeAll(async () => {
    await growLab();
    await resetFleet([hv(2), hv(3), hv(4), hv(5), hv(6)]);
    inv = fleetInventory('no-host-lost-guarded');
  });

  // Concurrent tests: each registers its clean-up on its OWN context (the global onTestFinished
  // could attach it to whichever test is current, and reset a host in the middle of another test).
  async function rolledBack(ctx: TestContext, name: string, host: LabHost, yaml: string, via: 'mgmt0' | 'brm' = 'mgmt0', timeoutS = 10): Promise<void> {
    ctx.onTestFinished(() => resetFleet([host]));
    const playbook = writePlaybook('cut', `- hosts: lab\n  confirm_timeout: ${timeoutS}\n${yaml}`);
    const started = Date.now();
    const { r, tasks } = await runJson([playbook, '-i', inv, '--limit', host], { timeoutMs: 170_000 });
    const recoveredMs = Date.now() - started;
    expect(r.code, show(r)).toBe(2);
    const cut = tasks.find((e) => e.task === 'cut');
    expect(cut?.outcome, show(r)).toBe('rolled_back');
    expect(cut!.message).toMatch(new RegExp(`^the change cut ${host} off`));
    await expectIntact(inv, host, via);
    record({ name, host, ended: 'rolled_back', recoveredMs, reachable: true });
  }

  it('command: the SSH link taken down (commands are always guarded)', (ctx) =>
    rolledBack(ctx, 'command: ip link set mgmt0 down', hv(2), `  tasks:\n    - name: cut\n      command: { cmd: "ip link set mgmt0 down" }\n`));

  it('command under play confirm: true: the session address flushed', (ctx) =>
    rolledBack(
      ctx,
      'command + confirm: ip address flush dev mgmt0',
      hv(3),
      `  confirm: true\n  tasks:\n    - name: cut\n      command: { cmd: "ip address flush dev mgmt0 scope global" }\n`,
    ));

  it('task confirm: true: the bridge that carries SSH after a migration taken down', (ctx) =>
    rolledBack(
      ctx,
      'ensure_bridge up: false on the SSH bridge, task confirm: true',
      hv(4),
      `  tasks:\n${MIGRATE}    - name: cut\n      ensure_bridge: { name: brm, up: false }\n      confirm: true\n`,
      'brm',
    ));

  it('the controller killed (-9) in the middle of a guarded change: the host restores itself, the next run says so', async ({ onTestFinished }) => {
    const H = hv(5);
    onTestFinished(async () => {
      writeFileSync(hostPath(H, `${ROLLBACK_LOG}.reported`), '');
      await resetFleet([H]);
    });
    const playbook = writePlaybook(
      'kill9',
      `- hosts: lab\n  confirm_timeout: 10\n  tasks:\n    - name: cut\n      command: { cmd: "ip link set mgmt0 down; sleep 30" }\n`,
    );
    const started = Date.now();
    // The command's timeout bounds how long the host's timer waits for it to end (it never does here).
    const run = spawnKvmnet(['run', playbook, '-i', inv, '--limit', H, '--output', 'json', '--command-timeout', '15'], { timeoutMs: 120_000 });
    // Armed and cut (mgmt0 is down): kill the controller.
    await waitFor(
      'the guarded command to cut mgmt0',
      async () => {
        const l = await link(H, 'mgmt0');
        return (l && !l.flags.includes('UP')) || undefined;
      },
      60_000,
      100,
    );
    run.child.kill('SIGKILL');
    await run.done;
    // Nobody is left to confirm or roll back but the host's own timer.
    await waitFor('mgmt0 back up by the host', async () => (await link(H, 'mgmt0'))?.flags.includes('UP') || undefined, 90_000, 250);
    const recoveredMs = Date.now() - started;
    await expectIntact(inv, H);
    // The next run reports the rollback that fired, when and why.
    const next = await runJson([
      writePlaybook('noop', '- hosts: lab\n  tasks:\n    - ensure_bridge: { name: brnone, state: absent }\n'),
      '-i',
      inv,
      '--limit',
      H,
    ]);
    expect(next.r.code, show(next.r)).toBe(0);
    expect(next.r.stderr + next.r.stdout).toMatch(
      new RegExp(
        `${H}: a rollback timer fired at \\d{4}-\\d\\d-\\d\\dT[\\d:]+Z \\(\\w+\\): command task 'cut' by kvmnet pid \\d+ .*restored after \\d+ s without confirmation`,
      ),
    );
    // ... once: the record is acknowledged.
    const again = await runJson([
      writePlaybook('noop', '- hosts: lab\n  tasks:\n    - ensure_bridge: { name: brnone, state: absent }\n'),
      '-i',
      inv,
      '--limit',
      H,
    ]);
    expect(again.r.stderr + again.r.stdout).not.toMatch(/a rollback timer fired/);
    record({ name: 'controller kill -9 during a guarded command', host: H, ended: 'rolled_back', recoveredMs, reachable: true });
  });

  it('200 ms latency each way on the SSH path: a forced cut is still rolled back, a migration still confirmed', async ({ onTestFinished }) => {
    const H = hv(6);
    onTestFinished(() => resetFleet([H]));
    const proxy = await startDelayProxy({ host: labHost(H).address, port: 22 }, 200);
    onTestFinished(() => proxy.close());
    const dir = scratchDir('latency-safety');
    const knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, `${readFileSync(join(labDir(), 'known_hosts'), 'utf8')}[127.0.0.1]:${proxy.port} ${knownHostsEntry(H).key}\n`);
    const slowInv = inventoryCopy(dir, (doc) => {
      doc.all.vars.known_hosts = knownHosts;
      doc.all.children.lab.hosts = { [H]: { host: '127.0.0.1', port: proxy.port } };
    });
    const started = Date.now();
    // 200 ms each way makes the SSH handshake take seconds: too short a confirm_timeout is refused first.
    const tooShort = await runJson(
      [
        writePlaybook(
          'slow-short',
          `- hosts: lab\n  confirm_timeout: 8\n  tasks:\n    - ensure_bridge: { name: brm, up: false }\n    - name: cut\n      ensure_port: { bridge: brm, interface: mgmt0, force: true }\n`,
        ),
        '-i',
        slowInv,
        '--limit',
        H,
      ],
      { timeoutMs: 170_000 },
    );
    expect(tooShort.tasks.find((t) => t.task === 'cut')?.message, show(tooShort.r)).toMatch(
      /^confirm_timeout 8 s leaves 3\.3 s for the confirming SSH connection, and it needs at least \d+\.\d s here \(connecting took \d+\.\d\d s\): set confirm_timeout to \d+ or more; nothing was changed/,
    );
    expect((await link(H, 'mgmt0'))?.master).toBeUndefined();
    const cutBook = writePlaybook(
      'slow-cut',
      `- hosts: lab\n  confirm_timeout: 40\n  tasks:\n    - ensure_bridge: { name: brm, up: false }\n    - name: cut\n      ensure_port: { bridge: brm, interface: mgmt0, force: true }\n`,
    );
    const cut = await runJson([cutBook, '-i', slowInv, '--limit', H], { timeoutMs: 170_000 });
    expect(cut.r.code, show(cut.r)).toBe(2);
    expect(outcomes(cut.tasks).at(-1), show(cut.r)).toEqual([H, 'cut', 'rolled_back']);
    const recoveredMs = Date.now() - started;
    await expectIntact(inv, H);
    record({ name: 'forced cut with 200 ms latency', host: H, ended: 'rolled_back', recoveredMs, reachable: true });

    const migrate = await runJson([writePlaybook('slow-migrate', `- hosts: lab\n  tasks:\n${MIGRATE}`), '-i', slowInv, '--limit', H], { timeoutMs: 170_000 });
    expect(migrate.r.code, show(migrate.r)).toBe(0);
    expect(outcomes(migrate.tasks)).toEqual([
      [H, 'bridge brm', 'changed'],
      [H, 'mgmt0 into brm', 'changed'],
    ]);
    expect((await link(H, 'mgmt0'))?.master).toBe('brm');
  });
});

afterAll(() => {
  const rolled = cuts.filter((c) => c.ended === 'rolled_back');
  const summary = {
    cutsTried: cuts.length,
    hostsLost: cuts.filter((c) => !c.reachable).length,
    refused: cuts.filter((c) => c.ended === 'refused').length,
    rolledBack: rolled.length,
    recoverySeconds: Object.fromEntries(rolled.map((c) => [c.name, Math.round((c.recoveredMs ?? 0) / 100) / 10])),
  };
  console.log(`[e2e] no host lost: ${JSON.stringify(summary)}`);
  writeFileSync(join(inject('e2eTmp'), '..', 'e2e-safety-matrix.json'), JSON.stringify({ ...summary, cuts, lab: labState().prefix }, null, 2));
});
