// `kvmnet doc [TYPE]`: the task reference in the terminal, like ansible-doc (the same model as
// docs/tasks/<type>.md, see src/docs/task-reference.ts).
import { suggest } from '../config/suggest.js';
import { taskDoc, taskDocText, taskListText } from '../docs/task-reference.js';
import { UsageError } from '../errors.js';
import { isTaskType, taskTypes } from '../tasks/registry.js';
import { EXIT } from './exit-codes.js';
import { out } from './output.js';

export function docCommand(type: string | undefined): number {
  if (type === undefined) {
    out(taskListText().trimEnd());
    return EXIT.ok;
  }
  if (!isTaskType(type)) {
    const close = suggest(type, taskTypes);
    throw new UsageError(`no task type '${type}'${close ? `: did you mean '${close}'?` : ''} (kvmnet doc lists them: ${taskTypes.join(', ')})`);
  }
  // At most 100 columns, less on a narrow terminal; the same text when piped.
  const width = process.stdout.isTTY ? Math.min(100, process.stdout.columns || 100) : 100;
  out(taskDocText(taskDoc(type), width).trimEnd());
  return EXIT.ok;
}
