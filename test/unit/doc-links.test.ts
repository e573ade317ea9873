// Every relative link in README.md, ARCHITECTURE.md and docs/**/*.md resolves — the file exists,
// and so does the #anchor (a heading, slugged as GitHub does) — and no document points outside the
// repository. Repository files named in backticks (`src/run/shard.ts`) must exist too, so a page
// cannot keep naming a file that was renamed or removed.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './support/cli.js';

function markdownFiles(dir: string): string[] {
  return readdirSync(join(REPO, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? markdownFiles(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : [],
  );
}

const DOCS = ['README.md', 'ARCHITECTURE.md', ...markdownFiles('docs')];

/** The text outside fenced code blocks, line by line (numbers kept for messages). */
function proseLines(text: string): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  let fenced = false;
  text.split('\n').forEach((line, i) => {
    if (/^\s*```/.test(line)) fenced = !fenced;
    else if (!fenced) out.push([i + 1, line]);
  });
  return out;
}

/** GitHub's heading anchors: the rendered text lower-cased, punctuation dropped, spaces to dashes; repeats get -1, -2… */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const [, line] of proseLines(markdown)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const text = m[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/`/g, '');
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  return out;
}

interface Link {
  file: string;
  line: number;
  target: string;
}

function links(file: string): Link[] {
  const out: Link[] = [];
  for (const [line, text] of proseLines(readFileSync(join(REPO, file), 'utf8'))) {
    const withoutCode = text.replace(/`[^`]*`/g, '');
    for (const m of withoutCode.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) out.push({ file, line, target: m[1]! });
  }
  return out;
}

function problem(link: Link): string | undefined {
  const { file, target } = link;
  if (/^(https?|mailto):/.test(target)) return undefined;
  if (/^[a-z]+:/.test(target) || target.startsWith('/')) return 'not a relative link';
  const [path, anchor] = target.split('#') as [string, string | undefined];
  const resolved = path ? resolve(REPO, dirname(file), decodeURIComponent(path)) : join(REPO, file);
  const rel = relative(REPO, resolved);
  if (rel.startsWith('..')) return `points outside the repository (${rel})`;
  if (!existsSync(resolved)) return `${rel} does not exist`;
  if (anchor !== undefined) {
    if (!resolved.endsWith('.md')) return `#${anchor} in a file that is not Markdown`;
    if (!anchors(readFileSync(resolved, 'utf8')).has(anchor)) return `${rel} has no heading #${anchor}`;
  }
  return undefined;
}

// A repository path in backticks: a top-level directory of the repo and a file name with an extension.
const REPO_PATH = /`((?:\.ci|bench|bin|completion|docs|examples|inventory|playbooks|schema|scripts|src|templates|test)\/[^`\s*<>{}…]+\.[a-z0-9]+)`/g;

describe('documentation links', () => {
  it('finds the documents and their links', () => {
    expect(DOCS.length).toBeGreaterThan(12);
    expect(DOCS.flatMap(links).length).toBeGreaterThan(50);
    expect(DOCS.flatMap((f) => [...readFileSync(join(REPO, f), 'utf8').matchAll(REPO_PATH)]).length).toBeGreaterThan(40);
  });

  it.each(DOCS)('%s: every relative link resolves, anchors included', (file) => {
    const bad = links(file).flatMap((l) => {
      const p = problem(l);
      return p ? [`${file}:${l.line}: (${l.target}) ${p}`] : [];
    });
    expect(bad).toEqual([]);
  });

  it.each(DOCS)('%s: names no file outside the repository', (file) => {
    const text = readFileSync(join(REPO, file), 'utf8');
    const bad: string[] = [];
    text.split('\n').forEach((line, i) => {
      // A relative path climbing out of the repository, or a path of this machine's workspace.
      for (const m of line.matchAll(/(?:^|[\s`("'])((?:\.\.\/)+[^\s`)"']*)/g)) {
        if (relative(REPO, resolve(REPO, dirname(file), m[1]!)).startsWith('..')) bad.push(`${file}:${i + 1}: ${m[1]}`);
      }
      if (/\/work\/|\/home\/[a-z]/.test(line)) bad.push(`${file}:${i + 1}: ${line.trim()}`);
    });
    expect(bad).toEqual([]);
  });

  it.each(DOCS)('%s: every repository file it names in backticks exists', (file) => {
    const text = readFileSync(join(REPO, file), 'utf8');
    const missing = [...text.matchAll(REPO_PATH)].map((m) => m[1]!).filter((p) => !existsSync(join(REPO, p)) || !statSync(join(REPO, p)).isFile());
    expect(missing).toEqual([]);
  });
});

describe('the checks catch what they are for', () => {
  it('slugs headings as GitHub does', () => {
    expect([
      ...anchors(
        "# A\n## Pictures: `kvmnet graph` and the HTML run report\n## Guests on VLANs: libvirt's `<vlan>` and portgroups\n## A\n```\n# not a heading\n```\n",
      ),
    ]).toEqual(['a', 'pictures-kvmnet-graph-and-the-html-run-report', 'guests-on-vlans-libvirts-vlan-and-portgroups', 'a-1']);
  });
  it('refuses a missing file, a missing anchor and a link out of the repository', () => {
    expect(problem({ file: 'docs/running.md', line: 1, target: 'nope.md' })).toMatch(/does not exist/);
    expect(problem({ file: 'docs/running.md', line: 1, target: 'fleets.md#no-such-heading' })).toMatch(/has no heading/);
    expect(problem({ file: 'docs/running.md', line: 1, target: '../../shared/DESIGN.md' })).toMatch(/outside the repository/);
    expect(problem({ file: 'docs/running.md', line: 1, target: 'fleets.md#shards-past-one-controller' })).toBeUndefined();
  });
  it('finds repository paths in backticks, and only those', () => {
    const found = [
      ...'see `src/run/shard.ts`, `test/fixtures/facts/nat-*`, `src/tasks/<type>.ts`, `/etc/kvmnet.conf` and `playbooks/bridged.yaml`'.matchAll(REPO_PATH),
    ].map((m) => m[1]);
    expect(found).toEqual(['src/run/shard.ts', 'playbooks/bridged.yaml']);
  });
});
