// The built CLI on command lines a user gets wrong, and on empty selections: what it says, the exit
// code, and that no host was contacted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, show } from './support/cli.js';
import { cliFixture, type CliFixture } from './support/cli-fixture.js';

let fx: CliFixture;
beforeAll(async () => {
  assertBuilt();
  fx = await cliFixture();
});
afterAll(() => fx?.close());

const HINT = /\(run with --help for usage\)\n$/;
const run = (...more: string[]) => ['run', 'site.yaml', '-i', 'inventory.yaml', ...more];

describe('usage errors: one line naming the option, the value and what is expected; exit 1; nothing contacted', () => {
  it.each([
    [run('--forks', '0'), /^error: option '-f, --forks <n>' argument '0' is invalid\. Expected a whole number from 1 to 10000\.\n/],
    [run('--connect-timeout', '-1'), /^error: option '--connect-timeout <seconds>' argument '-1' is invalid\. Expected a number of seconds above 0/],
    [run('--command-timeout', 'abc'), /^error: option '--command-timeout <seconds>' argument 'abc' is invalid\./],
    [run('--wait-lock', 'x'), /^error: option '--wait-lock <seconds>' argument 'x' is invalid\. Expected a number of seconds from 0/],
    [run('--output', 'xml'), /^error: option '-o, --output <format>' argument 'xml' is invalid\. Allowed choices are text, json\./],
    [run('--limit', ''), /^error: option '-l, --limit <pattern>' argument '' is invalid\. Expected a host pattern/],
    [run('--limit', '!'), /^error: option '-l, --limit <pattern>' argument '!' is invalid\. Expected a host or group after '!'/],
    [run('--tags', ''), /^error: option '-t, --tags <tags>' argument '' is invalid\. Expected one or more comma-separated tags/],
    [run('--skip-tags', ','), /^error: option '--skip-tags <tags>' argument ',' is invalid\./],
    [run('--detailed-exitcode'), /^error: --detailed-exitcode needs --check \(or --dry-run\)\n/],
    [run('--forks'), /^error: option '-f, --forks <n>' argument missing\n/],
    [run('--bogus'), /^error: unknown option '--bogus'\n/],
    [['run', '', '-i', 'inventory.yaml'], /^error: command-argument value '' is invalid for argument 'playbook'\. Expected a playbook file\./],
    [['run'], /^error: missing required argument 'playbook'\n/],
    [['run', 'site.yaml', 'extra.yaml'], /^error: too many arguments for 'run'/],
    [['facts', '-i', 'inventory.yaml', '--forks', '1.5'], /^error: option '-f, --forks <n>' argument '1\.5' is invalid\./],
    [['inventory', '-i', 'inventory.yaml'], /^error: choose exactly one of --list, --graph or --host NAME \(got none\)\n/],
    [['inventory', '-i', 'inventory.yaml', '--list', '--host', 'hv1'], /^error: choose exactly one of --list, --graph or --host NAME \(got 2\)\n/],
    [['inventory', '-i', ''], /^error: option '-i, --inventory <path>' argument '' is invalid\. Expected an inventory/],
    [['lab', 'up', '-n', '0'], /^error: option '-n, --hosts <n>' argument '0' is invalid\. Expected a whole number from 1 to 200\./],
    [['lab', 'up', '--prefix', 'A-B'], /^error: option '--prefix <prefix>' argument 'A-B' is invalid\. Expected 1 to 6 characters/],
    [['lab', 'down', '--dir', ''], /^error: option '--dir <dir>' argument '' is invalid\. Expected a directory\./],
    [['lab', 'sideways'], /^error: unknown command 'sideways'\n/],
    [['schema', '--x'], /^error: unknown option '--x'\n/],
    [['bogus'], /^error: unknown command 'bogus'\n/],
  ])('%j', async (args, message) => {
    const r = await fx.run(args);
    expect(r.code, show(args, r)).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(HINT);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(r.contacted).toBe(0);
  });
});

describe('empty selections', () => {
  it.each([
    // A --limit that selects no host is an input error, as in ansible-playbook.
    ['--limit matching nothing', 1, run('--limit', 'nomatch'), /error: --limit: 'nomatch' selects none of the inventory's 3 hosts: nothing to do/],
    ['--limit with only exclusions left', 1, run('--limit', 'all:!all'), /selects none of the inventory's 3 hosts/],
    ['--limit from an empty file', 1, run('--limit', '@empty.retry'), /selects none of the inventory's 3 hosts/],
    ['validate with a --limit matching nothing', 1, ['validate', 'site.yaml', '-i', 'inventory.yaml', '--limit', 'nomatch'], /selects none/],
    ['facts with a --limit matching nothing', 1, ['facts', '-i', 'inventory.yaml', '--limit', 'nomatch'], /selects none/],
    // A valid selection with nothing to do: a warning and exit 0, like Ansible; no host contacted.
    ['--tags selecting no task', 0, run('--tags', 'nosuch'), /warning: --tags nosuch selects no task of a play with hosts: nothing to do/],
    ['--skip-tags skipping every task', 0, run('--skip-tags', 'net,addr', '--check'), /warning: --skip-tags net,addr selects no task/],
    ['--limit to a host no play runs on', 0, run('--limit', 'hv3', '--check'), /warning: no play selects a host \(with --limit hv3\): nothing to do/],
    // ...except for drift detection, where "nothing was checked" must not read as "no drift".
    [
      'drift check with --tags selecting no task',
      1,
      run('--tags', 'nosuch', '--check', '--detailed-exitcode'),
      /error: --tags nosuch selects no task of a play with hosts: nothing would be checked, so --check --detailed-exitcode cannot tell whether there is drift/,
    ],
    [
      'drift check on a host no play runs on',
      1,
      run('--limit', 'hv3', '--check', '--detailed-exitcode'),
      /error: no play selects a host \(with --limit hv3\): nothing would be checked/,
    ],
    ['drift check with a --limit matching nothing', 1, run('--limit', 'nomatch', '--check', '--detailed-exitcode'), /selects none of the inventory's 3 hosts/],
  ])('%s → exit %i, nothing contacted', async (_name, code, args, message) => {
    const r = await fx.run(args);
    expect(r.code, show(args, r)).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.contacted).toBe(0);
  });

  it('a valid drift check does contact the hosts (the listener counts them) and reports them unreachable: 4, not 0', async () => {
    const args = run('--check', '--detailed-exitcode', '--output', 'json');
    const r = await fx.run(args);
    expect(r.code, show(args, r)).toBe(4);
    expect(r.contacted).toBeGreaterThanOrEqual(2);
  });
});

describe('help and version', () => {
  it.each([
    [['--help'], 0, /Exit codes: 0 ok · 1 invalid input or usage/],
    [['run', '--help'], 0, /--forks <n>\s+hosts worked on at once \(1-10000\)/],
    [['--version'], 0, /^\d+\.\d+\.\d+\n$/],
  ])('%j → %i', async (args, code, text) => {
    const r = await fx.run(args);
    expect(r.code, show(args, r)).toBe(code);
    expect(r.stdout).toMatch(text);
  });

  it('no command at all: the help on stderr, exit 1', async () => {
    const r = await fx.run([]);
    expect(r.code, show([], r)).toBe(1);
    expect(r.stderr).toMatch(/^Usage: kvmnet/);
  });
});
