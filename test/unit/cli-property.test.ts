// The command line, fuzzed like the loaders: random option names and values for every command, run
// through the built CLI as a subprocess. Whatever it is given, kvmnet never reports an internal error
// (nor prints a stack trace), always exits with a code docs/exit-codes.md lists, and contacts no host when it
// refuses the input (exit 1). Every inventory host is a local listener that counts connections; the
// only contact allowed is a valid `run` or `facts`, which finds the host unreachable (exit code with 4).
//
// Each case costs a Node start-up (~0.1-0.3 s): the number of runs is bounded for CI, and two command
// lines run at once, each against its own working directory and listener. KVMNET_CLI_PROPERTY_RUNS
// raises the number of runs locally.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, readmeExitCodes, show } from './support/cli.js';
import { cliFixture, type CliFixture } from './support/cli-fixture.js';

const RUNS = Number(process.env.KVMNET_CLI_PROPERTY_RUNS ?? 40);
const PARALLEL = 2;

const COMMANDS = ['run', 'validate', 'facts', 'inventory', 'schema', 'doc', 'lab up', 'lab down', 'lab status'] as const;

/** The options of every command (each command also gets the others': a misplaced option must be refused cleanly too). */
const OPTIONS = [
  '-i',
  '--inventory',
  '-C',
  '--check',
  '--dry-run',
  '-D',
  '--diff',
  '-l',
  '--limit',
  '-f',
  '--forks',
  '-e',
  '--extra-vars',
  '-t',
  '--tags',
  '--skip-tags',
  '-o',
  '--output',
  '-v',
  '-vv',
  '--verbose',
  '--detailed-exitcode',
  '--connect-timeout',
  '--command-timeout',
  '--force-handlers',
  '--wait-lock',
  '--list-tasks',
  '--list-hosts',
  '--list',
  '--graph',
  '--host',
  '-n',
  '--hosts',
  '--dir',
  '--prefix',
  '-h',
  '--help',
  '-V',
  '--version',
  '--',
  '-',
  '-x',
  '--no-check',
  '--limit=',
  '--forks=0',
  '--forks=3',
  '--tags=',
  '--output=json',
  '-Cf',
  '-Dl',
  '-ehv=1',
  '-f0',
  '-ijunk',
];

/** Values that reach the parsers and loaders: valid ones, boundary ones, and the wrong kind. */
const VALUES = [
  'inventory.yaml',
  'missing.yaml',
  'empty.yaml',
  'site.yaml',
  'bad.yaml',
  'vars.yaml',
  'ghost.invalid,',
  '.',
  'home',
  'all',
  'rack1',
  'rack2',
  'hv1',
  'hv3',
  'nomatch',
  'rack1:!hv2',
  'all:!all',
  '!all',
  '!',
  'hv1:&',
  '&rack1',
  '~hv[12]',
  '~[',
  'hv[',
  'rack1[0]',
  'rack1[5:9]',
  '@hv1.retry',
  '@empty.retry',
  '@missing.retry',
  '',
  ' ',
  ',',
  ':',
  '0',
  '1',
  '2',
  '-1',
  '1.5',
  '.5',
  '1e3',
  '0x10',
  '86400',
  '86401',
  '10001',
  '201',
  'NaN',
  'Infinity',
  'abc',
  'json',
  'text',
  'xml',
  'net',
  'addr',
  'nosuch',
  'always',
  'never',
  'net,addr',
  'k=v',
  'mtu=9000',
  'k="a b"',
  '@vars.yaml',
  '@missing.yaml',
  '{"a": 1}',
  '{"a":',
  '[1]',
  'kvl',
  'A-B',
  'abcdefg',
  'x'.repeat(300),
  'ünïcode',
  '$(touch pwned)',
  "'; rm -rf x",
  '%s%n',
  '\\',
  '--',
  '-',
];

// No '/' or '..' (`lab down --dir` must never reach a real lab) and no ',' (a comma list would name a
// host to resolve and contact; the pool's `ghost.invalid,` is the one that does, and it fails fast).
const safeString = fc.string({ maxLength: 12 }).map((s) => s.replace(/[/,]/g, '_').replace(/\.\./g, '_'));
const value = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...VALUES) }, { weight: 1, arbitrary: safeString });
const optionName = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...OPTIONS) }, { weight: 1, arbitrary: safeString.map((s) => `--${s}`) });
const token = fc.oneof(
  fc.tuple(optionName, value).map(([o, v]) => [o, v]),
  optionName.map((o) => [o]),
  value.map((v) => [v]),
);

/** `lab up` with valid options would build a lab: it always ends with an invalid host count. */
const INVALID_LAB_COUNT = ['0', '201', 'x', '-1', '', '1.5'];

const commandLine = fc
  .tuple(
    fc.oneof({ weight: 8, arbitrary: fc.constantFrom<string>(...COMMANDS) }, { weight: 1, arbitrary: safeString }),
    fc.oneof(fc.constantFrom('site.yaml', 'bad.yaml', 'empty.yaml', 'missing.yaml', ''), safeString),
    fc.array(token, { maxLength: 6 }),
    fc.constantFrom(...INVALID_LAB_COUNT),
  )
  .map(([command, playbook, tokens, labCount]) => {
    const head = command.split(' ');
    const positional = command === 'run' || command === 'validate' ? [playbook] : [];
    // A token 'up' could otherwise turn `lab` + random words into a real `lab up`.
    const args = [...head, ...positional, ...tokens.flat().map((t) => (t === 'up' ? 'upp' : t))];
    return { command, args: command === 'lab up' ? [...args, '--hosts', labCount] : args };
  });

