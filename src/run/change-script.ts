// The ONE way a list of changes becomes shell: their command lines in order, a change with stdin
// getting it from printf (no second stdin needed, so any number of them fit in one script).
import { shellQuote } from '../connection/quote.js';
import type { Change } from '../model/plan.js';

export function changeLines(changes: readonly Change[]): string[] {
  return changes.flatMap((c) => (c.stdin === undefined ? c.commands : [`printf '%s' ${shellQuote(c.stdin)} | {\n${c.commands.join('\n')}\n}`]));
}
