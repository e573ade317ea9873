// `kvmnet report results.jsonl -o FILE.html`: the HTML report of a run saved with --output json
// (a CI artifact), with the topology from a facts file when one is given.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { UsageError } from '../errors.js';
import { parseFactsJson } from '../graph/facts-json.js';
import { parseRunLog } from '../report/html-run-log.js';
import { runReportHtml, type ReportOptions } from '../report/html-report.js';
import { changedHosts, reportTopology } from '../report/html-write.js';
import { EXIT } from './exit-codes.js';
import { out } from './output.js';
import { planRunLog, readPlan } from './plan-file.js';

const read = (file: string) => {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
  }
};

export async function reportCommand(results: string, flags: { output: string; facts?: string; title?: string }): Promise<number> {
  const text = read(results);
  // A saved plan is one JSON object (with kvmnet_plan); a run is JSON Lines of events.
  const isPlan = text.trimStart().startsWith('{') && text.includes('"kvmnet_plan"');
  const log = isPlan ? planRunLog(readPlan(results)) : parseRunLog(text, results);
  let topology: Pick<ReportOptions, 'topology' | 'topologyNote'>;
  if (flags.facts) {
    const entries = parseFactsJson(read(flags.facts), flags.facts);
    const changed = new Set(changedHosts(log));
    const picked = entries.filter((e) => changed.has(e.host));
    topology = picked.length
      ? await reportTopology(picked, `The ${picked.length} changed host${picked.length === 1 ? '' : 's'}, from ${flags.facts}.`)
      : await reportTopology(entries, `No changed host in ${flags.facts}: every host in it.`);
  } else {
    topology = { topologyNote: 'No topology picture: pass --facts FILE (from `kvmnet facts --output json`) to add one.' };
  }
  const html = runReportHtml(log, { title: flags.title ?? `kvmnet run report: ${basename(results)}`, ...topology });
  writeFileSync(flags.output, html);
  out(`${flags.output}: ${(html.length / 1024).toFixed(0)} KiB`);
  return EXIT.ok;
}
