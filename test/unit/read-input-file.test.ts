import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_INPUT_BYTES, readInputFile } from '../../src/config/yaml-source.js';

describe('readInputFile', () => {
  it('refuses an endless device instead of reading it forever', () => {
    const r = readInputFile('/dev/zero');
    expect(r.text).toBeUndefined();
    expect(r.diagnostics[0]!.message).toBe(`input is larger than the ${MAX_INPUT_BYTES}-byte limit`);
  });
  it('reads a regular file whole and refuses a directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvmnet-read-'));
    writeFileSync(join(dir, 'hosts'), 'hv1 ansible_host=198.18.0.1\n');
    expect(readInputFile(join(dir, 'hosts'))).toEqual({ text: 'hv1 ansible_host=198.18.0.1\n', diagnostics: [] });
    expect(readInputFile(dir).diagnostics[0]!.message).toBe('cannot read: is a directory, expected a file');
  });
  it('accepts a file of exactly the limit', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'kvmnet-read-')), 'big');
    writeFileSync(file, 'a'.repeat(MAX_INPUT_BYTES));
    expect(readInputFile(file).text).toHaveLength(MAX_INPUT_BYTES);
  });
});
