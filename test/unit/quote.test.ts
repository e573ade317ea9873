import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shellJoin, shellQuote } from '../../src/connection/quote.js';

// What /bin/sh prints for `printf %s WORD`: the word's bytes exactly as the shell read them.
function roundTrip(value: string): Buffer {
  return execFileSync('/bin/sh', ['-c', `printf %s ${shellQuote(value)}`]);
}

const cases: Array<[string, string, string]> = [
  ['plain word', 'br0', 'br0'],
  ['safe punctuation', 'eth1.100/24:a,b@c+d%e_f-g', 'eth1.100/24:a,b@c+d%e_f-g'],
  ['empty', '', "''"],
  ['space', 'bridged network', "'bridged network'"],
  ['single quote', "it's", "'it'\\''s'"],
  ['only a quote', "'", "''\\'''"],
  ['double quote', 'say "hi"', `'say "hi"'`],
  ['command substitution', '$(reboot)', "'$(reboot)'"],
  ['variable', '$HOME', "'$HOME'"],
  ['backticks', '`id`', "'`id`'"],
  ['newline', 'a\nb', "'a\nb'"],
  ['semicolon', 'a; rm -rf /', "'a; rm -rf /'"],
  ['glob', '*', "'*'"],
  ['tilde', '~root', "'~root'"],
  ['assignment-like', 'A=b', "'A=b'"],
  ['backslash', 'a\\b', "'a\\b'"],
  ['leading dash', '-n', '-n'],
  ['unicode', 'réseau-été ☃', "'réseau-été ☃'"],
  ['tab and CR', 'a\tb\rc', "'a\tb\rc'"],
  ['pipes and redirects', 'a|b>c<d&e', "'a|b>c<d&e'"],
];

describe('shellQuote', () => {
  it.each(cases)('%s', (_name, value, quoted) => {
    expect(shellQuote(value)).toBe(quoted);
  });

  it.each(cases)('round trips through /bin/sh: %s', (_name, value) => {
    expect(roundTrip(value)).toEqual(Buffer.from(value));
  });

  it('refuses a NUL byte, which no shell word can hold', () => {
    expect(() => shellQuote('a\0b')).toThrow(/NUL/);
  });

  it('round trips any string without NUL through /bin/sh', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\0')),
        (value) => {
          expect(roundTrip(value)).toEqual(Buffer.from(value));
        },
      ),
      { numRuns: 200 },
    );
    // 200 real shells: seconds on a busy machine.
  }, 60_000);
});

describe('shellJoin', () => {
  it('quotes each argument on its own', () => {
    expect(shellJoin(['virsh', 'net-define', '/tmp/my net.xml'])).toBe("virsh net-define '/tmp/my net.xml'");
  });

  it('keeps argument boundaries through /bin/sh', () => {
    const argv = ['a b', '', "c'd", '$(x)', 'e\nf'];
    const out = execFileSync('/bin/sh', ['-c', `printf '<%s>' ${shellJoin(argv)}`], { encoding: 'utf8' });
    expect(out).toBe(argv.map((a) => `<${a}>`).join(''));
  });
});
