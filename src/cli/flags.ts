// The parsed command-line flags of each command: shared by main.ts (which parses them) and the
// command modules (which use them), so that neither imports the other.
import type { ShardBy, ShardSpec } from '../run/shard.js';

export interface RunFlags {
  inventory: string[];
  check?: boolean;
  dryRun?: boolean;
  diff?: boolean;
  limit?: string;
  forks: number;
  extraVars: string[];
  tags?: string[];
  skipTags?: string[];
  output: 'text' | 'json';
  verbose: number;
  /** How the recap lists hosts: `auto` fits the screen, `full` one line per host. */
  recap?: 'auto' | 'full';
  /** Also write a self-contained HTML report of the run here. */
  report?: string;
  /** With --check: save the plan here (for `kvmnet apply`). */
  out?: string;
  detailedExitcode?: boolean;
  connectTimeout?: number;
  commandTimeout?: number;
  forceHandlers?: boolean;
  waitLock?: number;
  listTasks?: boolean;
  listHosts?: boolean;
  /** This process's slice of the selected hosts (`--shard I/N`), or `auto` from the job engine's environment. */
  shard?: ShardSpec | 'auto';
  /** With --shard: keep hosts sharing a host variable or a group together. */
  shardBy?: ShardBy;
}

export interface ValidateFlags {
  inventory: string[];
  limit?: string;
  extraVars: string[];
}

export interface InventoryFlags {
  inventory: string[];
  list?: boolean;
  graph?: boolean;
  host?: string;
  /** With --list: as ansible-inventory --export. */
  export?: boolean;
}

export interface FactsFlags {
  inventory: string[];
  limit?: string;
  forks: number;
  output: 'text' | 'json';
  shard?: ShardSpec | 'auto';
  shardBy?: ShardBy;
  /** `--only a,b`: read only these facts fragments (besides the core facts). */
  only?: string;
}

export interface MergeFlags {
  /** Where to write the merged JSON Lines (default: stdout). */
  output?: string;
  /** Also write the HTML report of the merged run. */
  report?: string;
  detailedExitcode?: boolean;
}

export interface LabUpFlags {
  /** Default 3 (2 with --kernel vm). */
  hosts?: number;
  dir: string;
  prefix?: string;
  /** `--guest HOST`, repeatable: hosts that get a tiny running guest. */
  guest?: string[];
  kernel?: 'netns' | 'vm';
  libvirt?: 'system' | 'backports';
  /** `--untagged-mgmt`: the VM lab switch also puts untagged traffic of its host ports on the management network. */
  untaggedMgmt?: boolean;
  init?: 'busybox' | 'systemd';
  manager?: 'networkd' | 'networkmanager' | 'netplan' | 'ifupdown' | 'ifupdown2' | 'none';
}

export interface LabDirFlags {
  dir: string;
}
