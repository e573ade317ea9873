// Where templates named in a playbook are found: beside the playbook, in its templates/, in the
// working directory's templates/, then in the ones kvmnet ships.
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where shipped templates live: `templates/` at the package root. */
export const PACKAGE_TEMPLATES = resolve(dirname(fileURLToPath(import.meta.url)), '../../templates');

export function findTemplate(name: string, playbookDir: string): string | undefined {
  if (isAbsolute(name)) return existsSync(name) ? name : undefined;
  const candidates = [resolve(playbookDir, name), resolve(playbookDir, 'templates', name), resolve('templates', name), resolve(PACKAGE_TEMPLATES, name)];
  return candidates.find((c) => existsSync(c));
}
