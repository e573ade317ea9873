// `kvmnet merge`: the JSON Lines of the shards of one run become the JSON Lines a single run would
// have written. Pure: files in, merged events and summary out, or a MergeError listing EVERY reason
// the shards cannot be merged (other inputs, a shard twice, a shard that never ran, hosts missing).
import { UsageError } from '../errors.js';
import { emptyRecap, type HostRecap, type RunSummary } from '../model/result.js';
import { canonicalJson, HEADER_FORMAT, sha256, type RunHeader } from './run-header.js';

export class MergeError extends UsageError {
  override readonly code = 'MERGE' as 'USAGE';
  constructor(readonly problems: string[]) {
    super(`cannot merge: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export interface ShardFile {
  file: string;
  text: string;
}

export interface MergedRun {
  header: RunHeader & { merged_from: Array<{ file: string; shard: number | null }> };
  /** Every event of the merged run, header first and summary last, as JSON objects. */
  events: Array<Record<string, unknown>>;
  summary: RunSummary;
}

type Event = Record<string, unknown> & { event: string; time?: string };

interface ParsedShard {
  file: string;
  header: RunHeader & { time?: string };
  events: Event[];
  summary?: RunSummary & { time?: string };
}

/** Display order of host names: hv2 before hv10 (the split itself never depends on it). */
const byName = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });

const listSome = (hosts: readonly string[]): string => {
  const sorted = [...hosts].sort(byName);
  return sorted.length <= 10 ? sorted.join(', ') : `${sorted.slice(0, 10).join(', ')} … and ${sorted.length - 10} more`;
};

function parseShard(f: ShardFile, problems: string[]): ParsedShard | undefined {
  const events: Event[] = [];
  const lines = f.text.split('\n');
  let facts = false;
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      problems.push(`${f.file}:${i + 1}: not JSON (expected the output of \`kvmnet run --output json\`): ${(e as Error).message}`);
      return undefined;
    }
    // After a facts header, one object per host (as `kvmnet facts --output json` prints them), without "event".
    const ok = typeof v === 'object' && v !== null && (facts ? typeof (v as Event).host === 'string' : typeof (v as Event).event === 'string');
    if (!ok) {
      problems.push(
        `${f.file}:${i + 1}: expected ${facts ? 'an object with "host" (the output of `kvmnet facts --output json`)' : 'an event object with "event" (the output of `kvmnet run --output json`)'}`,
      );
      return undefined;
    }
    if (events.length === 0 && (v as Event).event === 'header' && (v as Event).command === 'facts') facts = true;
    events.push(v as Event);
  }
  const first = events[0];
  if (!first || first.event !== 'header') {
    problems.push(
      `${f.file}: does not start with a header event: it is not the JSON output of a kvmnet run that can be merged (empty, or written by an older kvmnet)`,
    );
    return undefined;
  }
  const header = first as unknown as ParsedShard['header'];
  if (header.format !== HEADER_FORMAT) {
    problems.push(`${f.file}: header format ${String(header.format)}, this kvmnet merges format ${HEADER_FORMAT}`);
    return undefined;
  }
  if (header.command !== 'run' && header.command !== 'facts') {
    problems.push(
      `${f.file}: the output of \`kvmnet ${String(header.command)}\`: merge takes the output of \`kvmnet run\` or \`kvmnet facts\` with --output json`,
    );
    return undefined;
  }
  if (header.command === 'facts') {
    // Facts have no summary: their per-host outcome is the recap (ok: facts read; failed; unreachable).
    const entries = events.slice(1);
    const hosts = entries.map((e) => ({
      ...emptyRecap(e.host as string),
      ...(typeof e.error !== 'string' ? { ok: 1 } : e.unreachable === true ? { unreachable: 1, error: e.error } : { failed: 1, error: e.error }),
    }));
    return { file: f.file, header, events: entries, summary: { hosts, elapsedMs: 0, check: true, notTouched: [], stats: { connections: 0, execs: 0 } } };
  }
  const summary = events.find((e) => e.event === 'summary') as ParsedShard['summary'];
  return { file: f.file, header, events: events.slice(1), summary };
}

/** What must be equal in every shard of one run, with how to show it. */
const IDENTITY: Array<[string, (h: RunHeader) => unknown]> = [
  ['command', (h) => h.command],
  ['run id', (h) => h.run_id],
  ['inventory (inventory_sha256)', (h) => h.inventory_sha256],
  ['playbook (playbook_sha256)', (h) => h.playbook_sha256],
  ['extra vars (extra_vars_sha256)', (h) => h.extra_vars_sha256],
  ['check mode', (h) => h.check],
  ['--tags', (h) => h.tags],
  ['--skip-tags', (h) => h.skip_tags],
  ['shard count', (h) => h.shard?.count ?? null],
  ['--shard-by', (h) => h.shard?.by ?? null],
  ['selected hosts and their split', (h) => sha256(canonicalJson(h.split))],
];

