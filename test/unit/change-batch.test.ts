// The change batch runs real scripts through the local transport (`sh -c` on this machine) in a
// temporary directory: `ip` and `virsh` are stubs first on PATH that record their arguments (and
// are slow, fail or kill the shell when a link's name says so); file operations run for real.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectLocal } from '../../src/connection/local.js';
import type { Connection } from '../../src/connection/types.js';
import { UnreachableError } from '../../src/errors.js';
import type { Change } from '../../src/model/plan.js';
import type { Op } from '../../src/ops/index.js';
import { batchScript, ChangeBatch, MarkerReader, MAX_BATCH_BYTES, splitStderr, type BatchedTask } from '../../src/run/change-batch.js';
import { localSettings } from './support/local-settings.js';

const settings = localSettings;

let dir: string;
let savedPath: string | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kvmnet-batch-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  // `ip link set NAME up`: what the stub does depends on NAME ($3).
  writeFileSync(
    join(bin, 'ip'),
    `#!/bin/sh
printf '%s\\n' "ip $*" >> '${dir}/log'
case "$3" in
  slow-*) sleep "\${3#slow-}" ;;
  noisy-*) echo "noise of $3" >&2 ;;
  broken-*) echo "RTNETLINK answers: $3 is broken" >&2; exit 2 ;;
  no-newline) printf no-newline; printf err-no-newline >&2 ;;
  fails-without-newline) printf x >&2; exit 1 ;;
  dying) echo dying >&2; kill -9 0 ;;
esac
`,
  );
  // `virsh -q net-define /dev/stdin`: keeps what it was given on stdin.
  writeFileSync(join(bin, 'virsh'), `#!/bin/sh\nprintf '%s\\n' "virsh $*" >> '${dir}/log'\ncat > '${dir}/virsh-stdin'\n`);
  chmodSync(join(bin, 'ip'), 0o755);
  chmodSync(join(bin, 'virsh'), 0o755);
  savedPath = process.env.PATH;
  process.env.PATH = `${bin}:${savedPath}`;
});
afterEach(() => {
  process.env.PATH = savedPath;
  rmSync(dir, { recursive: true, force: true });
});

const change = (...ops: Op[]): Change => ({ summary: ops.map((o) => o.op).join('; '), ops });
const up = (name: string): Change => change({ op: 'link.up', name, up: true });
/** What the stubs ran, in order. */
const ran = (): string[] => {
  try {
    return readFileSync(join(dir, 'log'), 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

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
    batch.add(task('a', [up('a')], log));
    batch.defer(() => log.push('event after a'));
    batch.add(task('b', [up('b1'), up('b2')], log));
    batch.defer(() => log.push('event after b'));
    expect(log).toEqual(['event before anything is queued']);

    expect(await batch.flush(conn)).toBe(true);
    expect(log).toEqual(['event before anything is queued', 'a applied', 'event after a', 'b applied', 'event after b']);
    expect(ran()).toEqual(['ip link set a up', 'ip link set b1 up', 'ip link set b2 up']);
    expect(conn.stats.execs).toBe(1);
    expect(batch.size).toBe(0);
    await conn.close();
  });

  it('stops at the failing task: the ones before are applied, its own stderr is its message, the ones after never run', async () => {
    const conn = connectLocal(settings);
    const log: string[] = [];
    const batch = new ChangeBatch();
    batch.add(task('a', [change({ op: 'link.up', name: 'noisy-a', up: true }, { op: 'link.up', name: 'a', up: true })], log));
    batch.defer(() => log.push('event after a'));
    // set -e: the failing command ends the task before its second line.
    batch.add(task('b', [change({ op: 'link.up', name: 'broken-b', up: true }, { op: 'link.up', name: 'b-second-line', up: true })], log));
    batch.defer(() => log.push('event after b'));
    batch.add(task('c', [up('c')], log));

    expect(await batch.flush(conn)).toBe(false);
    expect(log).toEqual(['a applied', 'event after a', 'b failed: RTNETLINK answers: broken-b is broken']);
    expect(ran()).toEqual(['ip link set noisy-a up', 'ip link set a up', 'ip link set broken-b up']);
    await conn.close();
  });

  it('gives a definition and a file their content byte for byte (quotes, newlines, $, backslashes)', async () => {
    const conn = connectLocal(settings);
    const log: string[] = [];
    const xml = `<network name='it''s'>\n  <description>$(reboot) \`x\` \\n "q"</description>\n</network>\n`;
    const batch = new ChangeBatch();
    batch.add(task('net', [change({ op: 'net.define', name: "it's", xml })], log));
    batch.add(task('file', [change({ op: 'file.write', path: join(dir, 'etc', "it's.xml"), content: xml })], log));
    batch.add(task('after', [up('after')], log));
    expect(await batch.flush(conn)).toBe(true);
    expect(readFileSync(join(dir, 'virsh-stdin'), 'utf8')).toBe(xml);
    expect(readFileSync(join(dir, 'etc', "it's.xml"), 'utf8')).toBe(xml);
    expect(log).toEqual(['net applied', 'file applied', 'after applied']);
    expect(ran()).toEqual(['virsh -q net-define /dev/stdin', 'ip link set after up']);
    await conn.close();
  });

  it('times out after the command timeout times the number of tasks, and says what timed out', async () => {
    const conn = connectLocal({ ...settings, commandTimeoutMs: 300 });
    const log: string[] = [];
    const batch = new ChangeBatch();
    // Two tasks: 600 ms in all. The first takes 400 ms, more than one task's timeout but within two.
    batch.add(task('a', [up('slow-0.4')], log));
    batch.add(task('b', [up('slow-5')], log));
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
    batch.add(task('a', [up('no-newline')], log));
    batch.add(task('b', [up('fails-without-newline')], log));
    expect(await batch.flush(conn)).toBe(false);
    expect(log).toEqual(['a applied', 'b failed: x']);
    await conn.close();
  });

  it('reports a shell that dies without a marker as the failure of the task in flight', async () => {
    const conn = connectLocal(settings);
    const log: string[] = [];
    const batch = new ChangeBatch();
    batch.add(task('a', [up('a')], log));
    batch.add(task('b', [up('dying')], log));
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
    batch.add(task('a', [up('a')], log));
    batch.defer(() => log.push('event after a'));
    batch.add(task('b', [up('b')], log));
    batch.defer(() => log.push('event after b'));
    batch.add(task('c', [up('c')], log));
    expect(await batch.flush(conn)).toBe(false);
    expect(script).toContain('set -e');
    expect(log).toEqual(['a applied', 'event after a', 'b lost: connection lost (reset)']);
  });
});

describe('batch size', () => {
  it('refuses a task that would take the script over the limit', () => {
    const batch = new ChangeBatch();
    const half = change({ op: 'file.write', path: '/tmp/x', content: 'x'.repeat(MAX_BATCH_BYTES / 2) });
    expect(batch.fits([half])).toBe(true);
    batch.add(task('a', [half], []));
    expect(batch.fits([half])).toBe(false);
    expect(batch.fits([up('a')])).toBe(true);
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
    const script = batchScript([[up('a')], [up('b')]], 'n2');
    expect(script.match(/'kvmnet-n2 \d+' "\$rc"( >&2)?/g)).toEqual([
      `'kvmnet-n2 0' "$rc"`,
      `'kvmnet-n2 0' "$rc" >&2`,
      `'kvmnet-n2 1' "$rc"`,
      `'kvmnet-n2 1' "$rc" >&2`,
    ]);
  });
});
