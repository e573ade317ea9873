// Writes the HTML report of a run: the page (html-report.ts) plus the topology picture of the
// hosts that changed, drawn from facts read after the run (or from a facts file).
import { writeFileSync } from 'node:fs';
import type { FactsEntry } from '../graph/facts-json.js';
import { hostGroups } from '../graph/render.js';
import { toDot } from '../graph/dot.js';
import { hostRecaps, type RunLog } from './html-run-log.js';
import { runReportHtml, type ReportOptions } from './html-report.js';

/** Hosts the run changed (in check mode: would have changed). */
export const changedHosts = (log: RunLog): string[] =>
  hostRecaps(log)
    .filter((r) => r.changed > 0)
    .map((r) => r.host);

export async function reportTopology(entries: readonly FactsEntry[], caption: string): Promise<Pick<ReportOptions, 'topology' | 'topologyNote'>> {
  if (!entries.length) return { topologyNote: 'No host changed: no topology picture.' };
  const groups = hostGroups(entries, true);
  const { renderSvg } = await import('../graph/svg.js');
  return { topology: { groups, svg: await renderSvg(toDot(groups)), caption } };
}

/**
 * After `kvmnet run --report FILE`: facts of the changed hosts, read now by `gather` (the caller
 * opens the connections: the report only draws what it is given), then the page.
 */
export async function writeRunReport(file: string, log: RunLog, o: { gather: (hosts: string[]) => Promise<FactsEntry[]>; title: string }): Promise<void> {
  const check = log.summary?.check ?? log.plays[0]?.check ?? false;
  const hosts = changedHosts(log);
  const entries = hosts.length ? await o.gather(hosts) : [];
  const caption = check
    ? `Now (check mode, nothing was changed): the ${hosts.length} host${hosts.length === 1 ? '' : 's'} with pending changes, as they are.`
    : `After the run: the ${hosts.length} host${hosts.length === 1 ? '' : 's'} that changed, read again once the run was over.`;
  writeFileSync(file, runReportHtml(log, { title: o.title, ...(await reportTopology(entries, caption)) }));
}
