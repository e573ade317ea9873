// The loaded inventory. Kept apart from the loader so parsers and consumers can share it without import cycles.
import type { Location } from '../errors.js';

export interface InventoryGroup {
  name: string;
  /** Hosts listed directly in this group (not those of its children), in definition order. */
  hosts: string[];
  /** Direct child groups, in definition order. `all` lists every group that has no other parent. */
  children: string[];
  /** This group's inline vars (INI `[g:vars]`, YAML `vars:`), every source merged; group_vars/ files are in `varsFiles`. */
  vars: Record<string, unknown>;
  /** `ansible_group_priority` set inline (Ansible takes it out of the vars); 1 when not set. */
  priority?: number;
}

export interface InventoryHost {
  name: string;
  /** Inline host vars only (host_vars/ files are in `varsFiles`); see hostVars() for the merged view. */
  vars: Record<string, unknown>;
}

export interface Inventory {
  /** Always has 'all' and 'ungrouped'. */
  groups: Map<string, InventoryGroup>;
  /** In inventory order: the order in which hosts were first defined across all sources. */
  hosts: Map<string, InventoryHost>;
  /** Where each host was defined (for error messages). */
  hostOrigin: Map<string, { file: string; line?: number; col?: number }>;
  /**
   * group_vars/ and host_vars/ files, one entry per inventory source in `-i` order (a folder read again for a later
   * source that shares it): Ansible applies them after ALL inline vars of the same kind (optional: hand-built inventories).
   */
  varsFiles?: VarsFileSet[];
  /** Where each variable's current value was set, per group and per host (optional: hand-built inventories may omit it). */
  varOrigins?: {
    groups: Map<string, Map<string, Location>>;
    hosts: Map<string, Map<string, Location>>;
  };
}

export interface VarBag {
  vars: Record<string, unknown>;
  origins: Map<string, Location>;
}

/** What one source's group_vars/ and host_vars/ folders give each group and host, files merged in name order. */
export interface VarsFileSet {
  groups: Map<string, VarBag>;
  hosts: Map<string, VarBag>;
}

/** Ansible's C.LOCALHOST: names a pattern may use for this machine even when the inventory does not list it. */
export const LOCALHOST_NAMES: readonly string[] = ['127.0.0.1', 'localhost', '::1'];
