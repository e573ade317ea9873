// Loads everything a command needs from the command line, collecting ALL problems before
// failing: nothing is contacted while any input is invalid.
import { loadAnsibleCfg } from '../config/ansible-cfg.js';
import { loadInventory, type Inventory } from '../config/inventory.js';
import { readLimit, selectHosts } from '../config/patterns.js';
import { parseExtraVars } from '../config/extra-vars.js';
import { loadPlaybook, type Playbook } from '../config/playbook.js';
import { InvalidInputError, formatDiagnostic, type Diagnostic } from '../errors.js';

export interface Loaded {
  inventory: Inventory;
  playbook?: Playbook;
  extraVars: Record<string, unknown>;
  limit?: Set<string>;
  warnings: Diagnostic[];
}

export function loadInputs(opts: { playbook?: string; inventory: string[]; extraVars?: string[]; limit?: string }): Loaded {
  const diagnostics: Diagnostic[] = [];
  const cwd = process.cwd();
  const sources = opts.inventory.length ? opts.inventory : defaultInventory();
  const { inventory, diagnostics: invDiags } = loadInventory(sources, cwd);
  diagnostics.push(...invDiags);
  let playbook: Playbook | undefined;
  if (opts.playbook !== undefined) {
    const loaded = loadPlaybook(opts.playbook);
    diagnostics.push(...loaded.diagnostics);
    playbook = loaded.playbook;
  }
  const extra = parseExtraVars(opts.extraVars ?? [], cwd);
  diagnostics.push(...extra.diagnostics);
  let limit: Set<string> | undefined;
  if (opts.limit !== undefined) {
    const lim = readLimit(opts.limit, cwd);
    diagnostics.push(...lim.diagnostics);
    const sel = selectHosts(inventory, lim.pattern, { file: '--limit' });
    diagnostics.push(...sel.diagnostics);
    // As in ansible-playbook: a --limit that leaves no host is a mistake, not a successful run on zero hosts
    // (which CI would read as "converged" or, with --check --detailed-exitcode, as "no drift").
    if (sel.hosts.length === 0 && ![...invDiags, ...lim.diagnostics].some((d) => d.severity === 'error')) {
      const n = inventory.hosts.size;
      diagnostics.push({
        severity: 'error',
        file: '--limit',
        message: `'${opts.limit}' selects none of the inventory's ${n} host${n === 1 ? '' : 's'}: nothing to do`,
      });
    }
    limit = new Set(sel.hosts);
  }
  if (diagnostics.some((d) => d.severity === 'error')) throw new InvalidInputError(diagnostics);
  return { inventory, playbook, extraVars: extra.vars, limit, warnings: diagnostics.filter((d) => d.severity === 'warning') };
}

/** Without -i: KVMNET_INVENTORY, else ansible.cfg's inventory (or ANSIBLE_INVENTORY) as ansible-inventory finds it, else ./inventory. */
function defaultInventory(): string[] {
  const env = process.env.KVMNET_INVENTORY;
  if (env) return env.split(':');
  return loadAnsibleCfg().inventory?.value ?? ['inventory'];
}

export function printWarnings(warnings: Diagnostic[], write: (s: string) => void): void {
  for (const w of warnings) write(formatDiagnostic(w));
}
