import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { ALL_EXIT_CODES, EXIT, exitCodeFor, exitCodeForHosts, reportError } from '../../src/cli/exit-codes.js';
import { InvalidInputError, LabError, UsageError } from '../../src/errors.js';
import { emptyRecap, type HostRecap, type RunSummary } from '../../src/model/result.js';
import { readmeExitCodes } from './support/cli.js';

const summary = (check: boolean, ...hosts: Partial<HostRecap>[]): RunSummary => ({
  hosts: hosts.map((h, i) => ({ ...emptyRecap(`hv${i + 1}`), ...h })),
  elapsedMs: 1,
  check,
  notTouched: [],
  stats: { connections: 0, execs: 0 },
});

describe('exit codes', () => {
  it('docs/exit-codes.md lists exactly the codes the CLI can return', () => {
    expect(readmeExitCodes()).toEqual([...ALL_EXIT_CODES]);
    expect(ALL_EXIT_CODES).toEqual([0, 1, 2, 4, 6, 8, 10, 12, 14, 70, 130, 143]);
  });

  it.each([
    ['all ok', summary(false, { ok: 3 }), false, 0],
    ['a failed task', summary(false, { failed: 1 }, { ok: 1 }), false, 2],
    ['a rollback counts as a failure', summary(false, { rolled_back: 1 }), false, 2],
    ['unreachable', summary(false, { unreachable: 1 }), false, 4],
    ['both', summary(false, { failed: 1 }, { unreachable: 1 }), false, 6],
    ['changes pending, check, detailed', summary(true, { changed: 2 }), true, 8],
    ['changes pending and unreachable', summary(true, { changed: 2 }, { unreachable: 1 }), true, 12],
    ['changes pending without --detailed-exitcode', summary(true, { changed: 2 }), false, 0],
    ['changed in a real run is not "pending"', summary(false, { changed: 2 }), true, 0],
  ])('%s → %i', (_name, s, detailed, code) => {
    expect(exitCodeFor(s, detailed)).toBe(code);
    expect(ALL_EXIT_CODES).toContain(code);
  });

  it.each([
    [{ failed: false, unreachable: false }, 0],
    [{ failed: true, unreachable: false }, 2],
    [{ failed: false, unreachable: true }, 4],
    [{ failed: true, unreachable: true, changesPending: true }, 14],
  ])('host outcomes %j → %i', (o, code) => {
    expect(exitCodeForHosts(o)).toBe(code);
  });
});

describe('reportError: the one mapping of errors to exit codes', () => {
  const context = { version: '9.9.9', args: ['run', 'pb.yaml', '-e', 'ssh_password=hunter2'] };
  it.each([
    [
      'commander usage error (already printed by commander)',
      new CommanderError(1, 'commander.unknownOption', "error: unknown option '--x'"),
      EXIT.invalidInput,
      '',
    ],
    ['--help', new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'), EXIT.ok, ''],
    [
      'invalid input',
      new InvalidInputError([{ severity: 'error', file: 'pb.yaml', line: 3, col: 7, message: 'bad' }]),
      EXIT.invalidInput,
      'error: pb.yaml:3:7: bad\n1 error; nothing was changed on any host',
    ],
    ['usage', new UsageError("no host named 'x' in the inventory"), EXIT.invalidInput, "error: no host named 'x' in the inventory"],
    ['lab', new LabError('no lab in .lab'), EXIT.invalidInput, 'error: no lab in .lab'],
  ])('%s', (_name, error, code, text) => {
    const lines: string[] = [];
    expect(reportError(error, (s) => lines.push(s), context)).toBe(code);
    expect(lines.join('\n')).toBe(text);
  });

  it('a bug is an internal error, exit 70, with the version, the redacted command line and the stack', () => {
    const lines: string[] = [];
    expect(reportError(new TypeError("Cannot read properties of undefined (reading 'x')"), (s) => lines.push(s), context)).toBe(EXIT.internal);
    const text = lines.join('\n');
    expect(text).toMatch(/^internal error: this is a bug in kvmnet/);
    expect(text).toContain('kvmnet 9.9.9 · node v');
    expect(text).toContain('command: kvmnet run pb.yaml -e');
    expect(text).not.toContain('hunter2');
    expect(text).toContain("TypeError: Cannot read properties of undefined (reading 'x')");
    expect(text).toMatch(/cli-exit-codes\.test\.ts:\d+:\d+/);
  });
});
