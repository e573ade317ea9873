// Small named errors with a stable `code`; src/cli/exit-codes.ts is the one place that maps them to exit codes.

/** Where a problem is: a file position and a human path such as `play 1 › task 3 › ensure_ip.address`. */
export interface Location {
  file: string;
  line?: number;
  col?: number;
  path?: string;
}

export interface Diagnostic extends Location {
  severity: 'error' | 'warning';
  message: string;
}

export function formatLocation(loc: Location): string {
  let where = loc.file;
  if (loc.line !== undefined) where += `:${loc.line}`;
  if (loc.line !== undefined && loc.col !== undefined) where += `:${loc.col}`;
  return loc.path ? `${where}: ${loc.path}` : where;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.severity}: ${formatLocation(d)}: ${d.message}`;
}

export class KvmnetError extends Error {
  readonly code: string = 'KVMNET_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad inventory, playbook or command line: reported before any host is contacted. */
export class InvalidInputError extends KvmnetError {
  override readonly code = 'INVALID_INPUT';
  constructor(readonly diagnostics: Diagnostic[]) {
    super(
      diagnostics
        .filter((d) => d.severity === 'error')
        .map(formatDiagnostic)
        .join('\n'),
    );
  }
}

export class UsageError extends KvmnetError {
  override readonly code = 'USAGE';
}

/** The host could not be reached or authenticated: reported as `unreachable`, not `failed`. */
export class UnreachableError extends KvmnetError {
  override readonly code = 'UNREACHABLE';
}

export class HostKeyError extends UnreachableError {
  override readonly code = 'HOST_KEY' as 'UNREACHABLE';
}

export class CommandTimeoutError extends KvmnetError {
  override readonly code = 'COMMAND_TIMEOUT';
}

/** A remote command exited non-zero. */
export class RemoteCommandError extends KvmnetError {
  override readonly code = 'REMOTE_COMMAND';
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/**
 * sudo (become) did not run the command: it wants a password none was given, rejected the given one, or asked
 * something kvmnet cannot answer. Reported at once, with what sudo said, instead of waiting for a timeout.
 */
export class BecomeError extends KvmnetError {
  override readonly code = 'BECOME';
}

/** A planner refused a change that would be unsafe or cannot be done. */
export class RefusedError extends KvmnetError {
  override readonly code = 'REFUSED';
}

/** A template referenced an undefined variable, or rendered something invalid. */
export class RenderError extends KvmnetError {
  override readonly code = 'RENDER';
}

export class LabError extends KvmnetError {
  override readonly code = 'LAB';
}

/** A libvirt task on a host whose libvirtd cannot be reached. */
export class LibvirtUnavailableError extends RefusedError {
  override readonly code = 'LIBVIRT_UNAVAILABLE' as 'REFUSED';
}
