import { describe, expect, it } from 'vitest';
import { parseJump } from '../../../src/connection/jump.js';
import { withRetry } from '../../../src/connection/retry.js';

describe('parseJump', () => {
  it.each([
    ['bastion', { user: 'root', host: 'bastion', port: 22 }],
    ['ops@bastion', { user: 'ops', host: 'bastion', port: 22 }],
    ['ops@10.0.0.1:2222', { user: 'ops', host: '10.0.0.1', port: 2222 }],
    ['[2001:db8::1]:2200', { user: 'root', host: '2001:db8::1', port: 2200 }],
    ['a@b@bastion', { user: 'a@b', host: 'bastion', port: 22 }],
  ])('%s', (spec, expected) => {
    expect(parseJump(spec, 'root')).toEqual(expected);
  });

  it.each(['', 'ops@', '@bastion', 'bastion:0', 'bastion:99999', 'bastion:x', '2001:db8::1'])('refuses %j', (spec) => {
    expect(() => parseJump(spec, 'root')).toThrow(/invalid jump host/);
  });
});

describe('withRetry', () => {
  const noSleep = { sleep: async (ms: number) => void slept.push(ms) };
  const slept: number[] = [];

  it('retries transient failures with the given delays, then gives up with the last error', async () => {
    slept.length = 0;
    let calls = 0;
    const failing = withRetry(
      async () => {
        calls += 1;
        throw new Error(`refused ${calls}`);
      },
      { delaysMs: [250, 1000], shouldRetry: () => true, ...noSleep },
    );
    await expect(failing).rejects.toThrow('refused 3');
    expect(slept).toEqual([250, 1000]);
  });

  it('stops at the first error that is not transient', async () => {
    let calls = 0;
    const failing = withRetry(
      async () => {
        calls += 1;
        throw new Error('auth');
      },
      { delaysMs: [1, 1], shouldRetry: () => false, ...noSleep },
    );
    await expect(failing).rejects.toThrow('auth');
    expect(calls).toBe(1);
  });

  it('returns the first success', async () => {
    let calls = 0;
    const value = await withRetry(
      async (n) => {
        calls += 1;
        if (n < 2) throw new Error('reset');
        return 'ok';
      },
      { delaysMs: [1, 1], shouldRetry: () => true, ...noSleep },
    );
    expect([value, calls]).toEqual(['ok', 2]);
  });
});
