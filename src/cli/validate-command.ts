import { InvalidInputError } from '../errors.js';
import { validatePlaybook } from '../run/validate.js';
import { EXIT } from './exit-codes.js';
import type { ValidateFlags } from './flags.js';
import { loadInputs, printWarnings } from './load.js';
import { err, out } from './output.js';

export async function validateCommand(playbookFile: string, flags: ValidateFlags): Promise<number> {
  const loaded = loadInputs({ playbook: playbookFile, inventory: flags.inventory, extraVars: flags.extraVars, limit: flags.limit });
  const report = validatePlaybook(loaded.playbook!, loaded.inventory, loaded.extraVars, loaded.limit);
  const problems = [...loaded.warnings, ...report.diagnostics];
  if (problems.some((d) => d.severity === 'error')) throw new InvalidInputError(problems);
  printWarnings(problems, err);
  const s = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  out(
    `${playbookFile}: valid · ${s(report.plays, 'play')} · ${s(report.hosts.size, 'host')} · ${s(report.tasks, 'task')} · ${s(report.renderings, 'rendering')} checked`,
  );
  return EXIT.ok;
}
