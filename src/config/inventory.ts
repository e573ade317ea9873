// Loads Ansible-style inventories (YAML, INI, directories, host lists) and answers "which vars does this host get?".
import type { Diagnostic, Location } from '../errors.js';
import { InventoryBuilder } from './inventory-builder.js';
import { groupDepths, groupsContaining } from './inventory-graph.js';
import { loadSource, type VarsDirCache } from './inventory-sources.js';
import { LOCALHOST_NAMES, type Inventory, type VarBag } from './inventory-types.js';
import { copyVar, setOwn } from './inventory-util.js';

export type { Inventory } from './inventory-types.js';

/**
 * Reads every `-i` source in order; later sources add hosts and groups and override vars of earlier ones.
 * Never throws on bad input: every problem is a diagnostic, and the inventory holds whatever was valid.
 */
export function loadInventory(sources: string[], cwd: string = process.cwd()): { inventory: Inventory; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const b = new InventoryBuilder(diagnostics);
  try {
    if (sources.length === 0) diagnostics.push({ severity: 'warning', file: '<command line>', message: 'no inventory given (-i): there are no hosts' });
    const varsDirs: VarsDirCache = new Map();
    for (const source of sources) loadSource(source, cwd, b, varsDirs);
    return { inventory: b.build(), diagnostics };
  } catch (err) {
    // A bug here must not take the CLI down with a stack trace; report it like any other problem.
    diagnostics.push({
      severity: 'error',
      file: sources.join(', ') || '<inventory>',
      message: `internal error while loading the inventory: ${(err as Error)?.message ?? String(err)}`,
    });
    return { inventory: emptyInventory(), diagnostics };
  }
}

export function emptyInventory(): Inventory {
  return new InventoryBuilder([]).build();
}

/**
 * All vars for a host with Ansible's precedence (VariableManager.get_vars), lowest first: `all`'s inline vars, every
 * other group's inline vars, group_vars/all files, every other group's group_vars files, the host's inline vars, its
 * host_vars files. So group_vars/all.yml beats an inline `[child:vars]`. Within each step groups are
 * ordered by depth (deeper wins), then `ansible_group_priority` (higher wins, default 1), then name (later wins):
 * Ansible's sort_groups; files go source by source (`-i` order), and within a source group by group.
 * Merging is shallow, like Ansible's default `hash_behaviour=replace`.
 */
export function hostVars(inv: Inventory, host: string): Record<string, unknown> {
  return resolveHostVars(inv, host).vars;
}

/** Where the value hostVars() gives for `variable` was set, when the inventory knows. */
export function varOrigin(inv: Inventory, host: string, variable: string): Location | undefined {
  return resolveHostVars(inv, host).origins.get(variable);
}

/** Every group the host is in, directly or through child groups, including 'all'; sorted. */
export function groupsOf(inv: Inventory, host: string): string[] {
  return [...groupsContaining(inv, host)].sort();
}

function resolveHostVars(inv: Inventory, host: string): { vars: Record<string, unknown>; origins: Map<string, Location> } {
  const vars: Record<string, unknown> = {};
  const origins = new Map<string, Location>();
  const implicit = !inv.hosts.has(host) && LOCALHOST_NAMES.includes(host);
  // The implicit localhost (a pattern named it, the inventory does not have it): `all`'s vars, and the local connection.
  const h = inv.hosts.get(host) ?? (implicit ? { name: host, vars: { ansible_connection: 'local' } } : undefined);
  if (!h) return { vars, origins };
  const depth = groupDepths(inv);
  const groups = [...groupsContaining(inv, host)]
    .filter((g) => g !== 'all')
    .sort((a, b) => depth.get(a)! - depth.get(b)! || priority(inv, a) - priority(inv, b) || (a < b ? -1 : a > b ? 1 : 0));
  const layer = (values: Record<string, unknown>, where: Map<string, Location> | undefined): void => {
    for (const k of Object.keys(values)) {
      copyVar(vars, k, values);
      const o = where?.get(k);
      if (o) origins.set(k, o);
      else origins.delete(k);
    }
  };
  const files = inv.varsFiles ?? [];
  const all = inv.groups.get('all');
  // Ansible's default VARIABLE_PRECEDENCE: all_inventory, groups_inventory, all_plugins_inventory, groups_plugins_inventory.
  if (all) layer(all.vars, inv.varOrigins?.groups.get('all'));
  for (const g of groups) layer(inv.groups.get(g)!.vars, inv.varOrigins?.groups.get(g));
  for (const set of files) layerBag(set.groups.get('all'));
  for (const set of files) for (const g of groups) layerBag(set.groups.get(g));
  layer(h.vars, inv.varOrigins?.hosts.get(host));
  for (const set of files) layerBag(set.hosts.get(host));
  return { vars, origins };

  function layerBag(bag: VarBag | undefined): void {
    if (bag) layer(bag.vars, bag.origins);
  }
}

/** A group's vars as `ansible-inventory --export` shows them: inline vars, then its group_vars files, source by source. */
export function groupVarsView(inv: Inventory, group: string): Record<string, unknown> {
  const vars: Record<string, unknown> = {};
  const g = inv.groups.get(group);
  if (!g) return vars;
  for (const k of Object.keys(g.vars)) copyVar(vars, k, g.vars);
  for (const set of inv.varsFiles ?? []) {
    const bag = set.groups.get(group)?.vars ?? {};
    for (const k of Object.keys(bag)) copyVar(vars, k, bag);
  }
  if (priority(inv, group) !== 1) setOwn(vars, 'ansible_group_priority', priority(inv, group));
  return vars;
}

/** Ansible's group priority: set by an inline `ansible_group_priority` (never by a group_vars file); default 1. */
export function priority(inv: Inventory, group: string): number {
  return inv.groups.get(group)?.priority ?? 1;
}
