// Facts captured on lab hosts (test/fixtures/facts), parsed, and edited the way a planted problem
// changes a host: the inputs of the topology tests.
import { readFileSync } from 'node:fs';
import { parseFacts } from '../../../src/facts/parse.js';
import type { Facts } from '../../../src/model/facts.js';
import { factsSummary } from '../../../src/report/facts-view.js';
import { buildTopology, type HostTopology } from '../../../src/graph/topology.js';
import type { FactsSummary } from '../../../src/graph/facts-json.js';

/** `kvmnet facts --output json` of F as a picture reads it (factsSummary assembles it from the task types' views, typed as a record). */
export const summaryOf = (f: Facts): FactsSummary => factsSummary(f) as unknown as FactsSummary;

export function captured(name: string): Facts {
  const read = (ext: string) => {
    try {
      return readFileSync(new URL(`../../fixtures/facts/${name}.${ext}`, import.meta.url), 'utf8');
    } catch {
      return '';
    }
  };
  return parseFacts(read('stdout'), read('stderr')).facts;
}

/** A captured host changed by hand, the way a planted problem changes a lab host. */
export function edited(name: string, edit: (f: Facts) => void): Facts {
  const f = structuredClone(captured(name));
  edit(f);
  return f;
}

export const topo = (f: Facts, host = 'hv1'): HostTopology => buildTopology(host, summaryOf(f));
