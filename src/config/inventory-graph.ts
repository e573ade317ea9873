// Walks over the group graph. All iterative: an inventory may chain thousands of groups.
import type { Inventory } from './inventory-types.js';

export function parentsIndex(inv: Inventory): Map<string, string[]> {
  const parents = new Map<string, string[]>();
  for (const g of inv.groups.values()) {
    for (const c of g.children) {
      const list = parents.get(c);
      if (list) list.push(g.name);
      else parents.set(c, [g.name]);
    }
  }
  return parents;
}

/** Every group a host belongs to, directly or through a child group, plus 'all'. */
export function groupsContaining(inv: Inventory, host: string): Set<string> {
  const parents = parentsIndex(inv);
  const out = new Set<string>();
  const todo: string[] = [];
  for (const g of inv.groups.values()) if (g.hosts.includes(host)) todo.push(g.name);
  while (todo.length > 0) {
    const g = todo.pop()!;
    if (out.has(g)) continue;
    out.add(g);
    todo.push(...(parents.get(g) ?? []));
  }
  if (inv.hosts.has(host)) out.add('all');
  return out;
}

/**
 * Ansible's group depth: the longest path from 'all' (all = 0, its children = 1, …).
 * A group nobody lists as a child counts as a child of 'all', so hand-built inventories work too.
 */
export function groupDepths(inv: Inventory): Map<string, number> {
  const parents = parentsIndex(inv);
  const pending = new Map<string, number>();
  for (const name of inv.groups.keys()) pending.set(name, (parents.get(name) ?? []).filter((p) => inv.groups.has(p)).length);
  const depth = new Map<string, number>();
  const ready: string[] = [];
  for (const [name, n] of pending) {
    if (n === 0) {
      depth.set(name, name === 'all' ? 0 : 1);
      ready.push(name);
    }
  }
  // Kahn's topological order; each child ends up one deeper than its deepest parent.
  while (ready.length > 0) {
    const g = ready.pop()!;
    const d = depth.get(g)!;
    for (const c of inv.groups.get(g)?.children ?? []) {
      if (!inv.groups.has(c)) continue;
      depth.set(c, Math.max(depth.get(c) ?? 0, d + 1));
      const left = pending.get(c)! - 1;
      pending.set(c, left);
      if (left === 0) ready.push(c);
    }
  }
  for (const name of inv.groups.keys()) if (!depth.has(name)) depth.set(name, 1); // only in a hand-built cycle
  return depth;
}

/**
 * All hosts of a group including its descendants', in Ansible's order (Group.get_hosts): the group's own hosts, then
 * its children's in child order, then grandchildren's level by level; each host once, where it first appears. (Ansible
 * walks levels below the children through a Python set; kvmnet takes them in the order they were reached.)
 */
export function hostsOfGroup(inv: Inventory, group: string): string[] {
  const root = inv.groups.get(group);
  if (!root) return [];
  const ordered = [group, ...root.children];
  const seen = new Set<string>();
  let level = [group, ...root.children];
  // Iterative breadth-first walk, as Group._walk_relationship(preserve_ordering=True).
  while (level.length > 0) {
    for (const g of level) seen.add(g);
    const next = new Set<string>();
    for (const g of level) {
      for (const c of inv.groups.get(g)?.children ?? []) {
        if (seen.has(c) || next.has(c)) continue;
        next.add(c);
        ordered.push(c);
      }
    }
    level = [...next];
  }
  const hosts = new Set<string>();
  for (const g of ordered) for (const h of inv.groups.get(g)?.hosts ?? []) hosts.add(h);
  // 'all' means every host, even one a hand-built inventory forgot to put in a group.
  if (group === 'all') for (const h of inv.hosts.keys()) hosts.add(h);
  return [...hosts].filter((h) => inv.hosts.has(h));
}
