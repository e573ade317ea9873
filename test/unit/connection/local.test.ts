import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CommandTimeoutError } from '../../../src/errors.js';
import { connectLocal } from '../../../src/connection/local.js';
import { localSettings } from '../support/local-settings.js';

const settings = localSettings;

describe('connectLocal', () => {
  it('runs sh -c with stdin, and collects output and exit code', async () => {
    const conn = connectLocal(settings);
    const result = await conn.exec('read line; echo "got $line"; echo oops >&2; exit 3', { stdin: 'réseau\n' });
    expect(result).toEqual({ stdout: 'got réseau\n', stderr: 'oops\n', exitCode: 3 });
    expect(conn.stats.execs).toBe(1);
    await conn.close();
  });

  it('reports a signal instead of an exit code', async () => {
    const result = await connectLocal(settings).exec('kill -TERM $$');
    expect(result).toMatchObject({ exitCode: null, signal: 'SIGTERM' });
  });

  it('gives a command EOF on stdin when there is none', async () => {
    expect((await connectLocal(settings).exec('cat; echo done')).stdout).toBe('done\n');
  });

  it('times out, kills the whole command, and stays usable', async () => {
    const conn = connectLocal(settings);
    const started = Date.now();
    const timedOut = conn.exec('sleep 5; echo late', { timeoutMs: 300 });
    await expect(timedOut).rejects.toBeInstanceOf(CommandTimeoutError);
    await expect(timedOut).rejects.toThrow('controller (local): command timed out after 300 ms: sleep 5; echo late');
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await conn.exec('echo still here')).stdout).toBe('still here\n');
  });

  it('stops the children of a timed-out command too', async () => {
    const conn = connectLocal(settings);
    const dir = mkdtempSync(join(tmpdir(), 'kvmnet-local-'));
    const marker = join(dir, 'late');
    await expect(conn.exec(`(sleep 0.5; touch ${marker}) & wait`, { timeoutMs: 200 })).rejects.toThrow(/timed out/);
    await new Promise((done) => setTimeout(done, 800));
    expect(existsSync(marker)).toBe(false);
    rmSync(dir, { recursive: true });
  });
});