const short = (v: unknown): string => {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return /^[0-9a-f]{64}$/.test(s) ? `${s.slice(0, 12)}…` : s;
};

export function mergeShards(files: readonly ShardFile[]): MergedRun {
  const problems: string[] = [];
  if (files.length === 0) throw new MergeError(['no file given']);
  const shards = files.map((f) => parseShard(f, problems)).filter((s): s is ParsedShard => s !== undefined);
  if (problems.length) throw new MergeError(problems);

  // One run: every identity field equal to the first file's.
  const ref = shards[0]!;
  for (const [what, get] of IDENTITY) {
    const want = canonicalJson(get(ref.header));
    const others = shards.filter((s) => canonicalJson(get(s.header)) !== want);
    if (others.length)
      problems.push(
        `not shards of one run: the ${what} of ${others.map((s) => `${s.file} (${short(get(s.header))})`).join(', ')} differs from ${ref.file}'s (${short(get(ref.header))})`,
      );
  }
  if (problems.length) throw new MergeError(problems);

  const count = ref.header.shard?.count ?? 1;
  const split = ref.header.split;
  if (!ref.header.shard && shards.length > 1) {
    throw new MergeError([
      `${shards.map((s) => s.file).join(', ')}: ${shards.length} outputs of the same unsharded run: each holds every host (run with --shard I/N to split a run)`,
    ]);
  }

  // Complete: every shard once.
  const byIndex = new Map<number, ParsedShard[]>();
  for (const s of shards) {
    const i = s.header.shard?.index ?? 1;
    byIndex.set(i, [...(byIndex.get(i) ?? []), s]);
  }
  for (let i = 1; i <= count; i++) {
    const got = byIndex.get(i) ?? [];
    const expected = split[i - 1] ?? [];
    if (got.length === 0 && expected.length > 0)
      problems.push(
        `shard ${i}/${count} never ran (no file has it): its ${expected.length} host${expected.length === 1 ? ' is' : 's are'} missing: ${listSome(expected)}`,
      );
    if (got.length > 1)
      problems.push(`shard ${i}/${count} is in ${got.length} files (${got.map((s) => s.file).join(', ')}): its hosts would be doubled: ${listSome(expected)}`);
  }

  // Disjoint and whole: a host's results in one file only, and every host of a shard with a recap.
  const seenIn = new Map<string, string[]>();
  for (const s of shards) {
    const index = s.header.shard?.index ?? 1;
    const expected = new Set(split[index - 1] ?? []);
    const reported = new Set<string>();
    for (const e of s.events) if ((e.event === 'task' || s.header.command === 'facts') && typeof e.host === 'string') reported.add(e.host);
    for (const r of s.summary?.hosts ?? []) reported.add(r.host);
    for (const h of s.summary?.notTouched ?? []) reported.add(h);
    for (const h of reported) seenIn.set(h, [...(seenIn.get(h) ?? []), s.file]);
    const stray = [...reported].filter((h) => !expected.has(h));
    if (stray.length)
      problems.push(`${s.file} (shard ${index}/${count}) has results for host${stray.length === 1 ? '' : 's'} of another shard: ${listSome(stray)}`);
    if (!s.summary) {
      problems.push(
        `${s.file} (shard ${index}/${count}) has no summary: the shard was cut short${expected.size ? `; its hosts have no recap: ${listSome([...expected])}` : ''}`,
      );
      continue;
    }
    const missing = [...expected].filter((h) => !reported.has(h));
    if (missing.length) problems.push(`${s.file} (shard ${index}/${count}) has no result for ${missing.length} of its hosts: ${listSome(missing)}`);
  }
  const doubled = [...seenIn.entries()].filter(([, f]) => new Set(f).size > 1);
  if (doubled.length)
    problems.push(
      `host${doubled.length === 1 ? '' : 's'} in more than one shard: ${doubled
        .map(([h, f]) => `${h} (${[...new Set(f)].join(', ')})`)
        .sort(byName)
        .join(', ')}`,
    );
  if (problems.length) throw new MergeError(problems);

  return combine(shards, count);
}

const timeOf = (e: { time?: unknown }): number => (typeof e.time === 'string' ? Date.parse(e.time) : NaN);

