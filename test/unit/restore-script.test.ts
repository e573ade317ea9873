// The rollback of a guarded change, checked for real: the script is run by /bin/sh against a
// fake `ip`/`virsh` that record their arguments.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyChanges } from '../../src/model/plan.js';
import { planOf } from './support/plan-task.js';
import { restoredDifferences, restoreScript } from '../../src/run/restore-script.js';
import { armScript, commandDoneWrapper, disarmScript } from '../../src/run/confirm.js';
import { hostFixture } from './support/host-fixture.js';

function runWithFakeTools(script: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'kvmnet-restore-'));
  const log = join(dir, 'log');
  for (const tool of ['ip', 'virsh']) {
    writeFileSync(join(dir, tool), `#!/bin/sh\nprintf '%s\\n' "${tool} $*" >> ${log}\n`);
    chmodSync(join(dir, tool), 0o755);
  }
  execFileSync('/bin/sh', ['-c', script], { env: { PATH: `${dir}:/usr/bin:/bin` } });
  return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
}

describe('rollback script', () => {
  it('undoes a migration of the management interface: release, addresses back, routes back', () => {
    const before = hostFixture('bridged');
    const mgmt = before.addrs.find((a) => a.dev === 'mgmt0' && a.family === 4)!;
    const gw = before.routes.find((r) => r.dst === 'default')!.gateway!;
    const calls = runWithFakeTools(restoreScript(before, ['mgmt0', 'br0'], []));
    expect(calls).toContain('ip link set mgmt0 nomaster');
    expect(calls).toContain(`ip address replace ${mgmt.address}/${mgmt.prefix} dev mgmt0`);
    expect(calls).toContain('ip address replace 192.168.0.90/24 dev br0');
    expect(calls).toContain(`ip route replace default via ${gw} dev mgmt0`);
    expect(calls.indexOf('ip link set mgmt0 nomaster')).toBeLessThan(calls.indexOf(`ip route replace default via ${gw} dev mgmt0`));
  });
  it('deletes links the change created and restores networks', () => {
    const calls = runWithFakeTools(restoreScript(hostFixture('fresh'), ['brm'], ['default', 'net9']));
    expect(calls).toContain('ip link del brm');
    expect(calls).toContain('virsh -q net-define /dev/stdin');
    expect(calls).toContain('virsh -q net-destroy default');
    expect(calls).toContain('virsh -q net-autostart --disable default');
    expect(calls).toContain('virsh -q net-undefine net9');
  });
  it('restoredDifferences tells whether the old state is back', () => {
    const before = hostFixture('bridged');
    const after = structuredClone(before);
    expect(restoredDifferences(before, after, ['mgmt0', 'br0'])).toEqual([]);
    applyChanges(planOf('ensure_port', { bridge: 'br0', interface: 'mgmt0', migrate: true }, after, 'hv2').changes, after);
    expect(restoredDifferences(before, after, ['mgmt0', 'br0']).join('; ')).toMatch(/mgmt0 master is br0, was none; mgmt0 addresses are none, were 198\./);
  });
  it('arm, change and disarm scripts are valid sh and keep payloads out of the command line', () => {
    const changes = [{ summary: 'x', ops: [{ op: 'net.define' as const, name: "it's", xml: "<network><name>it's</name></network>" }] }];
    const arm = armScript('abc', '/run/kvmnet/confirm-x', 'echo rollback', { changes }, 60, "task 'x' (migrate: true)");
    expect(arm).not.toContain("it's");
    // The change script is the one serialiser's output (stdin from printf), written base64-encoded.
    expect(arm).toContain('printf %s "$change" | base64 -d > /run/kvmnet/confirm-x/change.sh');
    const encoded = /^change='?([A-Za-z0-9+/=]+)'?$/m.exec(arm)![1]!;
    const change = Buffer.from(encoded, 'base64').toString();
    expect(change).toContain("set -e\nprintf '%s' '<network><name>it'\\''s</name></network>' | virsh -q net-define /dev/stdin >/dev/null\n");
    for (const s of [arm, change, disarmScript('abc', '/run/kvmnet/confirm-x')]) execFileSync('/bin/sh', ['-n', '-c', s]);
  });
  it("a guarded command's timer counts from the command's end (at most its timeout), and a fired rollback leaves a record", () => {
    const arm = armScript('abc', '/run/kvmnet/confirm-x', 'echo rollback', { command: { runS: 120 } }, 60, "command task 'cut'");
    execFileSync('/bin/sh', ['-n', '-c', arm]);
    // The timer (src/run/rollback-timer.sh) gets the directory, the timeout, the command's longest run and the id.
    expect(arm).toContain('kvmnet-rollback /run/kvmnet/confirm-x 60 120 abc');
    expect(arm).toContain('while [ "$i" -lt "$3" ] && [ ! -e "$1/cmd-done" ]; do sleep 1;');
    // It claims the rollback (mkdir fire), then runs it, and writes the record before rolled-back.
    const claim = arm.indexOf('mkdir "$1/fire" 2>/dev/null || exit 0');
    const run = arm.indexOf('sh "$1/rollback.sh" > "$1/rollback.log"');
    const record = arm.indexOf('>> /run/kvmnet/rollbacks.log');
    const rolledBack = arm.indexOf('"$1/rolled-back"', record);
    expect(arm.indexOf('sleep "$2"')).toBeGreaterThan(-1);
    expect([claim > arm.indexOf('sleep "$2"'), run > claim, record > run, rolledBack > record]).toEqual([true, true, true, true]);
    expect(arm).toMatch(/command task .*cut.*; restored after 60 s without confirmation/);
    // No detached change for a command: it runs in the foreground.
    expect(arm).toMatch(/^change=''$/m);
    // The wrapped command marks its end whatever its exit code, and keeps that exit code.
    const wrapped = commandDoneWrapper('/tmp/kvmnet-wrap-test')('exit 3');
    const r = spawnSync('/bin/sh', ['-c', `mkdir -p /tmp/kvmnet-wrap-test; ${wrapped}`]);
    expect(r.status).toBe(3);
    expect(existsSync('/tmp/kvmnet-wrap-test/cmd-done')).toBe(true);
    rmSync('/tmp/kvmnet-wrap-test', { recursive: true, force: true });
  });
  it('persistence files are put back as they were, and new kvmnet files removed', () => {
    const before = { ...hostFixture('fresh'), persisted: { '/etc/systemd/network/10-kvmnet-br0.netdev': '[NetDev]\nName=br0\nKind=bridge\n' } };
    const script = restoreScript(before, [], []);
    expect(script).toContain("printf %s '[NetDev]\nName=br0\nKind=bridge\n' > /etc/systemd/network/10-kvmnet-br0.netdev");
    expect(script).toContain('rm -f "$f"');
    execFileSync('/bin/sh', ['-n', '-c', script]);
  });
});
