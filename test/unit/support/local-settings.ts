// Connection settings for the local transport (`sh -c` on this machine), shared by unit tests.
import type { ConnectionSettings } from '../../../src/connection/types.js';

export const localSettings: ConnectionSettings = {
  name: 'controller',
  host: 'localhost',
  port: 22,
  user: 'root',
  become: false,
  knownHosts: '/nonexistent',
  hostKeyChecking: 'strict',
  connection: 'local',
  connectTimeoutMs: 1000,
  commandTimeoutMs: 5000,
  keepaliveIntervalMs: 0,
};
