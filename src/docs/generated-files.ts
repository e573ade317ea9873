// Every file `npm run docs` writes, by path from the repository root: the task reference, the man
// page, the shell completions and the playbook JSON Schema (what `kvmnet schema` prints). test/unit/generated-docs.test.ts fails when a committed one is stale.
import { readFileSync } from 'node:fs';
import { buildProgram } from '../cli/main.js';
import { playbookJsonSchema } from '../config/json-schema.js';
import { bashCompletion, zshCompletion } from './completion.js';
import { manPage } from './man-page.js';
import { taskReferenceFiles } from './task-reference.js';

export function generatedFiles(repoRoot: string): Map<string, string> {
  const pkg = JSON.parse(readFileSync(`${repoRoot}/package.json`, 'utf8')) as { version: string };
  const program = buildProgram();
  const files = taskReferenceFiles();
  files.set('kvmnet.1', manPage(program, pkg.version, readFileSync(`${repoRoot}/docs/exit-codes.md`, 'utf8')));
  files.set('completion/kvmnet.bash', bashCompletion(program));
  files.set('completion/_kvmnet', zshCompletion(program));
  files.set('schema/playbook.schema.json', `${JSON.stringify(playbookJsonSchema(), null, 2)}\n`);
  return files;
}
