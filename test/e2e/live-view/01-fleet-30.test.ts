// The live view at fleet scale (issue 20), driven the way a user sees it: the real CLI in a tmux
// terminal of 110×24, against its OWN lab of 30 hypervisors (the shared lab has 3), screens
// captured while the hosts work. A planted failure on hv7, a resize to 15 rows half-way.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { labPaths } from '../../../src/lab/index.js';
import { KVMNET_BIN, REPO, kvmnet, show } from '../exec.js';
import { leftovers, pickPrefix } from '../global-setup.js';
import { sleep } from '../helpers.js';

const HOSTS = 30;
const STEPS = 10;
const TITLE = 'Fleet-scale live view';
const TOTALS = new RegExp(`done \\d+/${HOSTS} · ok \\d+ · changed \\d+ · failed \\d+ · unreachable \\d+`);
const FAILURE = /✖ hv7: failed: planted failure: command failed \(rc=1\): planted on purpose/;

// hvN sleeps N × 30 ms per step: fast hosts finish early, slow ones spread over the steps, so the
// view goes through every shape (hosts grouped by task, one line each) with a failure on screen.
const playbook = [
  `- name: ${TITLE}`,
  '  hosts: all',
  '  tasks:',
  ...Array.from({ length: STEPS }, (_, i) => [
    `    - name: step ${i + 1}`,
    '      command: { cmd: "n={{ inventory_hostname }}; n=${n#hv}; sleep $((n * 3 / 100)).$((n * 3 % 100 / 10))$((n * 3 % 10))" }',
    ...(i === 1
      ? ['    - name: planted failure', '      command: { cmd: "echo planted on purpose >&2; false" }', "      when: inventory_hostname == 'hv7'"]
      : []),
  ]).flat(),
].join('\n');

interface Capture {
  ms: number;
  rows: number;
  columns: number;
  history: number;
  lines: string[];
}

let dir = '';
let labDir = '';
let prefix = '';
let labUp = false;
let tmuxUp = false;
// Our own tmux server (its own socket): killing it at the end touches nobody else's sessions.
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', `kvmnet-e2e-${prefix}`, ...args], { encoding: 'utf8' });

beforeAll(async () => {
  dir = mkdtempSync(join(inject('e2eTmp'), 'live-view-'));
  labDir = join(dir, 'lab');
  prefix = pickPrefix();
  const t0 = Date.now();
  const up = await kvmnet(['lab', 'up', '-n', String(HOSTS), '--dir', labDir, '--prefix', prefix], { timeoutMs: 240_000 });
  labUp = true;
  expect(up.code, show(up)).toBe(0);
  console.log(`[live-view] lab ${prefix} of ${HOSTS} hosts up in ${Date.now() - t0} ms`);
}, 300_000);

afterAll(async () => {
  if (tmuxUp) tmux('kill-server');
  if (!labUp) return;
  const t0 = Date.now();
  const down = await kvmnet(['lab', 'down', '--dir', labDir], { timeoutMs: 180_000 });
  expect(down.code, show(down)).toBe(0);
  expect(leftovers(prefix)).toEqual([]);
  console.log(`[live-view] lab ${prefix} down in ${Date.now() - t0} ms`);
}, 240_000);

/** The live view's frame on a screen: from its title line to the first empty line. */
function frame(c: Capture): string[] {
  const top = c.lines.findIndex((l) => l.startsWith(TITLE));
  if (top === -1) return [];
  const end = c.lines.findIndex((l, i) => i > top && l.trim() === '');
  return c.lines.slice(top, end === -1 ? undefined : end);
}

