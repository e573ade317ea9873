// Picks how to talk to the user: live view on a terminal, plain lines elsewhere, or JSON Lines.
import { createInterface } from 'node:readline';
import { ansiColors, noColors } from '../report/format.js';
import type { Reporter } from '../run/reporter.js';

export const interactive = (): boolean => Boolean(process.stdout.isTTY) && !process.env.CI;
export const colors = () => (process.stdout.isTTY && !process.env.NO_COLOR ? ansiColors : noColors);
export const out = (line: string) => process.stdout.write(line + '\n');
export const err = (line: string) => process.stderr.write(line + '\n');

/** Only the chosen reporter is loaded: listr2 costs start-up time that JSON and plain output never need. */
export async function makeReporter(o: { output: 'text' | 'json'; diff: boolean; verbose: number; recap?: 'auto' | 'full' }): Promise<Reporter> {
  if (o.output === 'json') return new (await import('../report/json.js')).JsonReporter(out);
  const recap = o.recap === 'full' || o.verbose > 0 ? 'full' : 'fit';
  if (interactive()) return new (await import('../report/live.js')).LiveReporter({ diff: o.diff, colors: colors(), write: out, recap });
  return new (await import('../report/plain.js')).PlainReporter({ diff: o.diff, verbose: o.verbose, colors: colors(), write: out });
}

/** Asks for an SSH key passphrase on the terminal, without echo. Undefined when there is no TTY. */
export async function promptPassphrase(keyPath: string): Promise<string | undefined> {
  if (!process.stdin.isTTY) return undefined;
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const rlOut = rl as unknown as { _writeToOutput: (s: string) => void };
  process.stderr.write(`passphrase for ${keyPath}: `);
  rlOut._writeToOutput = () => undefined;
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve));
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}
