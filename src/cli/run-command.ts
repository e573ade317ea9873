import { readFileSync, writeFileSync } from 'node:fs';
import { selectHosts } from '../config/patterns.js';
import type { Playbook } from '../config/playbook.js';
import { runPlaybook } from '../run/run-playbook.js';
import { hostFailed } from '../model/result.js';
import { taskSelected } from '../run/tags.js';
import { UsageError } from '../errors.js';
import { EXIT, exitCodeFor, exitCodeForSignal } from './exit-codes.js';
import type { RunFlags } from './flags.js';
import { loadInputs, printWarnings } from './load.js';
import { err, makeReporter, out, promptPassphrase } from './output.js';
import { buildHeader, chooseShard } from './shard-select.js';
import { checkPlanInputs, readPlan, writePlan } from './plan-file.js';
import type { HostRecording, SavedPlan } from '../run/saved-plan.js';

/**
 * `kvmnet apply plan.json`: the plan's playbook and inventory (or -i), checked to be the ones it
 * was made from, run with the plan's selection and its decisions instead of planning.
 */
export async function applyCommand(planFile: string, flags: RunFlags): Promise<number> {
  const plan = readPlan(planFile);
  const inventory = flags.inventory.length ? flags.inventory : plan.inventory.sources;
  const { tags, skip_tags: skipTags } = plan.selection;
  return runCommand(
    plan.playbook.file,
    { ...flags, inventory, check: false, tags: tags ?? undefined, skipTags: skipTags ?? undefined, limit: undefined },
    { plan, file: planFile },
  );
}

