import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { mapStack, redactArgs, shellWord } from '../../src/cli/internal-error.js';
import { REPO, assertBuilt, runCli, show } from './support/cli.js';

describe('the command line in a bug report has no secrets', () => {
  it.each([
    [
      ['run', 'pb.yaml', '-e', 'ssh_password=x'],
      ['run', 'pb.yaml', '-e', '<redacted>'],
    ],
    [
      ['run', 'pb.yaml', '--extra-vars', '{"a":1}'],
      ['run', 'pb.yaml', '--extra-vars', '<redacted>'],
    ],
    [
      ['run', 'pb.yaml', '--extra-vars={"a":1}'],
      ['run', 'pb.yaml', '--extra-vars=<redacted>'],
    ],
    [
      ['run', 'pb.yaml', '-ek=v'],
      ['run', 'pb.yaml', '-e<redacted>'],
    ],
    [
      ['run', 'pb.yaml', '-Ce', 'k=v', '-l', 'hv1'],
      ['run', 'pb.yaml', '-Ce', '<redacted>', '-l', 'hv1'],
    ],
    [
      ['run', 'pb.yaml', '-CDek=v'],
      ['run', 'pb.yaml', '-CDe<redacted>'],
    ],
    [
      ['run', 'pb.yaml', '--become-password=x'],
      ['run', 'pb.yaml', '--become-password=<redacted>'],
    ],
    [
      ['run', 'pb.yaml', 'ssh_passphrase=abc'],
      ['run', 'pb.yaml', '<redacted>'],
    ],
    [
      ['run', 'pb.yaml', '-e'],
      ['run', 'pb.yaml', '-e'],
    ],
    [
      ['run', 'pb.yaml', '-i', 'inventory', '-l', 'rack1:!hv2*', '-f', '5'],
      ['run', 'pb.yaml', '-i', 'inventory', '-l', 'rack1:!hv2*', '-f', '5'],
    ],
  ])('%j', (args, expected) => {
    expect(redactArgs(args)).toEqual(expected);
  });

  it.each([
    ['plain', 'plain'],
    ['rack1:!hv2*', "'rack1:!hv2*'"],
    ["it's", "'it'\\''s'"],
    ['', "''"],
  ])('shell word %j → %s', (word, quoted) => {
    expect(shellWord(word)).toBe(quoted);
  });
});

describe('an internal error from the built CLI', () => {
  beforeAll(assertBuilt);
  const preload = ['--import', join(REPO, 'test/unit/support/crash-preload.mjs')];

  it('says it is a bug and how to report it, exit 70, frames in the TypeScript sources, secrets removed', async () => {
    const args = [
      'run',
      'playbooks/bridged.yaml',
      '-i',
      'inventory',
      '-e',
      'ssh_password=hunter2',
      '--extra-vars={"become_password":"s3cret"}',
      '--list-hosts',
    ];
    const r = await runCli(args, { nodeArgs: preload, env: { KVMNET_TEST_CRASH_ON: '^play:' } });
    expect(r.code, show(args, r)).toBe(70);
    expect(r.stderr).toMatch(/^internal error: this is a bug in kvmnet/m);
    expect(r.stderr).toMatch(/kvmnet \d+\.\d+\.\d+ · node v20/);
    expect(r.stderr).toContain(`command: kvmnet run playbooks/bridged.yaml -i inventory -e '<redacted>' '--extra-vars=<redacted>' --list-hosts`);
    expect(r.stderr).toContain('TypeError: simulated bug');
    expect(r.stderr).toMatch(/src\/cli\/run-command\.ts:\d+:\d+/);
    expect(r.stderr).toMatch(/src\/cli\/main\.ts:\d+:\d+/);
    expect(r.stderr).not.toMatch(/dist\/bundle/);
    expect(r.stderr + r.stdout).not.toMatch(/hunter2|s3cret/);
  });

  it.each([
    ['thrown in the command', {}],
    ['thrown from a callback, outside any command', { KVMNET_TEST_CRASH_LATER: '1' }],
  ])('a bug %s is reported as one, never as a bare Node trace and exit 1', async (_name, env) => {
    const r = await runCli(['schema'], { nodeArgs: preload, env: { KVMNET_TEST_CRASH_ON: '\\$schema', ...env } });
    expect(r.code, show(['schema'], r)).toBe(70);
    expect(r.stderr).toMatch(/^internal error: this is a bug in kvmnet/);
    expect(r.stderr).toContain('command: kvmnet schema');
    expect(r.stderr).toContain('TypeError: simulated bug');
  });

  it('mapStack leaves frames without a source map alone', () => {
    const stack = 'Error: x\n    at f (file:///nowhere/a.js:1:2)\n    at node:internal/x:3:4';
    expect(mapStack(stack, REPO)).toBe(stack);
  });
});
