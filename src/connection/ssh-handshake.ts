// One SSH handshake (TCP or over a forwarded stream) up to an authenticated ssh2 Client, with failures in words.
import type { Readable } from 'node:stream';
import type { Client, ServerHostKeyAlgorithm } from 'ssh2';
// ssh2's client alone (ssh2-parts.d.ts says why); CommonJS: Node's ESM loader sees its default export.
import SshClient from 'ssh2/lib/client.js';
import { UnreachableError } from '../errors.js';
import { makeAuthHandler, type AuthStep } from './ssh-auth.js';
import { prepareHostKeyCheck, type HostKeyPolicy } from './ssh-host-key.js';

export interface HandshakeOptions {
  host: string;
  port: number;
  user: string;
  /** Prefix of every message: `hv1 (198.18.0.11:22)`. */
  label: string;
  hostKey: HostKeyPolicy;
  auth: { steps: AuthStep[]; skipped: string[] };
  readyTimeoutMs: number;
  keepaliveIntervalMs: number;
  keepaliveCountMax?: number;
  /** A stream forwarded by a jump host, instead of a new TCP connection. */
  sock?: Readable;
}

const transient = new WeakSet<object>();

/** Whether a connection failure may go away by itself (refused, reset, timed out), so that retrying makes sense. */
export function isTransient(error: unknown): boolean {
  return typeof error === 'object' && error !== null && transient.has(error);
}

export function markTransient<E extends object>(error: E): E {
  transient.add(error);
  return error;
}

export async function handshake(options: HandshakeOptions): Promise<Client> {
  const check = await prepareHostKeyCheck(options.hostKey);
  const tried: string[] = [];
  const client = new SshClient();
  return new Promise<Client>((resolve, reject) => {
    let settled = false;
    const fail = (error: UnreachableError) => {
      if (settled) return;
      settled = true;
      client.destroy();
      reject(error);
    };
    client.on('error', (error: Error & { level?: string }) => {
      // An unusable agent is reported as an error, but ssh2 goes on with the next method.
      if (error.level === 'agent') return;
      fail(describeFailure(error, check.refusal, tried, options));
    });
    client.once('close', () => fail(markTransient(new UnreachableError(`${options.label}: connection closed during the SSH handshake`))));
    client.once('ready', () => {
      settled = true;
      resolve(client);
    });
    try {
      client.connect({
        host: options.host,
        port: options.port,
        username: options.user,
        ...(options.sock && { sock: options.sock }),
        readyTimeout: options.readyTimeoutMs,
        keepaliveInterval: options.keepaliveIntervalMs,
        keepaliveCountMax: options.keepaliveCountMax ?? 3,
        algorithms: { serverHostKey: check.algorithms as ServerHostKeyAlgorithm[] },
        hostVerifier: (key: Buffer, verify: (accept: boolean) => void) => check.verify(key, verify),
        authHandler: makeAuthHandler(options.auth.steps, options.user, tried),
      });
    } catch (error) {
      fail(new UnreachableError(`${options.label}: ${(error as Error).message}`, { cause: error }));
    }
  });
}

const SOCKET_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network unreachable',
  EAI_AGAIN: 'temporary failure resolving the host name',
};

function describeFailure(
  error: Error & { level?: string; code?: unknown },
  refusal: UnreachableError | undefined,
  tried: readonly string[],
  options: HandshakeOptions,
): UnreachableError {
  if (refusal) return refusal;
  const { label } = options;
  const code = typeof error.code === 'string' ? error.code : undefined;
  if (code !== undefined && code in SOCKET_ERRORS) {
    return markTransient(new UnreachableError(`${label}: ${SOCKET_ERRORS[code]}`, { cause: error }));
  }
  if (code === 'ENOTFOUND') return new UnreachableError(`${label}: host name not found`, { cause: error });
  if (error.level === 'client-timeout' && /handshake/.test(error.message)) {
    return markTransient(new UnreachableError(`${label}: no SSH handshake and login within ${options.readyTimeoutMs} ms`, { cause: error }));
  }
  // A DISCONNECT (numeric code) once authentication started is the server giving up ("Too many authentication failures").
  if (error.level === 'client-authentication' || (typeof error.code === 'number' && tried.length > 0)) {
    const server = error.level === 'client-authentication' ? '' : `; the server said: ${error.message}`;
    return new UnreachableError(`${label}: ${authFailure(options, tried)}${server}`, { cause: error });
  }
  if (/Connection lost before handshake/.test(error.message)) {
    return markTransient(new UnreachableError(`${label}: connection lost before the SSH handshake`, { cause: error }));
  }
  return new UnreachableError(`${label}: ${error.message}`, { cause: error });
}

function authFailure(options: HandshakeOptions, tried: readonly string[]): string {
  const what = tried.length ? `tried: ${tried.join(', ')}` : 'nothing to try: no ssh key, password or agent, and no default key in ~/.ssh';
  const skipped = options.auth.skipped.length ? `; skipped: ${options.auth.skipped.join(', ')}` : '';
  return `authentication failed for ${options.user} (${what}${skipped})`;
}
