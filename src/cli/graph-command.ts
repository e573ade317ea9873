// `kvmnet graph`: a picture of each host's network, from live facts or a saved facts file.
import { readFileSync, writeFileSync } from 'node:fs';
import { selectHosts } from '../config/patterns.js';
import { UsageError } from '../errors.js';
import { parseFactsJson, type FactsEntry } from '../graph/facts-json.js';
import { formatFromFileName, hostGroups, limitNames, renderGraph, type GraphFormat } from '../graph/render.js';
import { EXIT } from './exit-codes.js';
import { gatherFactsEntries } from './gather-live.js';
import { loadInputs, printWarnings } from './load.js';
import { err, promptPassphrase } from './output.js';

export interface GraphFlags {
  inventory: string[];
  limit?: string;
  forks: number;
  from?: string;
  format?: GraphFormat;
  output?: string;
  group: boolean;
}

export async function graphCommand(flags: GraphFlags): Promise<number> {
  const format = flags.format ?? (flags.output ? formatFromFileName(flags.output) : undefined) ?? 'svg';
  let entries: FactsEntry[];
  if (flags.from) {
    if (flags.inventory.length) throw new UsageError('--from draws from a facts file: leave out -i (or leave out --from to gather live facts)');
    let text: string;
    try {
      text = readFileSync(flags.from, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read ${flags.from}: ${(e as Error).message}`);
    }
    entries = parseFactsJson(text, flags.from);
    if (flags.limit) {
      const keep = new Set(
        limitNames(
          entries.map((e) => e.host),
          flags.limit,
        ),
      );
      entries = entries.filter((e) => keep.has(e.host));
      if (!entries.length) throw new UsageError(`--limit ${flags.limit} matches no host in ${flags.from}`);
    }
  } else {
    const loaded = loadInputs({ inventory: flags.inventory });
    printWarnings(loaded.warnings, err);
    const sel = selectHosts(loaded.inventory, flags.limit ?? 'all', { file: '--limit' });
    printWarnings(sel.diagnostics, err);
    entries = await gatherFactsEntries(loaded.inventory, sel.hosts, {
      forks: flags.forks,
      hooks: { passphrase: promptPassphrase, onWarning: (m) => err(`warning: ${m}`) },
    });
  }
  for (const e of entries) if ('error' in e) err(`${e.host}: ${e.unreachable ? 'unreachable' : 'failed'}: ${e.error}`);

  const text = await renderGraph(hostGroups(entries, flags.group), format);
  if (flags.output && flags.output !== '-') writeFileSync(flags.output, text);
  else process.stdout.write(text);
  const bad = entries.filter((e) => 'error' in e) as Array<{ unreachable: boolean }>;
  return (bad.some((e) => !e.unreachable) ? EXIT.taskFailed : 0) + (bad.some((e) => e.unreachable) ? EXIT.unreachable : 0);
}
