// The narrow interface every transport implements (pyinfra connectors/base.py is the model).

export interface ExecOptions {
  /** Written to the command's stdin, then stdin is closed. Never put secrets in the command itself. */
  stdin?: string;
  /** Overrides the connection's per-command timeout. */
  timeoutMs?: number;
  /** The command is this many commands' worth of work: the connection's timeout is multiplied by it. */
  timeoutFactor?: number;
  /** Sees the command's stdout as it arrives (progress of a long script). */
  onStdout?: (text: string) => void;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** null when the process was killed by a signal. */
  exitCode: number | null;
  /** The signal that killed the process (`SIGTERM`), when exitCode is null. */
  signal?: string;
}

export interface ConnectionStats {
  connections: number;
  execs: number;
}

export interface Connection {
  /**
   * Runs a POSIX shell command line on the host (through sudo when `become`). Rejects only on transport errors,
   * timeouts, and a sudo that did not run the command (BecomeError: no password given, a rejected one, a question).
   */
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  close(): Promise<void>;
  readonly stats: ConnectionStats;
  /** How long setting the connection up took (TCP + SSH handshake + auth, through a bastion too). */
  readonly connectMs?: number;
  /** The address the controller connected to, as the host sees its own side (for "which interface carries SSH"). */
  readonly description: string;
}

export interface ConnectionSettings {
  /** Inventory name, used in messages. */
  name: string;
  host: string;
  port: number;
  user: string;
  sshKey?: string;
  sshPassword?: string;
  become: boolean;
  becomePassword?: string;
  /** `user@host:port` of a bastion. */
  jump?: string;
  /** Where host keys are looked up first and new ones are added (accept-new): the first UserKnownHostsFile. */
  knownHosts: string;
  /** More known_hosts files, read in order after `knownHosts`, never written: the other UserKnownHostsFile, then GlobalKnownHostsFile. */
  extraKnownHosts?: string[];
  hostKeyChecking: 'strict' | 'accept-new' | 'off';
  connection: 'ssh' | 'local';
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  keepaliveIntervalMs: number;
  /** Unanswered keepalives before the connection counts as lost (ssh config ServerAliveCountMax; default 3). */
  keepaliveCountMax?: number;
  /** ssh config IdentityFile: tried after sshKey, missing ones skipped; they replace the default keys. */
  identityFiles?: string[];
  identitiesOnly?: boolean;
  /** ssh config IdentityAgent: a socket path, `none`, `SSH_AUTH_SOCK` or `$VAR`. */
  identityAgent?: string;
  /** ssh config HostKeyAlias: the name the host key is looked up and saved under. */
  hostKeyAlias?: string;
  /** Bastions, first hop first, each resolved through the ssh config. When set, `jump` is only for messages. */
  jumps?: JumpHop[];
}

/** One bastion of a ProxyJump chain, with its own credentials and host key checking. */
export interface JumpHop {
  /** The name it was given in ProxyJump / `jump`. */
  name: string;
  host: string;
  port: number;
  user: string;
  sshKey?: string;
  sshPassword?: string;
  identityFiles?: string[];
  identitiesOnly?: boolean;
  identityAgent?: string;
  knownHosts: string;
  extraKnownHosts?: string[];
  hostKeyChecking: 'strict' | 'accept-new' | 'off';
  hostKeyAlias?: string;
}
