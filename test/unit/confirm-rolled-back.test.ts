// A command that cut the host off, and a connection that comes back while (or after) the host's
// own rollback runs: the outcome is `rolled_back` with what the host recorded, never
// `unreachable … the rollback was disarmed`; the message names the command as written. The
// disarm script runs in sh here (a temp dir), the connections are scripted.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Connection, ExecResult } from '../../src/connection/types.js';
import { UnreachableError } from '../../src/errors.js';
import { disarmScript, parseRollbackRecord, runGuarded } from '../../src/run/confirm.js';
import { vmFactsOutput, vmFixture } from './support/vm-fixture.js';

const ok = (stdout = ''): ExecResult => ({ stdout, stderr: '', exitCode: 0 });
let dir = '';
afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));

describe('disarming never cuts a begun rollback short', () => {
  it('a rollback the timer has claimed is waited for and reported as fired', () => {
    dir = mkdtempSync(join(tmpdir(), 'kvmnet-disarm-'));
    mkdirSync(join(dir, 'fire')); // the timer's claim: its rollback runs
    const t0 = Date.now();
    const r = spawnSync('/bin/sh', ['-c', `(sleep 1; echo done > ${dir}/rolled-back) & ${disarmScript('abc', dir, false)}`], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')).toContain('rolled-back');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
  });
  it('a timer that has not fired is claimed: it can no longer start the rollback', () => {
    dir = mkdtempSync(join(tmpdir(), 'kvmnet-disarm-'));
    writeFileSync(join(dir, 'timer'), 'pid 999999999\n');
    const r = spawnSync('/bin/sh', ['-c', disarmScript('abc', dir, false)], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain('rolled-back');
    expect(existsSync(join(dir, 'fire'))).toBe(true);
    // The timer's own claim now fails, so it exits without rolling back.
    expect(spawnSync('/bin/sh', ['-c', `mkdir ${dir}/fire 2>/dev/null || exit 7`]).status).toBe(7);
  });
  it("reads the host's record", () => {
    expect(
      parseRollbackRecord("rolled-back\nrecord 2026-12-07T20:01:02Z\tabc\tcommand task 'down' by kvmnet; restored after 6 s without confirmation\n"),
    ).toEqual({
      when: '2026-12-07T20:01:02Z',
      what: "command task 'down' by kvmnet; restored after 6 s without confirmation",
    });
  });
});

describe('a command whose connection is lost', () => {
  it('comes back rolled back: rolled_back with when and what, the command as written', async () => {
    const before = vmFixture('bond-vlan');
    const scripts: string[] = [];
    const first: Connection = {
      description: 'first',
      stats: { connections: 1, execs: 0 },
      connectMs: 50,
      async exec(script) {
        if (script.includes('echo armed')) return ok('armed\n');
        throw new UnreachableError('hv1: connection lost (Keepalive timeout) while running (');
      },
      async close() {},
    };
    const back: Connection = {
      description: 'back',
      stats: { connections: 1, execs: 0 },
      connectMs: 50,
      async exec(script) {
        scripts.push(script);
        if (script.includes('@@kvmnet:hostname@@')) return ok(vmFactsOutput('bond-vlan'));
        if (script.includes('mkdir') && script.includes('/fire'))
          return ok("rolled-back\nrecord 2026-12-07T20:01:02Z\tid\tcommand task 'down' by kvmnet; restored after 6 s without confirmation\n");
        return ok('0\n');
      },
      async close() {},
    };
    const { guard } = await runGuarded(
      {
        host: 'hv1',
        conn: first,
        reconnect: async () => back,
        before,
        devices: Object.keys(before.links),
        networks: [],
        timeoutS: 6,
        what: 'test',
        runS: 30,
        command: 'ip link set bond0 down',
      },
      (conn, wrap) => conn.exec(wrap('ip link set bond0 down')),
    );
    expect(guard.outcome, guard.message).toBe('rolled_back');
    expect(guard.message).toContain("host's rollback log: 2026-12-07T20:01:02Z, command task 'down' by kvmnet; restored after 6 s without confirmation");
    expect(guard.message).not.toContain('running (');
  });
  it('the message of a lost command names it as written', async () => {
    const before = vmFixture('bond-vlan');
    const first: Connection = {
      description: 'first',
      stats: { connections: 1, execs: 0 },
      connectMs: 50,
      async exec(script) {
        if (script.includes('echo armed')) return ok('armed\n');
        throw new UnreachableError('hv1: connection lost (Keepalive timeout) while running (');
      },
      async close() {},
    };
    // sshd refuses new connections: nothing to wait for, the message says so.
    const { guard } = await runGuarded(
      {
        host: 'hv1',
        conn: first,
        reconnect: async () => {
          throw new Error('connect ECONNREFUSED');
        },
        before,
        devices: [],
        networks: [],
        timeoutS: 6,
        what: 'test',
        runS: 30,
        command: 'ip link set bond0 down',
      },
      (conn, wrap) => conn.exec(wrap('ip link set bond0 down')),
    );
    expect(guard.outcome).toBe('unreachable');
    expect(guard.message).toMatch(
      /^connection lost \(Keepalive timeout\) while running `ip link set bond0 down`; whether the command ran to completion is unknown/,
    );
  });
});
