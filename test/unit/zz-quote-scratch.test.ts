import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { it, expect } from 'vitest';
import { shellQuote } from '../../src/connection/quote.js';
it('many', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\0')), (v) => {
    expect(execFileSync('/bin/sh', ['-c', `printf %s ${shellQuote(v)}`])).toEqual(Buffer.from(v));
  }), { numRuns: 3000 });
}, 300_000);