/** Near-valid lines: the command's own options with plausible values, so that valid paths (and contact) are explored too. */
const pick = (...xs: string[]) => fc.constantFrom(...xs);
const OWN_OPTIONS: Record<string, fc.Arbitrary<string[]>[]> = {
  run: [
    fc.constant(['--check']),
    fc.constant(['--diff']),
    fc.constant(['--list-hosts']),
    fc.constant(['--list-tasks']),
    fc.constant(['--detailed-exitcode']),
    fc.constant(['-v']),
    fc.constant(['--force-handlers']),
    fc.tuple(pick('--forks', '-f'), pick('1', '5', '0', '1e3')),
    fc.tuple(pick('--limit', '-l'), pick('hv1', 'rack1', 'hv3', 'nomatch', '@hv1.retry', 'all:!hv1')),
    fc.tuple(pick('--tags', '--skip-tags'), pick('net', 'addr', 'nosuch', 'always')),
    fc.tuple(pick('--output', '-o'), pick('json', 'text')),
    fc.tuple(pick('-e', '--extra-vars'), pick('k=v', '@vars.yaml', '{"mtu": 9000}', '{"a":')),
    fc.tuple(pick('--connect-timeout', '--command-timeout', '--wait-lock'), pick('1', '0.5', '0', '-1')),
  ],
  validate: [fc.tuple(pick('--limit'), pick('hv1', 'rack1', 'nomatch')), fc.tuple(pick('-e'), pick('k=v', '@vars.yaml', '@missing.yaml'))],
  facts: [
    fc.tuple(pick('--limit'), pick('hv1', 'rack2', 'nomatch')),
    fc.tuple(pick('--forks'), pick('1', '2', '0')),
    fc.tuple(pick('--output'), pick('json', 'text')),
  ],
  inventory: [fc.constant(['--list']), fc.constant(['--graph']), fc.tuple(pick('--host'), pick('hv1', 'hv9'))],
  schema: [fc.constant([])],
  doc: [fc.constant([]), fc.constant(['ensure_bond']), fc.constant(['command']), fc.constant(['ensure_brige']), fc.constant(['nosuch', 'extra'])],
  'lab down': [fc.tuple(pick('--dir'), pick('.lab', 'home', 'nolab'))],
  'lab status': [fc.tuple(pick('--dir'), pick('.lab', 'home', 'nolab'))],
  'lab up': [fc.tuple(pick('--dir'), pick('nolab')), fc.tuple(pick('--prefix'), pick('kvq', 'A'))],
};
const nearValidLine = fc.constantFrom(...COMMANDS).chain((command) =>
  fc
    .tuple(fc.constant(command), fc.array(fc.oneof(...OWN_OPTIONS[command]!), { maxLength: 3 }), fc.constantFrom(...INVALID_LAB_COUNT))
    .map(([c, opts, labCount]) => {
      const head = [...c.split(' '), ...(c === 'run' || c === 'validate' ? ['site.yaml'] : [])];
      const inv = c.startsWith('lab') || c === 'schema' || c === 'doc' ? [] : ['-i', 'inventory.yaml'];
      const args = [...head, ...inv, ...opts.flat()];
      return { command: c, args: c === 'lab up' ? [...args, '--hosts', labCount] : args };
    }),
);
const anyLine = fc.oneof(commandLine, nearValidLine);

const CONTACTING = new Set(['run', 'facts']);
let fixtures: CliFixture[] = [];
let readmeCodes: number[] = [];

beforeAll(async () => {
  assertBuilt();
  readmeCodes = readmeExitCodes();
  fixtures = await Promise.all(Array.from({ length: PARALLEL }, () => cliFixture()));
});
afterAll(async () => {
  await Promise.all(fixtures.map((f) => f.close()));
});

describe('the command line, fuzzed', () => {
  it(
    `never an internal error, always a README exit code, no contact on invalid input (${RUNS} × ${PARALLEL} command lines)`,
    { timeout: 600_000 },
    async () => {
      const started = Date.now();
      let lines = 0;
      const codes = new Map<number | null, number>();
      await fc.assert(
        fc.asyncProperty(fc.array(anyLine, { minLength: PARALLEL, maxLength: PARALLEL }), async (cases) => {
          await Promise.all(
            cases.map(async ({ command, args }, i) => {
              const r = await fixtures[i]!.run(args);
              lines++;
              codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
              const why = show(args, r) + `\n(contacted ${r.contacted})`;
              expect(readmeCodes, why).toContain(r.code);
              expect(r.code, why).not.toBe(70);
              expect(r.stderr, why).not.toMatch(/internal error/);
              expect(r.stderr, why).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/);
              if (r.code === 1) expect(r.contacted, why).toBe(0);
              if (r.contacted > 0) {
                expect(CONTACTING.has(command), why).toBe(true);
                expect(r.code! & 4, why).toBe(4);
              }
            }),
          );
        }),
        { numRuns: RUNS },
      );
      console.log(
        `cli property: ${lines} command lines in ${((Date.now() - started) / 1000).toFixed(1)} s; exit codes ${JSON.stringify(Object.fromEntries(codes))}`,
      );
    },
  );
});
