// Ansible's inventory variables a template can read: `groups` (group → its hosts, children's
// included, in inventory order) and `hostvars` (host → its merged inventory variables), so a task
// can list the other hosts of its group (a VXLAN mesh's remotes). Both are worked out on first
// use and once per inventory: a run that never reads them pays nothing.
import { groupsOf, hostVars } from './inventory.js';
import type { Inventory } from './inventory-types.js';

const cache = new WeakMap<Inventory, Record<string, unknown>>();

export function inventoryMagicVars(inv: Inventory): Record<string, unknown> {
  let magic = cache.get(inv);
  if (magic) return magic;
  let groups: Record<string, string[]> | undefined;
  const hostvars: Record<string, unknown> = {};
  for (const host of inv.hosts.keys()) {
    let vars: Record<string, unknown> | undefined;
    Object.defineProperty(hostvars, host, { enumerable: true, get: () => (vars ??= { ...hostVars(inv, host), inventory_hostname: host }) });
  }
  // One getter per group: spreading the variables into a task's copies references, not members.
  const allGroups = () => {
    if (!groups) {
      groups = {};
      for (const name of inv.groups.keys()) groups[name] = [];
      for (const host of inv.hosts.keys()) for (const g of groupsOf(inv, host)) (groups[g] ??= []).push(host);
    }
    return groups;
  };
  const groupsView: Record<string, unknown> = {};
  for (const name of inv.groups.keys()) Object.defineProperty(groupsView, name, { enumerable: true, get: () => allGroups()[name] });
  magic = { groups: groupsView, hostvars };
  cache.set(inv, magic);
  return magic;
}
