// The ONE place that maps outcomes and errors to exit codes. The exit-code table of docs/exit-codes.md lists
// exactly ALL_EXIT_CODES (test/unit/cli-exit-codes.test.ts holds the two together).
import { CommanderError } from 'commander';
import { InvalidInputError, KvmnetError, formatDiagnostic } from '../errors.js';
import type { RunSummary } from '../model/result.js';
import { formatInternalError } from './internal-error.js';

export const EXIT = {
  ok: 0,
  /** Invalid input or usage: nothing was contacted. */
  invalidInput: 1,
  taskFailed: 2,
  unreachable: 4,
  changesPending: 8,
  /** A bug in kvmnet: reported with a stack trace and how to report it. */
  internal: 70,
  interrupted: 130,
  terminated: 143,
} as const;

/** Every code the CLI can return: 2, 4 and 8 add up (8 only with --check --detailed-exitcode). */
export const ALL_EXIT_CODES: readonly number[] = [
  EXIT.ok,
  EXIT.invalidInput,
  ...[0, EXIT.changesPending]
    .flatMap((pending) => [0, EXIT.taskFailed, EXIT.unreachable, EXIT.taskFailed + EXIT.unreachable].map((hosts) => hosts + pending))
    .filter((c) => c !== 0),
  EXIT.internal,
  EXIT.interrupted,
  EXIT.terminated,
].sort((a, b) => a - b);

/** What went wrong on the hosts of a run, `facts` or `lab status`. */
export interface HostOutcomes {
  failed: boolean;
  unreachable: boolean;
  changesPending?: boolean;
}

export function exitCodeForHosts(o: HostOutcomes): number {
  return (o.failed ? EXIT.taskFailed : 0) + (o.unreachable ? EXIT.unreachable : 0) + (o.changesPending ? EXIT.changesPending : 0);
}

/** 2 (a task failed) and 4 (a host unreachable) add up; 8 is added by --check --detailed-exitcode. */
export function exitCodeFor(summary: RunSummary, detailed: boolean): number {
  return exitCodeForHosts({
    failed: summary.hosts.some((h) => h.failed > 0 || h.rolled_back > 0),
    unreachable: summary.hosts.some((h) => h.unreachable > 0),
    changesPending: detailed && summary.check && summary.hosts.some((h) => h.changed > 0),
  });
}

export function exitCodeForSignal(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? EXIT.interrupted : EXIT.terminated;
}

export interface ReportContext {
  version: string;
  /** The command line as typed, without `node` and the script (secrets are removed before printing). */
  args: readonly string[];
}

/** Prints an error the way the user should see it and returns the exit code. */
export function reportError(err: unknown, write: (s: string) => void, context: ReportContext): number {
  // Commander has already printed its message (and the --help hint); --help and --version end here too.
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.invalidInput;
  if (err instanceof InvalidInputError) {
    for (const d of err.diagnostics) write(formatDiagnostic(d));
    const n = err.diagnostics.filter((d) => d.severity === 'error').length;
    write(`${n} error${n === 1 ? '' : 's'}; nothing was changed on any host`);
    return EXIT.invalidInput;
  }
  // UsageError, LabError…: a one-line message the user can act on.
  if (err instanceof KvmnetError) {
    write(`error: ${err.message}`);
    return EXIT.invalidInput;
  }
  write(formatInternalError(err, context));
  return EXIT.internal;
}
