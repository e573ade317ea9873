// Host lists written the way inventories write them: `hv[1:30]`, `hv[01:09]`, so that what the
// recap and the live view print can be pasted into `--limit` (which expands them back).

interface Numbered {
  name: string;
  prefix: string;
  digits: string;
  suffix: string;
  n: number;
}

// The LAST run of digits numbers the host: `rack2-hv17.example.com` is `rack2-hv[…].example.com`.
const NUMBERED = /^(.*?)(\d+)(\D*)$/;

/**
 * Compresses host names into inventory-style ranges, in first-seen order of each name family.
 * Runs of 3 or more consecutive numbers become one range; shorter runs stay names. A range of
 * zero-padded numbers keeps its padding (`hv[01:12]`), as `expandHostEntry` reads it back.
 */
export function compressHosts(names: readonly string[]): string[] {
  const families = new Map<string, Numbered[]>();
  const order: Array<string | { family: string }> = [];
  for (const name of new Set(names)) {
    const m = NUMBERED.exec(name);
    // Brackets in a name cannot be written inside a range; a ':' makes an IPv6 address (never
    // expanded); a name that is all digits has no prefix, and `[105:107]` alone reads as a glob.
    if (!m || /[[\]:]/.test(name) || m[1] === '') {
      order.push(name);
      continue;
    }
    const [, prefix = '', digits = '', suffix = ''] = m;
    const key = `${prefix}\u0000${suffix}`;
    if (!families.has(key)) {
      families.set(key, []);
      order.push({ family: key });
    }
    families.get(key)!.push({ name, prefix, digits, suffix, n: Number(digits) });
  }
  const out: string[] = [];
  for (const item of order) {
    if (typeof item === 'string') out.push(item);
    else out.push(...runsOf(families.get(item.family)!));
  }
  return out;
}

/** `compressHosts` joined with ',': one --limit pattern. */
export const hostRanges = (names: readonly string[]): string => compressHosts(names).join(',');

function runsOf(members: Numbered[]): string[] {
  const sorted = [...members].sort((a, b) => a.n - b.n || a.digits.length - b.digits.length);
  const out: string[] = [];
  let run: Numbered[] = [];
  const flush = () => {
    if (run.length >= 3) {
      const first = run[0]!;
      out.push(`${first.prefix}[${first.digits}:${run[run.length - 1]!.digits}]${first.suffix}`);
    } else out.push(...run.map((m) => m.name));
    run = [];
  };
  for (const m of sorted) {
    const first = run[0];
    const last = run[run.length - 1];
    if (first && last && m.n === last.n + 1 && m.digits === spell(m.n, first.digits)) run.push(m);
    else {
      flush();
      run = [m];
    }
  }
  flush();
  return out;
}

// How a range that begins with `first` spells the number n: padded to first's width when first
// has a leading zero (Ansible's rule), else plain.
function spell(n: number, first: string): string {
  const width = first.length > 1 && first.startsWith('0') ? first.length : 0;
  return width ? String(n).padStart(width, '0') : String(n);
}
