// The ONE place that maps outcomes and errors to exit codes (documented in the README).
import { InvalidInputError, KvmnetError, UsageError, formatDiagnostic } from '../errors.js';
import type { RunSummary } from '../model/result.js';

export const EXIT = {
  ok: 0,
  invalidInput: 1,
  taskFailed: 2,
  unreachable: 4,
  changesPending: 8,
  interrupted: 130,
  terminated: 143,
} as const;

/** 2 (a task failed) and 4 (a host unreachable) add up; 8 is added by --check --detailed-exitcode. */
export function exitCodeFor(summary: RunSummary, detailed: boolean): number {
  let code = 0;
  if (summary.hosts.some((h) => h.failed > 0 || h.rolled_back > 0)) code += EXIT.taskFailed;
  if (summary.hosts.some((h) => h.unreachable > 0)) code += EXIT.unreachable;
  if (detailed && summary.check && summary.hosts.some((h) => h.changed > 0)) code += EXIT.changesPending;
  return code;
}

/** Prints an error the way the user should see it and returns the exit code. */
export function reportError(err: unknown, write: (s: string) => void): number {
  if (err instanceof InvalidInputError) {
    for (const d of err.diagnostics) write(formatDiagnostic(d));
    const n = err.diagnostics.filter((d) => d.severity === 'error').length;
    write(`${n} error${n === 1 ? '' : 's'}; nothing was changed on any host`);
    return EXIT.invalidInput;
  }
  if (err instanceof UsageError) {
    write(`error: ${err.message}`);
    return EXIT.invalidInput;
  }
  if (err instanceof KvmnetError) {
    write(`error: ${err.message}`);
    return EXIT.invalidInput;
  }
  write(`internal error: ${(err as Error)?.stack ?? String(err)}`);
  return 70;
}
