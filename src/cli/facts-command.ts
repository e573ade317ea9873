import pLimit from 'p-limit';
import { resolveConnectionVars } from '../config/connection-vars.js';
import { hostVars } from '../config/inventory.js';
import { selectHosts } from '../config/patterns.js';
import { connect } from '../connection/index.js';
import { UnreachableError } from '../errors.js';
import { gatherHostFacts } from '../run/host-facts.js';
import { factsSummary, factsText } from '../report/facts-view.js';
import { EXIT } from './exit-codes.js';
import { loadInputs, printWarnings } from './load.js';
import { colors, err, out, promptPassphrase } from './output.js';

export async function factsCommand(flags: { inventory: string[]; limit: string; forks: number; output: 'text' | 'json' }): Promise<number> {
  const loaded = loadInputs({ inventory: flags.inventory });
  printWarnings(loaded.warnings, err);
  const sel = selectHosts(loaded.inventory, flags.limit, { file: '--limit' });
  printWarnings(sel.diagnostics, err);
  const limit = pLimit(flags.forks);
  let failed = 0;
  let unreachable = 0;
  await Promise.all(
    sel.hosts.map((host) =>
      limit(async () => {
        const resolved = resolveConnectionVars(host, hostVars(loaded.inventory, host), loaded.inventory.hostOrigin.get(host) ?? { file: '(inventory)' });
        try {
          if (!resolved.settings) throw new UnreachableError(resolved.diagnostics.map((d) => d.message).join('; '));
          const conn = await connect(resolved.settings, { passphrase: promptPassphrase, onWarning: (m) => err(`warning: ${m}`) });
          try {
            const facts = await gatherHostFacts(conn, host);
            if (flags.output === 'json') out(JSON.stringify({ host, ...factsSummary(facts) }));
            else out(factsText(host, facts, colors()).join('\n') + '\n');
          } finally {
            await conn.close();
          }
        } catch (e) {
          if (e instanceof UnreachableError) unreachable++;
          else failed++;
          const message = (e as Error).message;
          if (flags.output === 'json') out(JSON.stringify({ host, error: message, unreachable: e instanceof UnreachableError }));
          else err(`${host}: ${e instanceof UnreachableError ? 'unreachable' : 'failed'}: ${message}`);
        }
      }),
    ),
  );
  return (failed ? EXIT.taskFailed : 0) + (unreachable ? EXIT.unreachable : 0);
}