function combine(shards: ParsedShard[], count: number): MergedRun {
  const ordered = [...shards].sort((a, b) => (a.header.shard?.index ?? 1) - (b.header.shard?.index ?? 1));
  const ref = ordered[0]!;
  if (ref.header.command === 'facts') return combineFacts(ordered, count);
  const allHosts = ref.header.split.flat().sort(byName);
  const starts = ordered.map((s) => timeOf(s.header)).filter(Number.isFinite);
  const start = starts.length ? Math.min(...starts) : NaN;
  const shardOf = (s: ParsedShard) => s.header.shard?.index ?? 1;

  // Plays: the k-th play event of each shard is the same play; one event with every shard's hosts.
  const plays: Event[] = [];
  for (const s of ordered) {
    s.events
      .filter((e) => e.event === 'play')
      .forEach((p, k) => {
        const merged = plays[k];
        if (!merged) plays[k] = { ...p, hosts: [...((p.hosts as string[]) ?? [])] };
        else {
          merged.hosts = [...(merged.hosts as string[]), ...((p.hosts as string[]) ?? [])];
          if (timeOf(p) < timeOf(merged)) merged.time = p.time;
        }
      });
  }
  for (const p of plays) (p.hosts as string[]).sort(byName);

  // Everything else keeps its time and says which shard it came from: batches and warnings are per shard.
  const rest: Event[] = [];
  for (const s of ordered)
    for (const e of s.events) if (e.event !== 'play' && e.event !== 'summary') rest.push(e.event === 'task' ? e : { ...e, shard: shardOf(s) });
  const body = [...plays, ...rest]
    .map((e, i) => ({ e, i }))
    .sort((a, b) => (timeOf(a.e) || 0) - (timeOf(b.e) || 0) || a.i - b.i)
    .map((x) => x.e);

  const summaries = ordered.map((s) => s.summary!);
  const hosts: HostRecap[] = summaries.flatMap((s) => s.hosts).sort((a, b) => byName(a.host, b.host));
  const ends = summaries.map(timeOf).filter(Number.isFinite);
  const end = ends.length ? Math.max(...ends) : NaN;
  const summary: RunSummary = {
    hosts,
    // The run took from the first shard's start to the last shard's end (not the sum of the shards).
    elapsedMs: Number.isFinite(start) && Number.isFinite(end) ? end - start : Math.max(...summaries.map((s) => s.elapsedMs)),
    check: ref.header.check,
    notTouched: summaries.flatMap((s) => s.notTouched ?? []).sort(byName),
    stats: {
      connections: summaries.reduce((n, s) => n + (s.stats?.connections ?? 0), 0),
      execs: summaries.reduce((n, s) => n + (s.stats?.execs ?? 0), 0),
    },
  };
  const { time: _t, ...refHeader } = ref.header;
  const header: MergedRun['header'] = {
    ...refHeader,
    shard: null,
    split: [allHosts],
    hosts: allHosts,
    merged_from: ordered.map((s) => ({ file: s.file, shard: s.header.shard?.index ?? null })),
  };
  const headerTime = Number.isFinite(start) ? new Date(start).toISOString() : undefined;
  const summaryTime = Number.isFinite(end) ? new Date(end).toISOString() : undefined;
  return {
    header,
    events: [
      { ...(headerTime ? { time: headerTime } : {}), ...header, shards: count },
      ...body,
      { ...(summaryTime ? { time: summaryTime } : {}), event: 'summary', ...summary },
    ],
    summary,
  };
}

/** Facts shards: one header, then every host's facts (or error) in name order, as one `kvmnet facts --output json` would print them. */
function combineFacts(ordered: ParsedShard[], count: number): MergedRun {
  const ref = ordered[0]!;
  const allHosts = ref.header.split.flat().sort(byName);
  const { time, ...refHeader } = ref.header;
  const header: MergedRun['header'] = {
    ...refHeader,
    shard: null,
    split: [allHosts],
    hosts: allHosts,
    merged_from: ordered.map((s) => ({ file: s.file, shard: s.header.shard?.index ?? null })),
  };
  const entries = ordered.flatMap((s) => s.events).sort((a, b) => byName(a.host as string, b.host as string));
  const summary: RunSummary = {
    hosts: ordered.flatMap((s) => s.summary!.hosts).sort((a, b) => byName(a.host, b.host)),
    elapsedMs: 0,
    check: true,
    notTouched: [],
    stats: { connections: 0, execs: 0 },
  };
  return { header, events: [{ ...(time ? { time } : {}), ...header, shards: count }, ...entries], summary };
}
