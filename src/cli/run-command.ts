import { writeFileSync } from 'node:fs';
import { selectHosts } from '../config/patterns.js';
import type { Playbook } from '../config/playbook.js';
import { runPlaybook } from '../run/run-playbook.js';
import { hostFailed } from '../model/result.js';
import { parseTagList, taskSelected } from '../run/tags.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { loadInputs, printWarnings } from './load.js';
import type { RunFlags } from './main.js';
import { err, makeReporter, out, promptPassphrase } from './output.js';

export async function runCommand(playbookFile: string, flags: RunFlags): Promise<number> {
  const loaded = loadInputs({ playbook: playbookFile, inventory: flags.inventory, extraVars: flags.extraVars, limit: flags.limit });
  printWarnings(loaded.warnings, err);
  const filter = { tags: parseTagList(flags.tags), skipTags: parseTagList(flags.skipTags) };
  const playbook: Playbook = {
    ...loaded.playbook!,
    plays: loaded.playbook!.plays.map((p) => ({ ...p, tasks: p.tasks.filter((t) => taskSelected(t, filter)) })),
  };

  if (flags.listHosts || flags.listTasks) {
    for (const play of playbook.plays) {
      const hosts = selectHosts(loaded.inventory, play.hosts, play.loc).hosts.filter((h) => !loaded.limit || loaded.limit.has(h));
      out(`play: ${play.name} (${hosts.length} host${hosts.length === 1 ? '' : 's'})`);
      if (flags.listHosts) hosts.forEach((h) => out(`  ${h}`));
      if (flags.listTasks) play.tasks.forEach((t) => out(`  ${t.name}${t.tags.length ? `  tags=[${t.tags.join(',')}]` : ''}`));
    }
    return EXIT.ok;
  }

  // First Ctrl-C: finish what is in flight, start nothing new, print the recap. Second: abort.
  let signal: NodeJS.Signals | undefined;
  const onSignal = (s: NodeJS.Signals) => {
    if (signal) process.exit(s === 'SIGINT' ? EXIT.interrupted : EXIT.terminated);
    signal = s;
    err(`\n${s}: finishing the changes in flight; no new change will start (again to abort now)`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const shown = await makeReporter({ output: flags.output, diff: Boolean(flags.diff), verbose: flags.verbose, recap: flags.recap });
  const recorder = flags.report ? new (await import('../report/html-recorder.js')).RecordingReporter(shown) : undefined;
  const reporter = recorder ?? shown;
  const summary = await runPlaybook(
    playbook,
    loaded.inventory,
    {
      check: Boolean(flags.check),
      forks: flags.forks,
      limit: loaded.limit,
      extraVars: loaded.extraVars,
      forceHandlers: flags.forceHandlers,
      waitLockSeconds: flags.waitLock,
      connectionOverrides: {
        ...(flags.connectTimeout ? { connectTimeoutMs: flags.connectTimeout * 1000 } : {}),
        ...(flags.commandTimeout ? { commandTimeoutMs: flags.commandTimeout * 1000 } : {}),
      },
      sshHooks: { passphrase: promptPassphrase, onWarning: (m) => err(`warning: ${m}`) },
      stopping: () => signal !== undefined,
    },
    reporter,
  );
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);

  const bad = summary.hosts.filter(hostFailed).map((h) => h.host);
  if (bad.length && !flags.check) {
    const retry = playbookFile.replace(/\.ya?ml$/, '') + '.retry';
    try {
      writeFileSync(retry, bad.join('\n') + '\n');
      if (flags.output !== 'json') out(`to retry the ${bad.length} failed host${bad.length === 1 ? '' : 's'}: --limit @${retry}`);
    } catch (e) {
      err(`warning: could not write ${retry}: ${(e as Error).message}`);
    }
  }
  if (flags.report && recorder) {
    const { writeRunReport } = await import('../report/html-write.js');
    await writeRunReport(flags.report, recorder.log, { inventory: loaded.inventory, forks: flags.forks, hooks: { passphrase: promptPassphrase, onWarning: (m) => err(`warning: ${m}`) }, title: `kvmnet run report: ${playbookFile}` }).catch((e: Error) => err(`warning: could not write the report ${flags.report}: ${e.message}`));
  }
  if (signal) return signal === 'SIGINT' ? EXIT.interrupted : EXIT.terminated;
  return exitCodeFor(summary, Boolean(flags.detailedExitcode));
}
