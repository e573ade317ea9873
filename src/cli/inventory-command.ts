// `kvmnet inventory`: the inventory as kvmnet sees it, in ansible-inventory's shapes.
import { hostVars, type Inventory } from '../config/inventory.js';
import { hostsOfGroup } from '../config/inventory-graph.js';
import { UsageError } from '../errors.js';
import { EXIT } from './exit-codes.js';
import type { InventoryFlags } from './flags.js';
import { loadInputs, printWarnings } from './load.js';
import { err, out } from './output.js';

const SECRET = /password|passphrase/i;

/** Secrets never leave kvmnet in output. */
function redact(vars: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, SECRET.test(k) && v !== undefined ? '********' : v]));
}

/** main.ts has checked that exactly one of --list, --graph and --host is given. */
export async function inventoryCommand(flags: InventoryFlags): Promise<number> {
  const { inventory, warnings } = loadInputs({ inventory: flags.inventory });
  printWarnings(warnings, err);
  if (flags.host !== undefined) {
    if (!inventory.hosts.has(flags.host)) throw new UsageError(`no host named '${flags.host}' in the inventory`);
    out(JSON.stringify(redact(hostVars(inventory, flags.host)), null, 2));
  } else if (flags.list) {
    out(JSON.stringify(listView(inventory), null, 2));
  } else {
    graph(inventory, 'all', 0).forEach((l) => out(l));
  }
  return EXIT.ok;
}

function listView(inv: Inventory): Record<string, unknown> {
  const view: Record<string, unknown> = { _meta: { hostvars: Object.fromEntries([...inv.hosts.keys()].map((h) => [h, redact(hostVars(inv, h))])) } };
  for (const g of inv.groups.values()) {
    const entry: Record<string, unknown> = {};
    if (g.hosts.length) entry.hosts = g.hosts;
    if (g.children.length) entry.children = g.children;
    if (Object.keys(g.vars).length) entry.vars = redact(g.vars);
    view[g.name] = entry;
  }
  return view;
}

function graph(inv: Inventory, group: string, depth: number): string[] {
  const g = inv.groups.get(group);
  if (!g) return [];
  const pad = '  '.repeat(depth);
  const lines = [`${pad}${depth ? '|--' : ''}@${group}:`];
  for (const child of g.children) lines.push(...graph(inv, child, depth + 1));
  for (const h of g.hosts) lines.push(`${pad}  |--${h}`);
  if (group === 'all' && !g.hosts.length && !g.children.length) hostsOfGroup(inv, 'all').forEach((h) => lines.push(`  |--${h}`));
  return lines;
}
