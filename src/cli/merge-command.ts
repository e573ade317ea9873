// `kvmnet merge SHARD.jsonl…`: one run's result from the JSON Lines of its shards; the exit code is
// the one a single run over every host would have returned.
import { readFileSync, writeFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { recapText } from '../report/format.js';
import { mergeShards } from '../report/merge.js';
import { exitCodeFor } from './exit-codes.js';
import type { MergeFlags } from './flags.js';
import { colors, err, out } from './output.js';

export async function mergeCommand(files: string[], flags: MergeFlags): Promise<number> {
  const inputs = files.map((file) => {
    try {
      return { file, text: readFileSync(file === '-' ? 0 : file, 'utf8') };
    } catch (e) {
      throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
    }
  });
  const merged = mergeShards(inputs);
  if (flags.report && merged.header.command !== 'run')
    throw new UsageError('--report is the HTML report of a run: these are facts shards (draw them with `kvmnet graph --from MERGED.jsonl`)');
  if (flags.detailedExitcode && !merged.summary.check) throw new UsageError('--detailed-exitcode needs shards run with --check');
  const jsonl = merged.events.map((e) => JSON.stringify(e)).join('\n') + '\n';
  if (flags.output) writeFileSync(flags.output, jsonl);
  // With -o the merged JSON Lines go to the file and the recap to the screen; without, the recap only.
  out(recapText(merged.summary, colors()));
  const shards = merged.header.merged_from.length;
  err(
    `merged ${shards} shard${shards === 1 ? '' : 's'} of run ${merged.header.run_id}: ${merged.summary.hosts.length} hosts${flags.output ? ` → ${flags.output}` : ''}`,
  );
  if (flags.report) {
    const { parseRunLog } = await import('../report/html-run-log.js');
    const { runReportHtml } = await import('../report/html-report.js');
    const html = runReportHtml(parseRunLog(jsonl, flags.report), {
      title: `kvmnet run report: run ${merged.header.run_id}, ${shards} shard${shards === 1 ? '' : 's'} merged`,
      topologyNote: 'No topology picture: merge has no facts (`kvmnet report RESULTS.jsonl --facts FACTS.json` draws one).',
    });
    writeFileSync(flags.report, html);
    err(`${flags.report}: ${(html.length / 1024).toFixed(0)} KiB`);
  }
  return exitCodeFor(merged.summary, Boolean(flags.detailedExitcode));
}
