import type { Diagnostic } from '../errors.js';
import { InvalidInputError } from '../errors.js';
import { parseYaml, readInputFile } from '../config/yaml-source.js';

/** A play's vars_files, later files winning. Errors are input errors: no host is contacted. */
export function readVarsFiles(files: string[]): Record<string, unknown> {
  const vars: Record<string, unknown> = {};
  const problems: Diagnostic[] = [];
  for (const file of files) {
    const read = readInputFile(file);
    if (read.text === undefined) {
      problems.push(...read.diagnostics);
      continue;
    }
    const parsed = parseYaml(file, read.text);
    problems.push(...parsed.diagnostics.filter((d) => d.severity === 'error'));
    const value = parsed.source?.value;
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value))
      problems.push({ severity: 'error', file, line: 1, col: 1, message: 'a vars file must be a mapping of variables' });
    else Object.assign(vars, value);
  }
  if (problems.length) throw new InvalidInputError(problems);
  return vars;
}