export async function runCommand(playbookFile: string, flags: RunFlags, saved?: { plan: SavedPlan; file: string }): Promise<number> {
  const loaded = loadInputs({ playbook: playbookFile, inventory: flags.inventory, extraVars: flags.extraVars, limit: flags.limit });
  printWarnings(loaded.warnings, err);
  if (saved) {
    checkPlanInputs(saved.plan, saved.file, { playbookBytes: readFileSync(playbookFile), inventory: loaded.inventory, extraVars: loaded.extraVars });
    loaded.limit = new Set(saved.plan.selection.hosts);
  }
  const filter = { tags: flags.tags, skipTags: flags.skipTags };
  const playbook: Playbook = {
    ...loaded.playbook!,
    plays: loaded.playbook!.plays.map((p) => ({ ...p, tasks: p.tasks.filter((t) => taskSelected(t, filter)) })),
  };
  const selectedHosts = playbook.plays.map((play) =>
    selectHosts(loaded.inventory, play.hosts, play.loc).hosts.filter((h) => !loaded.limit || loaded.limit.has(h)),
  );
  // The split is over every host of every play, so that each host's whole run happens in one shard.
  const choice = chooseShard(loaded.inventory, [...new Set(selectedHosts.flat())], { shard: flags.shard, shardBy: flags.shardBy });
  const mine = new Set(choice.mine);
  const playHosts = choice.shard ? selectedHosts.map((hosts) => hosts.filter((h) => mine.has(h))) : selectedHosts;
  if (choice.shard)
    err(
      `shard ${choice.shard.index}/${choice.shard.count} (${choice.shard.source}, by ${choice.shard.by}): ${choice.mine.length} of ${choice.split.flat().length} hosts`,
    );

  if (flags.listHosts || flags.listTasks) {
    for (const [p, play] of playbook.plays.entries()) {
      const hosts = playHosts[p]!;
      out(`play: ${play.name} (${hosts.length} host${hosts.length === 1 ? '' : 's'})`);
      if (flags.listHosts) hosts.forEach((h) => out(`  ${h}`));
      if (flags.listTasks) play.tasks.forEach((t) => out(`  ${t.name}${t.tags.length ? `  tags=[${t.tags.join(',')}]` : ''}`));
    }
    return EXIT.ok;
  }

  // Nothing selected: no play has both a host and a task. Like Ansible, a warning and exit 0 — except for
  // drift detection, where "checked nothing" must never read as "no drift".
  const nothing = nothingSelected(playbook, playHosts, flags);
  let limit = choice.shard ? mine : loaded.limit;
  // A shard with no host (more shards than hosts) is not a mistake of this job: it reports an empty run for merge.
  const emptyShard = Boolean(choice.shard) && choice.mine.length === 0 && selectedHosts.some((h) => h.length > 0);
  if (nothing) {
    if (flags.check && flags.detailedExitcode && !emptyShard)
      throw new UsageError(`${nothing}: nothing would be checked, so --check --detailed-exitcode cannot tell whether there is drift`);
    err(
      emptyShard
        ? `warning: shard ${choice.shard!.index}/${choice.shard!.count} has none of the ${choice.split.flat().length} selected hosts: nothing to do`
        : `warning: ${nothing}: nothing to do`,
    );
    // Hosts of plays without a task would still be connected to (facts, the run lock): contact none.
    limit = new Set();
  }

  // First Ctrl-C: finish what is in flight, start nothing new, print the recap. Second: abort.
  let signal: NodeJS.Signals | undefined;
  const onSignal = (s: NodeJS.Signals) => {
    if (signal) process.exit(exitCodeForSignal(s));
    signal = s;
    err(`\n${s}: finishing the changes in flight; no new change will start (again to abort now)`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // Hashing every host's vars costs time on a large fleet: only JSON output carries the header.
  const header =
    flags.output !== 'json'
      ? undefined
      : buildHeader({
          command: 'run',
          inventory: loaded.inventory,
          playbookBytes: readFileSync(playbookFile),
          extraVars: loaded.extraVars,
          check: Boolean(flags.check),
          tags: flags.tags,
          skipTags: flags.skipTags,
          choice,
        });
  const shown = await makeReporter({ output: flags.output, diff: Boolean(flags.diff), verbose: flags.verbose, recap: flags.recap, header });
  const recorder = flags.report ? new (await import('../report/html-recorder.js')).RecordingReporter(shown) : undefined;
  const recordings = flags.out ? new Map<string, HostRecording>() : undefined;
  const reporter = recorder ?? shown;
  const summary = await runPlaybook(
    playbook,
    loaded.inventory,
    {
      check: Boolean(flags.check),
      forks: flags.forks,
      limit,
      extraVars: loaded.extraVars,
      forceHandlers: flags.forceHandlers,
      waitLockSeconds: flags.waitLock,
      connectionOverrides: {
        ...(flags.connectTimeout ? { connectTimeoutMs: flags.connectTimeout * 1000 } : {}),
        ...(flags.commandTimeout ? { commandTimeoutMs: flags.commandTimeout * 1000 } : {}),
      },
      sshHooks: { passphrase: promptPassphrase, onWarning: (m) => err(`warning: ${m}`) },
      stopping: () => signal !== undefined,
      record: recordings,
      replay: saved?.plan,
    },
    reporter,
  );
  if (flags.out && recordings) {
    const plan = writePlan(flags.out, recordings, {
      playbookFile,
      inventorySources: flags.inventory,
      inventory: loaded.inventory,
      extraVars: loaded.extraVars,
      tags: flags.tags,
      skipTags: flags.skipTags,
    });
    const ops = Object.values(plan.hosts).reduce(
      (n, h) => n + h.tasks.reduce((m, t) => m + (t.plan?.changes ?? []).reduce((k, c) => k + c.ops.length, 0), 0),
      0,
    );
    if (flags.output !== 'json')
      out(
        `plan saved to ${flags.out}: ${ops} operation${ops === 1 ? '' : 's'} on ${Object.keys(plan.hosts).length} host${Object.keys(plan.hosts).length === 1 ? '' : 's'}; review it (kvmnet report ${flags.out} -o plan.html), then: kvmnet apply ${flags.out}`,
      );
  }
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);

  const bad = summary.hosts.filter(hostFailed).map((h) => h.host);
  if (bad.length && !flags.check && !saved) {
    // Shards of one run often share a directory: each writes its own retry file.
    const retry = playbookFile.replace(/\.ya?ml$/, '') + (choice.shard ? `.shard-${choice.shard.index}-of-${choice.shard.count}` : '') + '.retry';
    try {
      writeFileSync(retry, bad.join('\n') + '\n');
      if (flags.output !== 'json') out(`to retry the ${bad.length} failed host${bad.length === 1 ? '' : 's'}: --limit @${retry}`);
    } catch (e) {
      err(`warning: could not write ${retry}: ${(e as Error).message}`);
    }
  }
  if (flags.report && recorder) {
    const [{ writeRunReport }, { gatherFactsEntries }] = await Promise.all([import('../report/html-write.js'), import('./gather-live.js')]);
    const hooks = { passphrase: promptPassphrase, onWarning: (m: string) => err(`warning: ${m}`) };
    const gather = (hosts: string[]) => gatherFactsEntries(loaded.inventory, hosts, { forks: flags.forks, hooks });
    await writeRunReport(flags.report, recorder.log, { gather, title: `kvmnet run report: ${playbookFile}` }).catch((e: Error) =>
      err(`warning: could not write the report ${flags.report}: ${e.message}`),
    );
  }
  if (signal) return exitCodeForSignal(signal);
  return exitCodeFor(summary, Boolean(flags.detailedExitcode));
}

/** Why no play has both a selected host and a selected task, or undefined when some play has. */
function nothingSelected(playbook: Playbook, playHosts: string[][], flags: RunFlags): string | undefined {
  if (playbook.plays.some((play, p) => play.tasks.length > 0 && playHosts[p]!.length > 0)) return undefined;
  if (playbook.plays.length === 0) return 'the playbook has no play';
  const tagged = flags.tags || flags.skipTags;
  if (playHosts.every((h) => h.length === 0)) return `no play selects a host${flags.limit !== undefined ? ` (with --limit ${flags.limit})` : ''}`;
  if (tagged)
    return `${[flags.tags && `--tags ${flags.tags.join(',')}`, flags.skipTags && `--skip-tags ${flags.skipTags.join(',')}`].filter(Boolean).join(' and ')} select${flags.tags && flags.skipTags ? '' : 's'} no task of a play with hosts`;
  return 'no play with hosts has a task';
}
