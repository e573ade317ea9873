// Facts of the selected hosts, gathered live (one exec per host, as `kvmnet facts` does), in the
// JSON shape `kvmnet facts --output json` prints: what the pictures are drawn from. It opens SSH
// connections, so it lives with the commands (`graph`, `run --report`), not in the picture layer.
import pLimit from 'p-limit';
import { resolveConnectionVars } from '../config/connection-vars.js';
import { hostVars, type Inventory } from '../config/inventory.js';
import { connect } from '../connection/index.js';
import type { SshHooks } from '../connection/index.js';
import { UnreachableError } from '../errors.js';
import { gatherHostFacts } from '../run/host-facts.js';
import { factsSummary } from '../report/facts-view.js';
import type { FactsEntry, FactsSummary } from '../graph/facts-json.js';

export async function gatherFactsEntries(inventory: Inventory, hosts: readonly string[], o: { forks: number; hooks: SshHooks }): Promise<FactsEntry[]> {
  const limit = pLimit(o.forks);
  return Promise.all(
    hosts.map((host) =>
      limit(async (): Promise<FactsEntry> => {
        const resolved = resolveConnectionVars(host, hostVars(inventory, host), inventory.hostOrigin.get(host) ?? { file: '(inventory)' });
        try {
          if (!resolved.settings) throw new UnreachableError(resolved.diagnostics.map((d) => d.message).join('; '));
          const conn = await connect(resolved.settings, o.hooks);
          try {
            return { host, facts: factsSummary(await gatherHostFacts(conn, host)) as unknown as FactsSummary };
          } finally {
            await conn.close();
          }
        } catch (e) {
          return { host, error: (e as Error).message, unreachable: e instanceof UnreachableError };
        }
      }),
    ),
  );
}
