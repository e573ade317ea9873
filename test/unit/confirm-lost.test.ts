// A confirming connection that is made, then dies before it has disarmed the timer (the path
// broke just after it came up, as when a switch drops an LACP partner seconds after a bond
// change) is no confirmation: kvmnet waits for the host's own rollback and verifies it, instead
// of giving the host up as unreachable. Scripted connections: nothing runs on this machine.
import { describe, expect, it } from 'vitest';
import type { Connection, ExecResult } from '../../src/connection/types.js';
import { UnreachableError } from '../../src/errors.js';
import { applyConfirmed } from '../../src/run/confirm.js';
import { planOf } from './support/plan-task.js';
import { vmFactsOutput, vmFixture } from './support/vm-fixture.js';

const ok = (stdout = ''): ExecResult => ({ stdout, stderr: '', exitCode: 0 });

function scripted(name: string, answer: (script: string) => ExecResult | 'die', log: string[]): Connection {
  return {
    description: name,
    stats: { connections: 1, execs: 0 },
    connectMs: 50,
    async exec(script) {
      log.push(`${name}: ${script.split('\n')[0]!.slice(0, 60)}`);
      const a = answer(script);
      if (a === 'die') throw new UnreachableError(`${name}: connection lost (Keepalive timeout)`);
      return a;
    },
    async close() {},
  };
}

describe('commit-confirmed: a confirming connection that dies', () => {
  it('is not a confirmation: the host restores itself and kvmnet reports rolled_back after verifying it', async () => {
    const before = vmFixture('active-backup');
    const changes = planOf('ensure_bond', { name: 'bond0', mode: 'balance-rr', members: ['eth1', 'eth2'] }, before).changes;
    const log: string[] = [];
    const first = scripted('first', (s) => (s.includes('echo armed') ? ok('armed\n') : ok()), log);
    // The confirming connection comes up, then dies on its first command; the next one finds the host rolled back.
    const dying = scripted('dying', () => 'die', log);
    const back = scripted('back', (s) => (s.includes('@@kvmnet:hostname@@') ? ok(vmFactsOutput('active-backup')) : ok()), log);
    const connections = [dying, back];
    const t0 = Date.now();
    const r = await applyConfirmed({
      host: 'hv1',
      conn: first,
      reconnect: async () => connections.shift() ?? back,
      before,
      devices: ['bond0', 'eth1', 'eth2'],
      networks: [],
      timeoutS: 6,
      what: 'test',
      changes,
      settleMs: 100,
    });
    expect(r.outcome, r.message).toBe('rolled_back');
    expect(r.message).toMatch(/the rollback timer restored it after 6 s/);
    // It waited for the timer (6 s) rather than giving up when the connection died.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(6000);
    expect(log.filter((l) => l.startsWith('dying'))).toHaveLength(1);
    expect(log.some((l) => l.startsWith('back'))).toBe(true);
  }, 30_000);
});
