// The parsed command-line flags of each command: shared by main.ts (which parses them) and the
// command modules (which use them), so that neither imports the other.

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
  detailedExitcode?: boolean;
  connectTimeout?: number;
  commandTimeout?: number;
  forceHandlers?: boolean;
  waitLock?: number;
  listTasks?: boolean;
  listHosts?: boolean;
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
}

export interface LabUpFlags {
  hosts: number;
  dir: string;
  prefix?: string;
}

export interface LabDirFlags {
  dir: string;
}
