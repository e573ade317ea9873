// Picks how to talk to the user: live view on a terminal, plain lines elsewhere, or JSON Lines.
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { ansiColors, noColors } from '../report/format.js';
import type { RunHeader } from '../report/run-header.js';
import type { Reporter } from '../run/reporter.js';

export const interactive = (): boolean => Boolean(process.stdout.isTTY) && !process.env.CI;
export const colors = () => (process.stdout.isTTY && !process.env.NO_COLOR ? ansiColors : noColors);
/** A line to stdout, after any reporter lines still waiting (see below). */
export const out = (line: string): void => {
  if (pending.length > 0) reporterOut(line);
  else process.stdout.write(line + '\n');
};
export const err = (line: string) => process.stderr.write(line + '\n');

// A fleet's run prints a line per task per host: one write(2) per line cost ~0.75 ms of CPU per host
// at 1000 hosts (a CPU profile of the simulator's run). The reporters' lines are gathered and written
// once per turn of the event loop; `exit` writes what is left (stdout to a file, pipe or terminal
// is synchronous on Linux, so nothing is lost on process.exit).
let pending: string[] = [];
let flushScheduled = false;
let flushOnExit = false;

function flushReporterLines(): void {
  flushScheduled = false;
  if (pending.length === 0) return;
  const text = pending.join('\n') + '\n';
  pending = [];
  process.stdout.write(text);
}

const reporterOut = (line: string) => {
  pending.push(line);
  if (flushScheduled) return;
  if (!flushOnExit) {
    flushOnExit = true;
    process.once('exit', flushReporterLines);
  }
  flushScheduled = true;
  setImmediate(flushReporterLines);
};

/** Only the chosen reporter is loaded: listr2 costs start-up time that JSON and plain output never need. */
export async function makeReporter(o: {
  output: 'text' | 'json';
  diff: boolean;
  verbose: number;
  recap?: 'auto' | 'full';
  header?: RunHeader;
}): Promise<Reporter> {
  if (o.output === 'json') return new (await import('../report/json.js')).JsonReporter(reporterOut, o.header);
  const recap = o.recap === 'full' || o.verbose > 0 ? 'full' : 'fit';
  if (interactive()) return new (await import('../report/live.js')).LiveReporter({ diff: o.diff, colors: colors(), write: out, recap });
  return new (await import('../report/plain.js')).PlainReporter({ diff: o.diff, verbose: o.verbose, colors: colors(), write: reporterOut });
}

/** Asks for an SSH key passphrase on the terminal, without echo. Undefined when there is no TTY. */
export async function promptPassphrase(keyPath: string): Promise<string | undefined> {
  return readSecret(`passphrase for ${keyPath}: `, { input: process.stdin, output: process.stderr });
}

/**
 * Reads one line from a terminal without echoing it. readline echoes what is typed to its `output`: it gets
 * a stream that drops everything, and the prompt goes straight to the real one. Ctrl-C gives up (undefined)
 * and is passed on to the process, so a run stops as it would at any other moment.
 */
export async function readSecret(
  prompt: string,
  io: { input: NodeJS.ReadableStream & { isTTY?: boolean }; output: NodeJS.WritableStream },
): Promise<string | undefined> {
  if (!io.input.isTTY) return undefined;
  const muted = new Writable({ write: (_chunk, _encoding, done) => done() });
  const rl = createInterface({ input: io.input, output: muted, terminal: true });
  io.output.write(prompt);
  try {
    return await new Promise<string | undefined>((resolve) => {
      rl.on('SIGINT', () => {
        resolve(undefined);
        process.kill(process.pid, 'SIGINT');
      });
      rl.on('close', () => resolve(undefined));
      rl.question('', resolve);
    });
  } finally {
    rl.close();
    io.output.write('\n');
  }
}
