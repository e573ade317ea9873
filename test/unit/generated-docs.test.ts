// The generated documentation — docs/tasks/*.md, kvmnet.1, completion/* — is current (like
// schema/playbook.schema.json), complete (every field described, every example valid), and what
// `kvmnet doc`, `man` and bash actually show.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parsePlaybook } from '../../src/config/playbook.js';
import { generatedFiles } from '../../src/docs/generated-files.js';
import { examplePlaybook, taskDoc } from '../../src/docs/task-reference.js';
import { taskNotes } from '../../src/docs/task-notes.js';
import { taskTypes } from '../../src/tasks/registry.js';
import { assertBuilt, REPO, runCli, show } from './support/cli.js';

const files = generatedFiles(REPO);

describe('the committed generated docs are current (regenerate with `npm run docs`)', () => {
  it.each([...files.keys()])('%s', (path) => {
    const committed = existsSync(join(REPO, path)) ? readFileSync(join(REPO, path), 'utf8') : '(missing)';
    expect(committed, `${path} is stale: run \`npm run docs\` and commit the result`).toBe(files.get(path));
  });
  it('docs/tasks holds a page for each task type and nothing else', () => {
    const pages = readdirSync(join(REPO, 'docs/tasks'))
      .filter((f) => f.endsWith('.md'))
      .sort();
    expect(pages).toEqual(['README.md', ...taskTypes.map((t) => `${t}.md`)].sort());
  });
});

describe('the task reference is complete', () => {
  it.each(taskTypes)('%s: every field has a description, and every note names a real field', (type) => {
    const doc = taskDoc(type);
    expect(doc.fields.length).toBeGreaterThan(0);
    expect(
      doc.fields.filter((f) => !f.description).map((f) => f.path),
      'fields without a description (add .meta({ description }) to the schema, or a line to src/docs/task-notes.ts)',
    ).toEqual([]);
    const paths = new Set(doc.fields.map((f) => f.path));
    expect(
      Object.keys(taskNotes[type].fields).filter((p) => !paths.has(p)),
      'notes for fields the schema does not have',
    ).toEqual([]);
  });
  it.each(taskTypes)('%s: the example loads as a task of that type, without a problem', (type) => {
    const doc = taskDoc(type);
    const { playbook, diagnostics } = parsePlaybook(join(REPO, 'playbooks', 'example.yaml'), examplePlaybook(doc));
    expect(diagnostics).toEqual([]);
    expect(playbook!.plays[0]!.tasks.map((t) => t.type)).toEqual([type]);
  });
  it('a field the schema has shows with its type, default and allowed values', () => {
    const state = taskDoc('ensure_bridge').fields.find((f) => f.path === 'state')!;
    expect(state).toMatchObject({ type: 'string', required: false, default: 'present', allowed: 'present | absent' });
    const tags = taskDoc('ensure_libvirt_net').fields.find((f) => f.path === 'portgroups[].vlan.tags')!;
    expect(tags).toMatchObject({ type: 'list of integer', required: true, allowed: 'at least 1; each 1–4094' });
  });
});

