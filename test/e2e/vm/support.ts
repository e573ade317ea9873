// Shared by the VM-lab e2e files: waiting on a slow software-emulated guest, and a lab prefix that
// no other lab on this machine uses.
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { labPaths, readLabState, sshCommand, subnetForPrefix, type LabState } from '../../../src/lab/index.js';
import { expect } from 'vitest';
import { kvmnet, show, spawnCollect, type Result } from '../exec.js';
import { shown } from '../../../src/text/shown.js';

/** Probes every second until it gives a value; a probe that throws (a guest still booting) is retried. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last instanceof Error ? last.toString() : shown(last)}` : ''}`);
}

/** `STEM` + 3 digits, whose subnet and link names are free on this machine. */
export function pickPrefix(stem: string): string {
  const used = execFileSync('ip', ['-4', 'addr', 'show'], { encoding: 'utf8' });
  for (let k = 0; k < 50; k++) {
    const p = `${stem}${randomInt(100, 1000)}`;
    if (!used.includes(`${subnetForPrefix(p).base}.`) && !execFileSync('ip', ['link', 'show'], { encoding: 'utf8' }).includes(` ${p}-`)) return p;
  }
  throw new Error('no free lab prefix');
}

/**
 * A VM lab of `hosts` hosts + the switch under DIR, with prefix STEM + 3 digits; taken down again if
 * `up` fails. DIR's parent gets the owner file global-setup.ts's removeStaleRuns() looks for, so a
 * killed run's VM lab is taken down by the next e2e run.
 */
export async function vmLabUp(
  dir: string,
  stem: string,
  hosts = 1,
  extraArgs: string[] = [],
): Promise<{ prefix: string; state: LabState; inventory: string; upMs: number; stderr: string }> {
  const prefix = pickPrefix(stem);
  writeFileSync(join(dirname(dir), 'e2e-owner.json'), JSON.stringify({ pid: process.pid, prefix }) + '\n');
  const t0 = Date.now();
  const up = await kvmnet(['lab', 'up', '--kernel', 'vm', ...extraArgs, '--dir', dir, '--prefix', prefix, '-n', String(hosts)], { timeoutMs: 400_000 });
  const upMs = Date.now() - t0;
  if (up.code !== 0) {
    await kvmnet(['lab', 'down', '--dir', dir], { timeoutMs: 120_000 });
    throw new Error(`VM lab did not come up:\n${show(up)}`);
  }
  return { prefix, state: readLabState(dir), inventory: labPaths(dir).inventory, upMs, stderr: up.stderr };
}

/** SCRIPT on lab host NAME over SSH (the switch too); throws on a non-zero exit unless check is false. */
export async function onVmHost(state: LabState, name: string, script: string, check = true): Promise<Result> {
  const argv = sshCommand(state, name);
  argv.splice(argv.length - 1, 0, '-o', 'ConnectTimeout=15');
  const r = await spawnCollect([...argv, script], { timeoutMs: 120_000 });
  if (check && r.code !== 0) throw new Error(`${name}: ${script}\n${show(r)}`);
  return r;
}

/**
 * The afterAll of a VM-lab file: takes the lab under DIR down (none was made when DIR is empty),
 * removes TMP, logs NOTE (timings) and fails the file if `lab down` failed.
 */
export async function vmLabDown(dir: string, tmp: string, note?: string): Promise<void> {
  if (!dir) return;
  const down = await kvmnet(['lab', 'down', '--dir', dir], { timeoutMs: 120_000 });
  rmSync(tmp, { recursive: true, force: true });
  if (note) console.log(note);
  expect(down.code, show(down)).toBe(0);
}
