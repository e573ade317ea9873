// The loaded inventory. Kept apart from the loader so parsers and consumers can share it without import cycles.
import type { Location } from '../errors.js';

export interface InventoryGroup {
  name: string;
  /** Hosts listed directly in this group (not those of its children), in definition order. */
  hosts: string[];
  /** Direct child groups, in definition order. `all` lists every group that has no other parent. */
  children: string[];
  /** This group's own vars (inline, then group_vars files), before any precedence is applied. */
  vars: Record<string, unknown>;
}

export interface InventoryHost {
  name: string;
  /** host_vars only (inline host vars and host_vars files); see hostVars() for the merged view. */
  vars: Record<string, unknown>;
}

export interface Inventory {
  /** Always has 'all' and 'ungrouped'. */
  groups: Map<string, InventoryGroup>;
  /** In inventory order: the order in which hosts were first defined across all sources. */
  hosts: Map<string, InventoryHost>;
  /** Where each host was defined (for error messages). */
  hostOrigin: Map<string, { file: string; line?: number; col?: number }>;
  /** Where each variable's current value was set, per group and per host (optional: hand-built inventories may omit it). */
  varOrigins?: {
    groups: Map<string, Map<string, Location>>;
    hosts: Map<string, Map<string, Location>>;
  };
}
