// Every shell program kvmnet sends is linted by shellcheck (Debian's package): the .sh files under
// src/ (found, so a new one is covered), and the scripts as their real generators render them — a
// typical guarded change's rollback, arm and change scripts, and the facts exec with every task
// type's fragment and the run lock. Findings at severity warning or above fail; a justified
// `# shellcheck disable=SCxxxx` beside the code is how a POSIX-sh idiom is accepted.
import { ALL_FRAGMENTS } from '../../src/facts/needs.js';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockPreamble } from '../../src/facts/lock-script.js';
import { parseFacts } from '../../src/facts/parse.js';
import { batchScript } from '../../src/run/change-batch.js';
import { applyChanges, changeLines, changeOps } from '../../src/model/plan.js';
import { armScript } from '../../src/run/confirm.js';
import { HOST_FACTS_SCRIPT } from '../../src/run/host-facts.js';
import { restoreScript } from '../../src/run/restore-script.js';
import { hostFixture } from './support/host-fixture.js';
import { planOf } from './support/plan-task.js';
import { vmFixture } from './support/vm-fixture.js';

const SRC = join(import.meta.dirname, '../../src');

function shellFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return shellFiles(p);
    return e.name.endsWith('.sh') ? [p] : [];
  });
}

/** shellcheck's findings (warning and above) as `line:col: level: message [SCxxxx]`; kvmnet's programs are POSIX sh. */
function shellcheck(args: string[], input?: string): string {
  const r = spawnSync('shellcheck', ['--shell=sh', '--severity=warning', '--format=gcc', ...args], { input, encoding: 'utf8' });
  if (r.error) throw new Error(`shellcheck could not run (${r.error.message}): apt-get install shellcheck`);
  if (r.status !== 0 && r.status !== 1) throw new Error(`shellcheck failed (exit ${r.status}): ${r.stderr}`);
  return r.stdout.trim();
}

const files = shellFiles(SRC);

describe('shellcheck', () => {
  it('finds the shell programs under src/', () => {
    expect(files.map((f) => relative(SRC, f))).toEqual(
      expect.arrayContaining(['tasks/port-forward-hook.sh', 'run/rollback-arm.sh', 'run/rollback-timer.sh', 'ops/guest-reattach.sh', 'facts/lock-take.sh']),
    );
  });

  it.each(files.map((f) => [relative(SRC, f), f]))('%s has no finding', (_name, file) => {
    expect(shellcheck([file])).toBe('');
  });

  it('a guarded change as rendered: its rollback, the arm script and the change it runs', () => {
    const before = hostFixture('bridged');
    const plan = planOf('ensure_port', { bridge: 'br0', interface: 'mgmt0', migrate: true }, structuredClone(before), 'hv2');
    expect(plan.changes.length).toBeGreaterThan(0);
    const rollback = restoreScript(before, ['mgmt0', 'br0'], ['default'], { ops: changeOps(plan.changes) });
    expect(shellcheck(['-'], rollback)).toBe('');
    expect(
      shellcheck(
        ['-'],
        armScript('k1', '/run/kvmnet/confirm-k1', rollback, { changes: plan.changes }, 60, "task 'mgmt' (migrate: true)", 'kvmnet pid 1 on ctl'),
      ),
    ).toBe('');
    expect(shellcheck(['-'], ['set -e', ...changeLines(plan.changes)].join('\n') + '\n')).toBe('');
  });

  it('a bond whose mode a guarded change changes: its rollback re-creates it in place and puts its members back', () => {
    const before = vmFixture('active-backup');
    const plan = planOf('ensure_bond', { name: 'bond0', mode: 'balance-rr', members: ['eth1', 'eth2'] }, structuredClone(before));
    const rollback = restoreScript(before, ['bond0', 'eth1', 'eth2'], [], { ops: changeOps(plan.changes) });
    expect(rollback).toContain('/bonding/mode');
    expect(shellcheck(['-'], rollback)).toBe('');
  });

  it('a port forward as rendered: the batch that installs the hooks and applies the rules, and its rollback', () => {
    const fragments = ALL_FRAGMENTS;
    const before = parseFacts(readFileSync(join(import.meta.dirname, '../fixtures/facts/nat-no-forwards.stdout'), 'utf8'), '', fragments).facts;
    const f = structuredClone(before);
    const dhcp = planOf('ensure_dhcp_host', { network: 'net10', mac: '52:54:00:30:00:11', ip: '192.168.30.11', name: 'web1' }, f);
    applyChanges(dhcp.changes, f);
    const forward = planOf('ensure_port_forward', { network: 'net10', guest_mac: '52:54:00:30:00:11', proto: 'tcp', host_port: 2222, guest_port: 22 }, f);
    const script = batchScript([dhcp.changes, forward.changes], 'n0nce');
    expect(script).toContain('sh -s -- - apply');
    expect(shellcheck(['-'], script)).toBe('');
    expect(shellcheck(['-'], restoreScript(before, [], ['net10'], { ops: changeOps([...dhcp.changes, ...forward.changes]) }))).toBe('');
  });

  it("a guarded command's rollback as rendered: unknown links and persistence files removed", () => {
    const before = { ...hostFixture('fresh'), persisted: { '/etc/systemd/network/10-kvmnet-br0.netdev': '[NetDev]\nName=br0\nKind=bridge\n' } };
    const rollback = restoreScript(before, ['brm'], ['default'], { anyLink: true });
    expect(rollback).toContain('ip link del "$n"');
    expect(shellcheck(['-'], rollback)).toBe('');
    expect(shellcheck(['-'], armScript('k2', '/run/kvmnet/confirm-k2', rollback, { command: { runS: 30 } }, 60, "command task 'x'"))).toBe('');
  });

  it('the facts exec with every task type’s fragment, behind the run lock', () => {
    expect(HOST_FACTS_SCRIPT).toContain('@@kvmnet:libvirt-version@@');
    expect(shellcheck(['-'], HOST_FACTS_SCRIPT)).toBe('');
    expect(shellcheck(['-'], lockPreamble({ owner: "kvmnet pid 1 on ctl (root) since it's now", waitSeconds: 10 }) + HOST_FACTS_SCRIPT)).toBe('');
  });
});
