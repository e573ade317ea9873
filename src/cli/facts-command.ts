import pLimit from 'p-limit';
import { resolveConnectionVars } from '../config/connection-vars.js';
import { shownOnce } from '../config/ssh-client-settings.js';
import { hostVars } from '../config/inventory.js';
import { connect } from '../connection/index.js';
import { UnreachableError, UsageError } from '../errors.js';
import { ALL_FRAGMENTS, fragmentsByIds } from '../facts/needs.js';
import { rollbackLogFacts } from '../facts/rollback-log.js';
import { gatherHostFacts } from '../run/host-facts.js';
import { factsSummary, factsText } from '../report/facts-view.js';
import { exitCodeForHosts } from './exit-codes.js';
import type { FactsFlags } from './flags.js';
import { loadInputs, printWarnings } from './load.js';
import { colors, err, out, promptPassphrase } from './output.js';
import { buildHeader, chooseShard } from './shard-select.js';

// What `kvmnet facts` reads: every fragment a run may read, and the host's rollback log, which only
// this command shows (a run reports the new records through its lock preamble instead).
const FACTS_COMMAND_FRAGMENTS = [...ALL_FRAGMENTS, rollbackLogFacts];

function factsCommandFragments(ids: readonly string[]): ReturnType<typeof fragmentsByIds> {
  const found = fragmentsByIds(ids.filter((id) => id !== rollbackLogFacts.id));
  return ids.includes(rollbackLogFacts.id) ? { ...found, found: [...found.found, rollbackLogFacts] } : found;
}

export async function factsCommand(flags: FactsFlags): Promise<number> {
  // --limit goes through the same loader as `run`: @file works, and a limit that selects no host is an error.
  const loaded = loadInputs({ inventory: flags.inventory, limit: flags.limit });
  printWarnings(loaded.warnings, err);
  const selected = [...loaded.inventory.hosts.keys()].filter((h) => !loaded.limit || loaded.limit.has(h));
  const choice = chooseShard(loaded.inventory, selected, { shard: flags.shard, shardBy: flags.shardBy });
  const mine = new Set(choice.mine);
  const hosts = selected.filter((h) => mine.has(h));
  if (choice.shard) {
    err(`shard ${choice.shard.index}/${choice.shard.count} (${choice.shard.source}, by ${choice.shard.by}): ${hosts.length} of ${selected.length} hosts`);
    // Unsharded facts JSON stays one object per host (what `graph --from` and scripts read); a shard says which slice it is.
    if (flags.output === 'json')
      out(
        JSON.stringify({
          time: new Date().toISOString(),
          ...buildHeader({ command: 'facts', inventory: loaded.inventory, extraVars: {}, check: true, choice }),
        }),
      );
  }
  const only =
    flags.only === undefined
      ? undefined
      : factsCommandFragments(
          flags.only
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        );
  if (only?.unknown.length)
    throw new UsageError(`--only: unknown facts fragment ${only.unknown.join(', ')} (known: ${FACTS_COMMAND_FRAGMENTS.map((f) => f.id).join(', ')})`);
  const limit = pLimit(flags.forks);
  let failed = 0;
  let unreachable = 0;
  await Promise.all(
    hosts.map((host) =>
      limit(async () => {
        const resolved = resolveConnectionVars(host, hostVars(loaded.inventory, host), loaded.inventory.hostOrigin.get(host) ?? { file: '(inventory)' });
        for (const notice of resolved.notices ?? []) if (shownOnce(loaded, notice)) err(`warning: ${notice}`);
        try {
          if (!resolved.settings) throw new UnreachableError(resolved.diagnostics.map((d) => d.message).join('; '));
          const conn = await connect(resolved.settings, { passphrase: promptPassphrase, onWarning: (m) => err(`warning: ${m}`) });
          try {
            const facts = await gatherHostFacts(conn, host, undefined, only?.found ?? FACTS_COMMAND_FRAGMENTS);
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
  return exitCodeForHosts({ failed: failed > 0, unreachable: unreachable > 0 });
}
