// Collects what the parsers find, then builds the Inventory once: cycles, `all`/`ungrouped` and var layering.
import type { Diagnostic, Location } from '../errors.js';
import type { Inventory, InventoryGroup, VarBag, VarsFileSet } from './inventory-types.js';
import { copyVar } from './inventory-util.js';

export interface VarLayer {
  target: 'group' | 'host';
  name: string;
  vars: Record<string, unknown>;
  /** Where each of `vars` was set. */
  origins: Map<string, Location>;
}

/** Names known once every source has been parsed (group_vars/host_vars are matched against them). */
export interface KnownNames {
  groups: ReadonlySet<string>;
  hosts: ReadonlySet<string>;
}

interface GroupDraft {
  name: string;
  hosts: string[];
  hostSet: Set<string>;
  children: string[];
  childSet: Set<string>;
}

interface Edge {
  parent: string;
  child: string;
  origin: Location;
}

export class InventoryBuilder {
  private readonly groups = new Map<string, GroupDraft>();
  private readonly hostOrigin = new Map<string, Location>();
  private readonly edges: Edge[] = [];
  // Inline vars, in the order they were seen (a later source overrides an earlier one).
  private readonly layers: VarLayer[] = [];
  // group_vars/ and host_vars/ folders, one entry per source: resolved once every name is known.
  private readonly varsDirs: Array<(known: KnownNames) => VarLayer[]> = [];

  constructor(readonly diagnostics: Diagnostic[]) {
    this.addGroup('all');
    this.addGroup('ungrouped');
    // As Ansible's InventoryData: 'ungrouped' is the first child of 'all', before any group a source names.
    this.addChild('all', 'ungrouped', { file: '<inventory>' });
  }

  hasGroup(name: string): boolean {
    return this.groups.has(name);
  }

  hasHost(name: string): boolean {
    return this.hostOrigin.has(name);
  }

  groupNames(): string[] {
    return [...this.groups.keys()];
  }

  addGroup(name: string): void {
    if (!this.groups.has(name)) {
      this.groups.set(name, { name, hosts: [], hostSet: new Set(), children: [], childSet: new Set() });
    }
  }

  /** `port` (from `name:port`) becomes `ansible_port` when the host is new, as in Ansible: a later `name:port` is ignored. */
  addHost(name: string, group: string, origin: Location, port?: number): void {
    this.addGroup(group);
    if (!this.hostOrigin.has(name)) {
      this.hostOrigin.set(name, origin);
      if (port !== undefined) this.addVars({ target: 'host', name, vars: { ansible_port: port }, origins: new Map([['ansible_port', origin]]) });
    }
    const g = this.groups.get(group)!;
    if (!g.hostSet.has(name)) {
      g.hostSet.add(name);
      g.hosts.push(name);
    }
  }

  addChild(parent: string, child: string, origin: Location): void {
    if (child === 'all') {
      this.diagnostics.push({ severity: 'error', ...origin, message: `group 'all' cannot be a child of '${parent}': 'all' is the ancestor of every group` });
      return;
    }
    this.addGroup(parent);
    this.addGroup(child);
    const p = this.groups.get(parent)!;
    if (p.childSet.has(child)) return;
    p.childSet.add(child);
    p.children.push(child);
    this.edges.push({ parent, child, origin });
  }

  addVars(layer: VarLayer): void {
    this.layers.push(layer);
  }

  /** One source's group_vars/ and host_vars/: resolved against the final set of names, kept apart from inline vars. */
  addVarsFiles(fn: (known: KnownNames) => VarLayer[]): void {
    this.varsDirs.push(fn);
  }