describe('kvmnet doc', () => {
  beforeAll(assertBuilt);
  it('lists every task type with its summary', async () => {
    const r = await runCli(['doc']);
    expect(r.code, show(['doc'], r)).toBe(0);
    for (const t of taskTypes) expect(r.stdout).toMatch(new RegExp(`^${t} +${taskNotes[t].summary.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'));
  });
  it.each(taskTypes)('kvmnet doc %s: every field, and the example', async (type) => {
    const r = await runCli(['doc', type]);
    expect(r.code, show(['doc', type], r)).toBe(0);
    expect(r.stdout.startsWith(type.toUpperCase())).toBe(true);
    for (const f of taskDoc(type).fields) expect(r.stdout).toContain(`  ${f.path}  (`);
    expect(r.stdout).toContain(`- ${taskNotes[type].example}`);
  });
  it('an unknown type is a usage error with a suggestion, exit 1', async () => {
    const r = await runCli(['doc', 'ensure_brige']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no task type 'ensure_brige': did you mean 'ensure_bridge'?");
    expect(r.stdout).toBe('');
  });
});

describe('man ./kvmnet.1', () => {
  it('renders without a warning and shows every command and task type', () => {
    // --warnings=w: every groff warning (a bad escape, an unknown macro) goes to stderr.
    const r = spawnSync('man', ['--warnings=w', '-l', join(REPO, 'kvmnet.1')], {
      encoding: 'utf8',
      env: { ...process.env, MANWIDTH: '100', MANPAGER: 'cat', PAGER: 'cat', LC_ALL: 'C.UTF-8' },
    });
    expect(r.error, 'man is not installed (apt-get install man-db groff-base; .ci/run does it)').toBeUndefined();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const c of [
      'kvmnet run <playbook>',
      'kvmnet validate <playbook>',
      'kvmnet merge <files...>',
      'kvmnet doc [type]',
      'kvmnet lab up',
      'EXIT STATUS',
      '130 / 143',
    ])
      expect(r.stdout).toContain(c);
    for (const t of taskTypes) expect(r.stdout).toMatch(new RegExp(`^ +${t}$`, 'm'));
  });
  it('the check fails on a page with a roff mistake', () => {
    const bad = '.TH X 1\n.SH NAME\nx \\q y\n.BOGUS\n';
    const r = spawnSync('man', ['--warnings=w', '-l', '-'], { input: bad, encoding: 'utf8', env: { ...process.env, MANPAGER: 'cat', PAGER: 'cat' } });
    expect(r.stderr).toMatch(/warning/);
  });
});

/** A directory with playbooks, a failed run's .retry file, a saved plan and a subdirectory. */
function playbookDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kvmnet-complete-'));
  for (const f of ['site.yaml', 'site.yml', 'site.retry', 'site.plan.json']) writeFileSync(join(dir, f), '');
  mkdirSync(join(dir, 'sub'));
  return dir;
}

describe('bash completion (completion/kvmnet.bash)', () => {
  /** COMPREPLY of the completion function for a command line whose last word is being completed. */
  const complete = (...words: string[]): string[] => {
    const script = `source ${JSON.stringify(join(REPO, 'completion/kvmnet.bash'))}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
_kvmnet; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = spawnSync('bash', ['--norc', '--noprofile', '-c', script], { encoding: 'utf8', cwd: REPO });
    expect(r.stderr).toBe('');
    return r.stdout.split('\n').filter(Boolean);
  };
  it('is registered for kvmnet', () => {
    const r = spawnSync('bash', ['--norc', '-c', `source completion/kvmnet.bash; complete -p kvmnet`], { encoding: 'utf8', cwd: REPO });
    expect(r.stdout.trim()).toBe('complete -F _kvmnet kvmnet');
  });
  it('completes subcommands', () => {
    expect(complete('kvmnet', '')).toEqual(['run', 'validate', 'inventory', 'facts', 'graph', 'apply', 'report', 'merge', 'schema', 'doc', 'lab']);
    expect(complete('kvmnet', 'v')).toEqual(['validate']);
    expect(complete('kvmnet', '-V', 'fa')).toEqual(['facts']);
    expect(complete('kvmnet', 'lab', '')).toEqual(['up', 'down', 'status']);
  });
  it('completes task names after doc', () => {
    expect(complete('kvmnet', 'doc', '')).toEqual(taskTypes);
    expect(complete('kvmnet', 'doc', 'ensure_b')).toEqual(['ensure_bond', 'ensure_bridge']);
    expect(complete('kvmnet', 'doc', 'com')).toEqual(['command']);
  });
  it("completes a command's options and their choices, skipping option values", () => {
    expect(complete('kvmnet', 'run', '--dry')).toEqual(['--dry-run']);
    expect(complete('kvmnet', 'run', '-i', 'inventory', '--out')).toEqual(['--output', '--out']);
    expect(complete('kvmnet', 'run', '-o', '')).toEqual(['text', 'json']);
    expect(complete('kvmnet', 'lab', 'up', '--kernel', '')).toEqual(['netns', 'vm']);
    // The value of -l is not a subcommand, even when it is spelt like one.
    expect(complete('kvmnet', 'facts', '-l', 'lab', '--for')).toEqual(['--forks']);
  });
  it('completes file names for a playbook', () => {
    expect(complete('kvmnet', 'run', 'playbooks/bri')).toEqual(['playbooks/bridged.yaml']);
  });
  it("offers a playbook's YAML files and directories, not a failed run's .retry file or a saved plan", () => {
    const dir = playbookDir();
    try {
      expect(complete('kvmnet', 'run', `${dir}/`).sort()).toEqual([`${dir}/site.yaml`, `${dir}/site.yml`, `${dir}/sub`]);
      expect(complete('kvmnet', 'validate', `${dir}/si`).sort()).toEqual([`${dir}/site.yaml`, `${dir}/site.yml`]);
      // Other file arguments take any file.
      expect(complete('kvmnet', 'apply', `${dir}/site.`).sort()).toEqual([`${dir}/site.plan.json`, `${dir}/site.retry`, `${dir}/site.yaml`, `${dir}/site.yml`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('docs/playbooks.md', () => {
  it('links the reference page of every task type', () => {
    const page = readFileSync(join(REPO, 'docs/playbooks.md'), 'utf8');
    expect(taskTypes.filter((t) => !page.includes(`](tasks/${t}.md)`))).toEqual([]);
  });
});

describe('zsh completion (completion/_kvmnet), in a real interactive zsh', () => {
  /** The matches zsh's completion system offers for a command line (TAB at its end). */
  const complete = (line: string): string[] => {
    const dir = mkdtempSync(join(tmpdir(), 'kvmnet-zsh-'));
    try {
      const out = join(dir, 'matches');
      const r = spawnSync('zsh', ['-f', join(REPO, 'test/unit/support/zsh-complete.zsh'), join(REPO, 'completion'), line, out], {
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(r.error, 'zsh is not installed (apt-get install zsh; .ci/run does it)').toBeUndefined();
      const lines = readFileSync(out, 'utf8').split('\n').filter(Boolean);
      // What follows the marker is the harness's teardown: the pty deleted under the inner zsh can
      // make it say "error on TTY read" (seen once in CI under load).
      const done = lines.indexOf('<done>');
      expect(done, `the completion did not finish for '${line}': ${lines.join(' | ')}`).toBeGreaterThanOrEqual(0);
      return lines.slice(0, done);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  it('parses', () => {
    const r = spawnSync('zsh', ['-n', join(REPO, 'completion/_kvmnet')], { encoding: 'utf8' });
    expect(r.error).toBeUndefined();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
  it('completes subcommands, task names, options and their choices', () => {
    expect(complete('kvmnet ')).toEqual(['run', 'validate', 'inventory', 'facts', 'graph', 'apply', 'report', 'merge', 'schema', 'doc', 'lab']);
    expect(complete('kvmnet lab ')).toEqual(['up', 'down', 'status']);
    expect(complete('kvmnet doc ')).toEqual(taskTypes);
    expect(complete('kvmnet doc ensure_b')).toEqual(['ensure_bond', 'ensure_bridge']);
    expect(complete('kvmnet run site.yaml -o ')).toEqual(['text', 'json']);
    expect(complete('kvmnet run --che')).toEqual(['--check']);
    const dir = playbookDir();
    try {
      expect(complete(`kvmnet run ${dir}/`).sort()).toEqual(['site.yaml', 'site.yml', 'sub']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
