// The `command` task: run what the user wrote, once, and judge the result with
// changed_when / failed_when. creates/removes are checked in the same exec.
import type { CommandArgs } from '../tasks/command.js';
import { shellJoin, shellQuote } from '../connection/quote.js';
import type { Connection } from '../connection/types.js';
import { evaluateCondition } from './condition.js';

export interface CommandOutcome {
  skipped?: string;
  changed: boolean;
  failed: boolean;
  rc: number | null;
  stdout: string;
  stderr: string;
}

const SKIP = '@@kvmnet:skip@@';

export function commandScript(args: CommandArgs): string {
  const lines: string[] = [];
  if (args.creates) lines.push(`if [ -e ${shellQuote(args.creates)} ]; then echo ${shellQuote(`${SKIP}${args.creates} exists`)}; exit 0; fi`);
  if (args.removes) lines.push(`if [ ! -e ${shellQuote(args.removes)} ]; then echo ${shellQuote(`${SKIP}${args.removes} does not exist`)}; exit 0; fi`);
  // A string is the user's own shell command line (the escape hatch); a list is quoted word by word.
  lines.push(Array.isArray(args.cmd) ? shellJoin(args.cmd) : args.cmd);
  return lines.join('\n');
}

/** `wrap` puts the script inside what a guard needs around it (see run/confirm.ts). */
export async function runCommandTask(
  conn: Connection,
  args: CommandArgs,
  vars: Record<string, unknown>,
  wrap: (script: string) => string = (s) => s,
): Promise<CommandOutcome> {
  const res = await conn.exec(wrap(commandScript(args)));
  if (res.exitCode === 0 && res.stdout.startsWith(SKIP)) {
    return { skipped: res.stdout.slice(SKIP.length).trim(), changed: false, failed: false, rc: 0, stdout: '', stderr: '' };
  }
  const result = { rc: res.exitCode, stdout: res.stdout.replace(/\n$/, ''), stderr: res.stderr.replace(/\n$/, '') };
  const judge = (expr: string | boolean | undefined, fallback: boolean) =>
    expr === undefined ? fallback : typeof expr === 'boolean' ? expr : evaluateCondition(expr, { ...vars, ...result, stdout_lines: result.stdout.split('\n') });
  const failed = judge(args.failed_when, res.exitCode !== 0);
  const changed = !failed && judge(args.changed_when, true);
  return { changed, failed, ...result };
}