describe(`the live view on ${HOSTS} hosts in a 110×24 terminal`, () => {
  it('keeps the totals on screen, never outgrows the terminal, shows the failure while others run, and follows a resize to 15 rows', async () => {
    const pb = join(dir, 'fleet.yaml');
    writeFileSync(pb, playbook + '\n');
    // A plain shell, without this machine's dotfiles; not CI, so kvmnet sees a terminal.
    tmux('new-session', '-d', '-s', 'live', '-x', '110', '-y', '24', '-c', REPO, 'env -u CI -u NO_COLOR PS1="$ " bash --norc --noprofile');
    tmuxUp = true;
    const inventory = labPaths(labDir).inventory;
    tmux('send-keys', '-t', 'live', `clear; node ${KVMNET_BIN} run ${pb} -i ${inventory} --forks ${HOSTS}; echo "exit=$?"`, 'Enter');

    const captures: Capture[] = [];
    const t0 = Date.now();
    let resizedAt: number | undefined;
    let failureSeenAt: number | undefined;
    while (Date.now() - t0 < 120_000) {
      const [rows, columns, history] = tmux('display-message', '-p', '-t', 'live', '#{pane_height} #{pane_width} #{history_size}')
        .trim()
        .split(' ')
        .map(Number);
      const lines = tmux('capture-pane', '-p', '-t', 'live').replace(/\n$/, '').split('\n');
      const c: Capture = { ms: Date.now() - t0, rows: rows!, columns: columns!, history: history!, lines };
      captures.push(c);
      if (lines.some((l) => /^exit=\d+$/.test(l))) break;
      if (failureSeenAt === undefined && lines.some((l) => FAILURE.test(l))) failureSeenAt = c.ms;
      // A second after the failure shows, while most hosts still work: shrink the terminal.
      if (resizedAt === undefined && failureSeenAt !== undefined && c.ms - failureSeenAt > 1000) {
        tmux('resize-window', '-t', 'live', '-y', '15');
        resizedAt = c.ms;
      }
      await sleep(150);
    }
    const last = captures.at(-1)!;
    const running = captures.filter((c) => frame(c).length > 0 && !c.lines.some((l) => l.startsWith('RECAP')));
    const before = running.filter((c) => c.rows === 24);
    const after = running.filter((c) => c.rows === 15);
    console.log(
      `[live-view] run ${last.ms} ms · ${captures.length} captures (${before.length} at 24 rows, ${after.length} at 15) · ` +
        `frame heights ${Math.min(...running.map((c) => frame(c).length))}–${Math.max(...running.map((c) => frame(c).length))} · ` +
        `failure on screen after ${failureSeenAt} ms, resized at ${resizedAt} ms`,
    );

    expect(last.lines.join('\n'), 'the run ended').toMatch(/^exit=2$/m);
    expect(before.length).toBeGreaterThanOrEqual(5);
    expect(after.length).toBeGreaterThanOrEqual(5);
    for (const c of running) {
      const f = frame(c);
      const where = `capture at ${c.ms} ms (${c.rows} rows):\n${c.lines.join('\n')}`;
      // The header (title and totals) is on screen in every capture.
      expect(f[0], where).toContain(TITLE);
      expect(f[1], where).toMatch(TOTALS);
      // Never taller than the terminal (one row stays for the cursor), never wider.
      expect(f.length, where).toBeLessThanOrEqual(c.rows - 1);
      for (const l of f) expect(l.length, where).toBeLessThan(c.columns);
      // Failed hosts come right after the header, before any host in progress.
      if (f.some((l) => FAILURE.test(l))) expect(f[2], where).toMatch(FAILURE);
    }
    // Nothing ever scrolled: the screen's history does not grow while the view runs (a resize
    // may push rows into it once, which is tmux's doing, not a frame's).
    expect(before.every((c) => c.history === 0)).toBe(true);
    expect(new Set(after.map((c) => c.history)).size).toBe(1);

    // The planted failure is on screen while other hosts are still working, before and after the resize.
    const withFailureWhileRunning = (cs: Capture[]) =>
      cs.filter((c) => frame(c).some((l) => FAILURE.test(l)) && Number(/done (\d+)\//.exec(frame(c)[1]!)![1]) < HOSTS && /running [1-9]/.test(frame(c)[0]!));
    expect(withFailureWhileRunning(before).length).toBeGreaterThan(0);
    expect(withFailureWhileRunning(after).length).toBeGreaterThanOrEqual(3);

    // The recap: the 29 hosts that did the same thing share one line, written as an inventory
    // range that --limit accepts; the failed host keeps its line and its error.
    const screen = last.lines.join('\n');
    expect(screen).toMatch(/^RECAP · hosts with the same counters on one line/m);
    expect(screen).toMatch(new RegExp(`^hv\\[1:6\\],hv\\[8:30\\] +: ok=0 +changed=${STEPS} +failed=0 +skipped=1 +unreachable=0 +\\(29 hosts\\)$`, 'm'));
    expect(screen).toMatch(/^hv7 +: ok=0 +changed=2 +failed=1 +skipped=0 +unreachable=0\n +planted failure: command failed \(rc=1\): planted on purpose$/m);
    expect(screen).toMatch(new RegExp(`^${HOSTS} hosts · ok 0 · changed ${STEPS * 29 + 2} · failed 1 · skipped 29 · unreachable 0 · [0-9.]+ s$`, 'm'));
    console.log(`[live-view] a capture at 24 rows:\n${withFailureWhileRunning(before).at(-1)!.lines.join('\n')}\n[live-view] the last screen:\n${screen}`);
  }, 180_000);
});
