// `serial`: split a play's hosts into rollout batches, the way Ansible does.
import type { Serial } from '../config/playbook.js';

/** A percentage is of ALL the play's hosts, rounded down, at least 1; the last size repeats. */
export function batchSizes(serial: Serial | undefined, total: number): number[] {
  if (total === 0) return [];
  if (!serial || serial.length === 0) return [total];
  const size = (s: number | string) => {
    const n = typeof s === 'number' ? s : Math.floor((total * parseFloat(s)) / 100);
    return Math.max(1, Math.min(total, n));
  };
  const sizes: number[] = [];
  let left = total;
  let i = 0;
  while (left > 0) {
    const n = Math.min(left, size(serial[Math.min(i, serial.length - 1)]!));
    sizes.push(n);
    left -= n;
    i++;
  }
  return sizes;
}

export function splitBatches<T>(items: T[], serial: Serial | undefined): T[][] {
  const out: T[][] = [];
  let start = 0;
  for (const n of batchSizes(serial, items.length)) {
    out.push(items.slice(start, start + n));
    start += n;
  }
  return out;
}

/** Ansible stops when the failed share EXCEEDS the threshold, not when it equals it. */
export function exceedsFailThreshold(failed: number, batchSize: number, maxFailPercentage: number | undefined): boolean {
  if (maxFailPercentage === undefined || batchSize === 0) return false;
  return (failed / batchSize) * 100 > maxFailPercentage;
}
