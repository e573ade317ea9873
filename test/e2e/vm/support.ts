// Shared by the VM-lab e2e files: waiting on a slow software-emulated guest, and a lab prefix that
// no other lab on this machine uses.
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { subnetForPrefix } from '../../../src/lab/index.js';

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
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
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
