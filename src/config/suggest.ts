// "Did you mean …?" for misspelt keys and names, shared by the inventory and playbook loaders.

/** Edit distance (insertions, deletions, substitutions; an adjacent swap counts as one edit). */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  // Two rolling rows plus the one before them, for the transposition case.
  let prev2: number[] = [];
  let prev: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur.push(d);
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * The closest candidate, or undefined when nothing is close enough to be a plausible typo:
 * at most a third of the word's length (at least 1, at most 3) edits, compared case-insensitively;
 * failing that, a candidate the word is the start of (`child` → `children`).
 */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  const limit = Math.min(3, Math.max(1, Math.floor(w.length / 3)));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    // Very different lengths cannot be within the limit: skip the quadratic work.
    if (Math.abs(candidate.length - w.length) > limit) continue;
    const d = levenshtein(w, candidate.toLowerCase());
    if (d <= limit && d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  if (best === undefined && w.length >= 3) {
    for (const candidate of candidates) if (candidate.toLowerCase().startsWith(w)) return candidate;
  }
  return best;
}

/** `" (did you mean `children`?)"` or `""`, ready to append to a message. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const s = suggest(word, candidates);
  return s === undefined ? '' : ` (did you mean \`${s}\`?)`;
}
