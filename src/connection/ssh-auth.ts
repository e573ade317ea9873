// Which credentials to offer, in which order, and the ssh2 authHandler that offers them.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { AnyAuthMethod, AuthHandlerMiddleware, ParsedKey } from 'ssh2';
// ssh2's key parser alone (ssh2-parts.d.ts says why); CommonJS: Node's ESM loader sees its default export.
import keyParser from 'ssh2/lib/protocol/keyParser.js';

export interface AuthHooks {
  /** Asks the user for a key's passphrase (the CLI wires this to a TTY prompt). */
  passphrase?: (keyPath: string) => Promise<string | undefined>;
}

export interface AuthCredentials {
  sshKey?: string;
  sshPassword?: string;
  /** ssh config IdentityFile: tried after sshKey, missing files skipped; they replace the default keys. */
  identityFiles?: readonly string[];
  /** ssh config IdentitiesOnly: offer the files only, not the agent. */
  identitiesOnly?: boolean;
  /** ssh config IdentityAgent: a socket path, `none`, `SSH_AUTH_SOCK` or `$VAR`. */
  identityAgent?: string;
}

/** One method to try, with the words that name it in "tried: ..." (never a secret). */
export interface AuthStep {
  label: string;
  method: (username: string) => AnyAuthMethod;
}

/** A key that cannot be used, with the reason: an explicit key fails the connection, a default key is skipped. */
export class KeyLoadError extends Error {}

const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

export function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
}

/**
 * Explicit key, then the agent, then (only when neither a key nor a password is configured) the default keys that
 * exist, then password and keyboard-interactive. Keys are read and decrypted here, before connecting, because ssh2's
 * readyTimeout also runs while authenticating and a passphrase prompt would outlast it.
 */
export async function loadAuthSteps(
  creds: AuthCredentials,
  hooks: AuthHooks,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ steps: AuthStep[]; skipped: string[] }> {
  const steps: AuthStep[] = [];
  const skipped: string[] = [];
  const agent = creds.identitiesOnly ? undefined : agentSocket(creds.identityAgent, env);
  if (creds.sshKey !== undefined) {
    const path = resolve(expandHome(creds.sshKey));
    steps.push(keyStep(path, await loadKey(path, { env, hooks, prompt: true })));
  }
  if (agent) steps.push({ label: 'agent', method: (username) => ({ type: 'agent', username, agent }) });
  // Keys the ssh config names are optional, as in ssh: a missing one is skipped.
  const optionalKeys =
    creds.identityFiles !== undefined
      ? creds.identityFiles.filter((f) => creds.sshKey === undefined || resolve(expandHome(f)) !== resolve(expandHome(creds.sshKey)))
      : creds.sshKey === undefined && creds.sshPassword === undefined
        ? DEFAULT_KEYS.map((name) => join(homedir(), '.ssh', name))
        : [];
  for (const key of optionalKeys) {
    const path = resolve(expandHome(key));
    try {
      // With an agent running, the agent usually holds these keys: do not prompt for them.
      steps.push(keyStep(path, await loadKey(path, { env, hooks, prompt: !agent, optional: true })));
    } catch (error) {
      if (error instanceof KeyLoadError) skipped.push(`key ${path} (${error.message})`);
      else if (!isNotFound(error)) throw error;
    }
  }
  const password = creds.sshPassword;
  if (password !== undefined) {
    steps.push({ label: 'password', method: (username) => ({ type: 'password', username, password }) });
    steps.push({
      label: 'keyboard-interactive',
      method: (username) => ({
        type: 'keyboard-interactive',
        username,
        prompt: (_name, _instructions, _lang, prompts, finish) => finish(prompts.map(() => password)),
      }),
    });
  }
  return { steps, skipped };
}

function agentSocket(identityAgent: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (identityAgent === undefined || identityAgent === 'SSH_AUTH_SOCK') return env.SSH_AUTH_SOCK || undefined;
  if (identityAgent === 'none') return undefined;
  if (identityAgent.startsWith('$')) return env[identityAgent.slice(1)] || undefined;
  return identityAgent;
}

function keyStep(path: string, key: ParsedKey): AuthStep {
  return { label: `key ${path}`, method: (username) => ({ type: 'publickey', username, key }) };
}

// One decryption (and at most one prompt) per key file for the whole run, however many hosts use it.
const keyCache = new Map<string, Promise<ParsedKey>>();

async function loadKey(path: string, options: { env: NodeJS.ProcessEnv; hooks: AuthHooks; prompt: boolean; optional?: boolean }): Promise<ParsedKey> {
  const cacheKey = `${path}\0${options.prompt}`;
  let loading = keyCache.get(cacheKey);
  if (!loading) {
    loading = readAndParseKey(path, options);
    keyCache.set(cacheKey, loading);
    // A failure (missing file, no passphrase yet) is not remembered: the next host may succeed.
    loading.catch(() => keyCache.delete(cacheKey));
  }
  return loading;
}

async function readAndParseKey(path: string, options: { env: NodeJS.ProcessEnv; hooks: AuthHooks; prompt: boolean; optional?: boolean }): Promise<ParsedKey> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (error) {
    if (options.optional && isNotFound(error)) throw error;
    throw new KeyLoadError(`cannot read ssh key ${path}: ${(error as Error).message}`, { cause: error });
  }
  let parsed = firstKey(keyParser.parseKey(data));
  if (parsed instanceof Error && /passphrase/i.test(parsed.message)) {
    const passphrase = options.env.KVMNET_SSH_PASSPHRASE ?? (options.prompt ? await options.hooks.passphrase?.(path) : undefined);
    if (passphrase === undefined) throw new KeyLoadError(`ssh key ${path} is encrypted and no passphrase was given`);
    parsed = firstKey(keyParser.parseKey(data, passphrase));
    if (parsed instanceof Error) throw new KeyLoadError(`cannot decrypt ssh key ${path}: wrong passphrase?`);
  }
  if (parsed instanceof Error) throw new KeyLoadError(`cannot parse ssh key ${path}: ${parsed.message}`);
  if (!parsed.isPrivateKey()) throw new KeyLoadError(`ssh key ${path} is a public key, not a private key`);
  return parsed;
}

function firstKey(parsed: ParsedKey | ParsedKey[] | Error): ParsedKey | Error {
  return Array.isArray(parsed) ? (parsed[0] ?? new Error('no key in file')) : parsed;
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/**
 * Offers the steps in order, skipping those the server says it does not accept. `tried` receives the label of
 * each step actually offered, for the "authentication failed ... (tried: ...)" message.
 */
export function makeAuthHandler(steps: readonly AuthStep[], username: string, tried: string[]): AuthHandlerMiddleware {
  const queue = [...steps];
  return (methodsLeft, _partialSuccess, next) => {
    for (let step = queue.shift(); step; step = queue.shift()) {
      const method = step.method(username);
      // The agent signs with `publickey`; `methodsLeft` is null before the server has named any.
      const wireName = method.type === 'agent' ? 'publickey' : method.type;
      if (methodsLeft && !methodsLeft.includes(wireName)) continue;
      tried.push(step.label);
      next(method);
      return;
    }
    // ssh2 takes `false` as "nothing left to try", which its typings do not admit.
    next(false as unknown as AnyAuthMethod);
  };
}
