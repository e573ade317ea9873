// The change batch runs real scripts through the local transport (`sh -c` on this machine) in a
// temporary directory: what ran is read back from the files the commands wrote.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectLocal } from '../../src/connection/local.js';
import { shellQuote } from '../../src/connection/quote.js';
import type { Connection } from '../../src/connection/types.js';
import { UnreachableError } from '../../src/errors.js';
import type { Change } from '../../src/model/plan.js';
import { batchScript, ChangeBatch, MarkerReader, MAX_BATCH_BYTES, splitStderr, type BatchedTask } from '../../src/run/change-batch.js';
import { localSettings } from './support/local-settings.js';

const settings = localSettings;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kvmnet-batch-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const change = (commands: string[], stdin?: string): Change => ({ summary: commands.join('; '), commands, ...(stdin !== undefined && { stdin }), touches: [], effect: () => {} });

/** A task that records what happened to it in `log`. */
function task(name: string, changes: Change[], log: string[]): BatchedTask {
  return {
    changes,
    applied: () => log.push(`${name} applied`),
    failed: (message) => log.push(`${name} failed: ${message}`),
    lost: async (error) => {
      log.push(`${name} lost: ${error.message}`);
    },
  };
}

describe('ChangeBatch over a real shell', () => {
  it('applies every queued task in ONE exec, and reports each task and the events between them in order', async () => {
    const conn = connectLocal(settings);
    const log: string[] = [];
    const batch = new ChangeBatch();
    batch.defer(() => log.push('event before anything is queued'));
    batch.add(task('a', [change([`echo a > ${dir}/a`])], log));
    batch.defer(() => log.push('event after a'));
    batch.add(task('b', [change([`echo b1 > ${dir}/b`]), change([`echo b2 >> ${dir}/b`])], log));
    batch.defer(() => log.push('event after b'));
    expect(log).toEqual(['event before anything is queued']);

    expect(await batch.flush(conn)).toBe(true);
    expect(log).toEqual(['event before anything is queued', 'a applied', 'event after a', 'b applied', 'event after b']);
    expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('a\n');
    expect(readFileSync(join(dir, 'b'), 'utf8')).toBe('b1\nb2\n');
    expect(conn.stats.execs).toBe(1);
    expect(batch.size).toBe(0);
    await conn.close();
  });

  it('stops at the failing task: the ones before are applied, its own stderr is its message, the ones after never run', async () => {
    const conn = connectLocal(settings);
    const log: string[] = [];
    const batch = new ChangeBatch();
    batch.add(task('a', [change([`echo noise-of-a >&2`, `touch ${dir}/a`])], log));
    batch.defer(() => log.push('event after a'));
    // set -e: the failing command ends the task before its second line.
    batch.add(task('b', [change([`echo b-is-broken >&2; false`, `touch ${dir}/b-second-line`])], log));
    batch.defer(() => log.push('event after b'));
    batch.add(task('c', [change([`touch ${dir}/c`])], log));

    expect(await batch.flush(conn)).toBe(false);
    expect(log).toEqual(['a applied', 'event after a', 'b failed: b-is-broken']);
    expect(existsSync(join(dir, 'a'))).toBe(true);
    expect(existsSync(join(dir, 'b-second-line'))).toBe(false);
    expect(existsSync(join(dir, 'c'))).toBe(false);
    await conn.close();
  });

  it('gives a change its stdin byte for byte (quotes, newlines, $, backslashes)', async () => {
    const conn = connectLocal(settings);
    const log: string[] = [];
    const xml = `<network name='it''s'>\n  <description>$(reboot) \`x\` \\n "q"</description>\n</network>\n`;
    const batch = new ChangeBatch();
    batch.add(task('net', [change([`cat > ${shellQuote(join(dir, 'net.xml'))}`], xml)], log));
    batch.add(task('after', [change([`touch ${dir}/after`])], log));
    expect(await batch.flush(conn)).toBe(true);
    expect(readFileSync(join(dir, 'net.xml'), 'utf8')).toBe(xml);
    expect(log).toEqual(['net applied', 'after applied']);
    await conn.close();
  });

  it('times out after the command timeout times the number of tasks, and says what timed out', async () => {
    const conn = connectLocal({ ...settings, commandTimeoutMs: 300 });
    const log: string[] = [];
    const batch = new ChangeBatch();
    // Two tasks: 600 ms in all. The first takes 400 ms, more than one task's timeout but within two.
    batch.add(task('a', [change(['sleep 0.4'])], log));
    batch.add(task('b', [change(['sleep 5'])], log));
    expect(await batch.flush(conn)).toBe(false);
    expect(log[0]).toBe('a applied');
    expect(log[1]).toMatch(/^b failed: timed out: .*timed out after 600 ms: # kvmnet: the changes of 2 task\(s\)$/);
    expect(log).toHaveLength(2);
    await conn.close();
  });

  it('reads a marker that follows output without a final newline', async () => {
    const conn = connectLocal(settings);
    const log: string[] = [];
    const batch = new ChangeBatch();
    batch.add(task('a', [change(['printf no-newline; printf err-no-newline >&2'])], log));
    batch.add(task('b', [change(['printf x >&2; false'])], log));
    expect(await batch.flush(conn)).toBe(false);
    expect(log).toEqual(['a applied', 'b failed: x']);
    await conn.close();
  });

  it('reports a shell that dies without a marker as the failure of the task in flight', async () => {
    const conn = connectLocal(settings);
    const log: string[] = [];
    const batch = new ChangeBatch();
    batch.add(task('a', [change(['true'])], log));
    batch.add(task('b', [change(['echo dying >&2; kill -9 $$'])], log));
    expect(await batch.flush(conn)).toBe(false);
    expect(log[0]).toBe('a applied');
    expect(log[1]).toMatch(/^b failed: /);
    expect(log).toHaveLength(2);
    await conn.close();
  });

  it('says which task was in flight when the connection is lost, and drops the rest', async () => {
    const log: string[] = [];
    let script = '';
    // A transport that delivers the first task's marker, then loses the connection.
    const conn: Connection = {
      stats: { connections: 1, execs: 0 },
      description: 'fake',
      close: async () => {},
      exec: async (command, options) => {
        script = command;
        const nonce = /kvmnet-([0-9a-f]+) 0/.exec(command)![1];
        options?.onStdout?.(`kvmnet-${nonce} 0 0\nkvmnet-${nonce} `);
        throw new UnreachableError('connection lost (reset)');
      },
    };
    const batch = new ChangeBatch();
    batch.add(task('a', [change(['true'])], log));
    batch.defer(() => log.push('event after a'));
    batch.add(task('b', [change(['true'])], log));
    batch.defer(() => log.push('event after b'));
    batch.add(task('c', [change(['true'])], log));
    expect(await batch.flush(conn)).toBe(false);
    expect(script).toContain('set -e');
    expect(log).toEqual(['a applied', 'event after a', 'b lost: connection lost (reset)']);
  });
});

describe('batch size', () => {
  it('refuses a task that would take the script over the limit', () => {
    const batch = new ChangeBatch();
    const half = change([`echo ${'x'.repeat(MAX_BATCH_BYTES / 2)}`]);
    expect(batch.fits([half])).toBe(true);
    batch.add(task('a', [half], []));
    expect(batch.fits([half])).toBe(false);
    expect(batch.fits([change(['true'])])).toBe(true);
  });
});

describe('markers', () => {
  it('are read from stdout whatever the chunking, and other lines are ignored', () => {
    const reader = new MarkerReader('abc');
    expect(reader.read('some output\nkvmnet-ab')).toEqual([]);
    expect(reader.read('c 0 0\nkvmnet-abc 1 ')).toEqual([{ index: 0, status: 0 }]);
    expect(reader.read('2\nkvmnet-xyz 2 0\n')).toEqual([{ index: 1, status: 2 }]);
    expect(reader.all).toEqual([
      { index: 0, status: 0 },
      { index: 1, status: 2 },
    ]);
  });

  it('split stderr into each task part', () => {
    expect(splitStderr('warn a\nkvmnet-n1 0 0\nkvmnet-n1 1 0\nerr c1\nerr c2\nkvmnet-n1 2 1\n', 'n1')).toEqual(['warn a', '', 'err c1\nerr c2', '']);
  });

  it('are printed once per task part on each stream, in order', () => {
    const script = batchScript([[change(['a'])], [change(['b'])]], 'n2');
    expect(script.match(/'kvmnet-n2 \d+' "\$rc"( >&2)?/g)).toEqual([`'kvmnet-n2 0' "$rc"`, `'kvmnet-n2 0' "$rc" >&2`, `'kvmnet-n2 1' "$rc"`, `'kvmnet-n2 1' "$rc" >&2`]);
  });
});
