// Host entries as Ansible writes them: a name, optionally with ranges (`hv[01:20]`) and a port (`hv1:2222`).

/** More hosts than this from one entry is a typo (`[0:100000]`), not a fleet. */
export const MAX_RANGE_HOSTS = 10_000;

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

export type HostEntry = { names: string[]; port?: number } | { error: string };

/** Expands one host entry; errors describe what was found and what was expected. `ranges: false`: `h[1:3]` is an error. */
export function expandHostEntry(entry: string, opts: { ranges?: boolean } = {}): HostEntry {
  if (entry === '') return { error: 'empty host name' };
  if (/\s/.test(entry)) return { error: `host name '${entry}' contains whitespace` };
  if (entry.includes(',')) return { error: `host name '${entry}' contains ',' (a comma separates host patterns)` };

  // `[fe80::1]:2222`: brackets around an IPv6 address, not a range.
  const v6 = /^\[([0-9A-Fa-f:.%]*:[0-9A-Fa-f:.%]*)\](?::(.*))?$/.exec(entry);
  if (v6) return withPort([v6[1]!], v6[2], entry);

  const colons = topLevelColons(entry);
  if (colons.length > 1) return { names: [entry] }; // a bare IPv6 address: no port, no ranges
  let base = entry;
  let portText: string | undefined;
  if (colons.length === 1) {
    base = entry.slice(0, colons[0]);
    portText = entry.slice(colons[0]! + 1);
    if (base === '') return { error: `host entry '${entry}' has a port but no name` };
  }
  if (opts.ranges === false && /[[\]]/.test(base)) return { error: `host name '${base}' has brackets` };
  const expanded = expandRanges(base);
  if ('error' in expanded) return expanded;
  return withPort(expanded.names, portText, entry);
}

function withPort(names: string[], portText: string | undefined, entry: string): HostEntry {
  if (portText === undefined) return { names };
  if (portText === '') return { error: `host entry '${entry}' ends in ':': expected a port number after it` };
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    return { error: `invalid port '${portText}' in host entry '${entry}': expected a number from 1 to 65535` };
  }
  return { names, port: Number(portText) };
}

/** Offsets of ':' outside brackets (a range `[1:9]` has its own colon). */
function topLevelColons(s: string): number[] {
  const out: number[] = [];
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '[') depth++;
    else if (c === ']') depth = Math.max(0, depth - 1);
    else if (c === ':' && depth === 0) out.push(i);
  }
  return out;
}

type Segment = string | string[];

function expandRanges(name: string): { names: string[] } | { error: string } {
  const segments: Segment[] = [];
  let total = 1;
  let i = 0;
  while (i < name.length) {
    const open = name.indexOf('[', i);
    const strayClose = name.indexOf(']', i);
    if (strayClose !== -1 && (open === -1 || strayClose < open)) {
      return { error: `host name '${name}' has a ']' without a matching '['` };
    }
    if (open === -1) {
      segments.push(name.slice(i));
      break;
    }
    const close = name.indexOf(']', open);
    if (close === -1) return { error: `host name '${name}' has a '[' without a matching ']'` };
    const inner = name.slice(open + 1, close);
    if (inner.includes('[')) return { error: `host name '${name}' has nested '[' in a range` };
    const values = rangeValues(inner, name);
    if ('error' in values) return values;
    total *= values.values.length;
    if (total > MAX_RANGE_HOSTS) return { error: `host range '${name}' expands to more than ${MAX_RANGE_HOSTS} hosts` };
    segments.push(name.slice(i, open), values.values);
    i = close + 1;
  }
  // Cartesian product, iteratively: `a[1:2]b[x:y]` → a1bx a1by a2bx a2by.
  let names = [''];
  for (const seg of segments) {
    if (typeof seg === 'string') names = names.map((n) => n + seg);
    else names = names.flatMap((n) => seg.map((v) => n + v));
  }
  return { names };
}

/** Ansible's expand_hostname_range: `[beg:end]` or `[beg:end:step]`, numbers (zero-padded by `beg`) or single letters. */
function rangeValues(inner: string, name: string): { values: string[] } | { error: string } {
  const bounds = inner.split(':');
  if (bounds.length !== 2 && bounds.length !== 3) {
    return { error: `host range '[${inner}]' in '${name}': expected [begin:end] or [begin:end:step]` };
  }
  const beg = bounds[0] || '0';
  const end = bounds[1]!;
  const stepText = bounds[2] ?? '1';
  if (end === '') return { error: `host range '[${inner}]' in '${name}' has no end value` };
  if (!/^\d{1,5}$/.test(stepText) || Number(stepText) < 1) {
    return { error: `host range '[${inner}]' in '${name}': step '${stepText}' must be a positive integer` };
  }
  const step = Number(stepText);
  const ib = LETTERS.indexOf(beg);
  const ie = LETTERS.indexOf(end);
  if (beg.length === 1 && end.length === 1 && ib !== -1 && ie !== -1) {
    if (ib > ie) return { error: `host range '[${inner}]' in '${name}': begin must not be after end` };
    const values: string[] = [];
    for (let k = ib; k <= ie; k += step) values.push(LETTERS[k]!);
    return { values };
  }
  if (!/^\d+$/.test(beg) || !/^\d+$/.test(end)) {
    return { error: `host range '[${inner}]' in '${name}': bounds must be both numbers or both single letters` };
  }
  const width = beg.length > 1 && beg.startsWith('0') ? beg.length : 0;
  if (width && end.length !== width) {
    return { error: `host range '[${inner}]' in '${name}': zero-padded begin and end must have the same width` };
  }
  const b = Number(beg);
  const e = Number(end);
  if (b > e) return { error: `host range '[${inner}]' in '${name}': begin must not be greater than end` };
  if ((e - b) / step >= MAX_RANGE_HOSTS) return { error: `host range '${name}' expands to more than ${MAX_RANGE_HOSTS} hosts` };
  const values: string[] = [];
  for (let k = b; k <= e; k += step) values.push(width ? String(k).padStart(width, '0') : String(k));
  return { values };
}
