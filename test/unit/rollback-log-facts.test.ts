// `kvmnet facts` shows the host's rollback log: parsed from the facts exec captured on a lab host
// after real rollbacks (test/fixtures/facts/rollback-log-fixtures.md: one reported by its run,
// one whose controller was killed, not reported yet), shown in the text and JSON views; and the
// fragment only reads the log (a run reports the new records once, through its lock preamble).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_FRAGMENTS, selectFragments } from '../../src/facts/needs.js';
import { parseFacts } from '../../src/facts/parse.js';
import { ROLLBACK_LOG } from '../../src/facts/lock-script.js';
import { rollbackLogFacts } from '../../src/facts/rollback-log.js';
import { factsSummary, factsText } from '../../src/report/facts-view.js';
import type { Colors } from '../../src/report/format.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/facts/${name}`, import.meta.url), 'utf8');
const stdout = fixture('rollback-log.stdout');
/** The host's two files, read with `cat` in the same capture. */
const files = { reported: fixture('rollback-log.reported'), pending: fixture('rollback-log.pending') };
const withLog = selectFragments([...ALL_FRAGMENTS, rollbackLogFacts]);
const plain: Colors = new Proxy({} as Colors, { get: () => (s: string) => s });
const yellow: Colors = new Proxy({} as Colors, { get: (_, k) => (s: string) => (k === 'yellow' ? `<y>${s}</y>` : s) });

/** A record line of the host's log as the facts should hold it. */
const record = (line: string, reported: boolean) => {
  const [at = '', id = '', ...what] = line.split('\t');
  return { at, id, what: what.join('\t'), reported };
};
const lines = (text: string) => text.split('\n').filter(Boolean);

describe("the host's rollback log in kvmnet facts", () => {
  it('parses every record of the captured log, reported ones first, in the host’s order', () => {
    const f = parseFacts(stdout, '', withLog).facts;
    const want = [...lines(files.reported).map((l) => record(l, true)), ...lines(files.pending).map((l) => record(l, false))];
    expect(want.map((r) => r.reported)).toEqual([true, false]);
    expect(f.rollbackLog).toEqual(want);
    expect(f.rollbackLog![0]!.what).toMatch(/^command task '.*' by kvmnet pid \d+ .*; restored after \d+ s without confirmation$/);
  });

  it('JSON: rollbacks as at, id, what, reported; null when the fragment was not read', () => {
    const f = parseFacts(stdout, '', withLog).facts;
    expect(factsSummary(f).rollbacks).toEqual(f.rollbackLog);
    expect(factsSummary(parseFacts(stdout, '', selectFragments(ALL_FRAGMENTS)).facts).rollbacks).toBeNull();
  });

  it('text: a table of when, state, id and what was restored, the new ones marked', () => {
    const f = parseFacts(stdout, '', withLog).facts;
    const text = factsText('hv1', f, plain);
    const at = text.indexOf("  rollbacks (this host's timers since boot, /run/kvmnet/rollbacks.log):");
    expect(at).toBeGreaterThan(0);
    const [head, ...rows] = text.slice(at + 1, at + 4);
    expect(head).toMatch(/^ {4}at\s+state\s+id\s+restored \(what, why\)$/);
    for (const [i, r] of f.rollbackLog!.entries()) expect(rows[i]).toMatch(new RegExp(`^ {4}${r.at}\\s+${r.reported ? 'reported' : 'new'}\\s+${r.id}\\s+`));
    expect(rows.map((r, i) => r.endsWith(f.rollbackLog![i]!.what))).toEqual([true, true]);
    const colored = factsText('hv1', f, yellow);
    expect(colored.filter((l) => l.startsWith('<y>'))).toEqual([`<y>${rows[1]}</y>`]);
  });

  it('nothing shown when the log is empty or absent', () => {
    const empty = stdout.replace(/@@kvmnet:rollback-log@@[\s\S]*?(?=@@kvmnet:virsh@@)/, '@@kvmnet:rollback-log@@\n@@kvmnet:rollback-log-unreported@@\n');
    const f = parseFacts(empty, '', withLog).facts;
    expect(f.rollbackLog).toEqual([]);
    expect(factsText('hv1', f, plain).join('\n')).not.toContain('rollbacks');
  });

  it('the fragment only reads: run on copies of the host’s files, it prints the same records and leaves the files as they were', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvmnet-rblog-'));
    try {
      const log = join(dir, 'rollbacks.log');
      writeFileSync(`${log}.reported`, files.reported);
      writeFileSync(log, files.pending);
      const r = spawnSync('sh', ['-c', rollbackLogFacts.shell!.replaceAll(ROLLBACK_LOG, log)], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(`${log}.reported`, 'utf8')).toBe(files.reported);
      expect(readFileSync(log, 'utf8')).toBe(files.pending);
      const section = /@@kvmnet:rollback-log@@[\s\S]*?(?=@@kvmnet:virsh@@)/.exec(stdout)![0];
      expect(r.stdout).toBe(section);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