  build(): Inventory {
    this.breakCycles();
    this.reconcile();
    const known: KnownNames = { groups: new Set(this.groups.keys()), hosts: new Set(this.hostOrigin.keys()) };

    const groupVars = new Map<string, Record<string, unknown>>();
    const hostVars = new Map<string, Record<string, unknown>>();
    const varOrigins = { groups: new Map<string, Map<string, Location>>(), hosts: new Map<string, Map<string, Location>>() };
    for (const g of this.groups.keys()) {
      groupVars.set(g, {});
      varOrigins.groups.set(g, new Map());
    }
    for (const h of this.hostOrigin.keys()) {
      hostVars.set(h, {});
      varOrigins.hosts.set(h, new Map());
    }
    const priorities = new Map<string, number>();
    for (const layer of this.layers) {
      const vars = (layer.target === 'group' ? groupVars : hostVars).get(layer.name);
      const origins = (layer.target === 'group' ? varOrigins.groups : varOrigins.hosts).get(layer.name);
      if (!vars || !origins) continue; // parsers only add layers for names they defined
      for (const [k, v] of Object.entries(layer.vars)) {
        // Ansible's Group.set_variable: an inline ansible_group_priority sets the group's priority, it is no variable.
        if (layer.target === 'group' && k === 'ansible_group_priority') {
          const p = typeof v === 'string' && /^\s*[-+]?\d+\s*$/.test(v) ? Number(v) : v;
          if (typeof p === 'number' && Number.isInteger(p)) priorities.set(layer.name, p);
          else
            this.diagnostics.push({
              severity: 'error',
              ...(layer.origins.get(k) ?? { file: '<inventory>' }),
              message: `ansible_group_priority of group '${layer.name}' must be an integer; found ${JSON.stringify(v)}`,
            });
          continue;
        }
        copyVar(vars, k, layer.vars);
        const o = layer.origins.get(k);
        if (o) origins.set(k, o);
      }
    }
    const varsFiles: VarsFileSet[] = this.varsDirs.map((fn) => {
      const set: VarsFileSet = { groups: new Map(), hosts: new Map() };
      for (const layer of fn(known)) {
        const bags = layer.target === 'group' ? set.groups : set.hosts;
        let bag: VarBag | undefined = bags.get(layer.name);
        if (!bag) bags.set(layer.name, (bag = { vars: {}, origins: new Map() }));
        for (const k of Object.keys(layer.vars)) {
          copyVar(bag.vars, k, layer.vars);
          const o = layer.origins.get(k);
          if (o) bag.origins.set(k, o);
        }
      }
      return set;
    });

    const groups = new Map<string, InventoryGroup>();
    for (const g of this.groups.values()) {
      const group: InventoryGroup = { name: g.name, hosts: g.hosts, children: g.children, vars: groupVars.get(g.name)! };
      const p = priorities.get(g.name);
      if (p !== undefined) group.priority = p;
      groups.set(g.name, group);
    }
    const hosts = new Map([...this.hostOrigin.keys()].map((h) => [h, { name: h, vars: hostVars.get(h)! }] as const));
    return { groups, hosts, hostOrigin: this.hostOrigin, varOrigins, varsFiles };
  }

  /** Depth-first from every group in definition order; an edge back into the current path closes a cycle and is dropped. */
  private breakCycles(): void {
    const edgeOrigin = new Map(this.edges.map((e) => [`${e.parent}\u0000${e.child}`, e.origin]));
    const state = new Map<string, 'active' | 'done'>();
    for (const root of this.groups.keys()) {
      if (state.has(root)) continue;
      // Iterative, so a 100 000-group chain cannot overflow the stack.
      const stack: Array<{ name: string; next: number }> = [{ name: root, next: 0 }];
      state.set(root, 'active');
      while (stack.length > 0) {
        const frame = stack[stack.length - 1]!;
        const group = this.groups.get(frame.name)!;
        if (frame.next >= group.children.length) {
          state.set(frame.name, 'done');
          stack.pop();
          continue;
        }
        const child = group.children[frame.next]!;
        const s = state.get(child);
        if (s === 'active') {
          const path = [...stack.slice(stack.findIndex((f) => f.name === child)).map((f) => f.name), child];
          const origin = edgeOrigin.get(`${frame.name}\u0000${child}`) ?? { file: '<inventory>' };
          this.diagnostics.push({
            severity: 'error',
            ...origin,
            // A generated chain can be thousands of groups long: show its ends.
            message: `group '${child}' is its own ancestor: ${(path.length > 9 ? [...path.slice(0, 4), '…', ...path.slice(-4)] : path).join(' → ')}`,
          });
          group.children.splice(frame.next, 1);
          group.childSet.delete(child);
          continue;
        }
        frame.next++;
        if (s === undefined) {
          state.set(child, 'active');
          stack.push({ name: child, next: 0 });
        }
      }
    }
  }

  /** Ansible's reconcile_inventory: parentless groups hang under `all`; hosts in no other group go to `ungrouped`. */
  private reconcile(): void {
    const hasParent = new Set<string>();
    for (const g of this.groups.values()) for (const c of g.children) hasParent.add(c);
    const all = this.groups.get('all')!;
    for (const name of this.groups.keys()) {
      if (name !== 'all' && !hasParent.has(name) && !all.childSet.has(name)) {
        all.childSet.add(name);
        all.children.push(name);
      }
    }
    const grouped = new Set<string>();
    for (const g of this.groups.values()) {
      if (g.name === 'all' || g.name === 'ungrouped') continue;
      for (const h of g.hosts) grouped.add(h);
    }
    const ungrouped = this.groups.get('ungrouped')!;
    ungrouped.hosts = ungrouped.hosts.filter((h) => !grouped.has(h));
    ungrouped.hostSet = new Set(ungrouped.hosts);
    for (const h of this.hostOrigin.keys()) {
      if (!grouped.has(h) && !ungrouped.hostSet.has(h)) {
        ungrouped.hostSet.add(h);
        ungrouped.hosts.push(h);
      }
    }
  }
}
