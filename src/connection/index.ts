// Picks the transport for a host; the rest of kvmnet only sees `Connection`.
import { connectLocal } from './local.js';
import { connectSsh, type SshHooks } from './ssh.js';
import type { Connection, ConnectionSettings } from './types.js';

export type { Connection, ConnectionSettings, ConnectionStats, ExecOptions, ExecResult } from './types.js';
export type { SshHooks } from './ssh.js';
export { shellJoin, shellQuote } from './quote.js';

export async function connect(settings: ConnectionSettings, hooks?: SshHooks): Promise<Connection> {
  return settings.connection === 'local' ? connectLocal(settings, hooks) : connectSsh(settings, hooks);
}
