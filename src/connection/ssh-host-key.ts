// Host key verification against known_hosts, with the side effects (reading, appending) kept out of known-hosts.ts.
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HostKeyError } from '../errors.js';
import {
  checkHostKey,
  fingerprint,
  formatKnownHostsLine,
  hostKeyAlgorithms,
  knownHostsName,
  knownKeyTypes,
  parseKnownHosts,
  type KnownHostEntry,
} from './known-hosts.js';

export interface HostKeyPolicy {
  /** `hv1 (198.18.0.11)`: how messages name the host. */
  label: string;
  host: string;
  port: number;
  knownHosts: string;
  mode: 'strict' | 'accept-new' | 'off';
  warn(message: string): void;
}

export interface HostKeyCheck {
  /** Host key algorithms to offer, the ones known for this host first. */
  algorithms: string[];
  /** For ssh2's `hostVerifier`. */
  verify(key: Buffer, done: (accept: boolean) => void): void;
  /** Why the key was refused, once `verify` has refused it. */
  readonly refusal: HostKeyError | undefined;
}

export async function prepareHostKeyCheck(policy: HostKeyPolicy): Promise<HostKeyCheck> {
  const name = knownHostsName(policy.host, policy.port);
  const { entries, text } =
    policy.mode === 'off' ? { entries: [], text: '' } : await readKnownHosts(policy.knownHosts);
  let refusal: HostKeyError | undefined;
  let accepted: Buffer | undefined;
  const refuse = (error: HostKeyError, done: (accept: boolean) => void) => {
    refusal = error;
    done(false);
  };
  return {
    algorithms: hostKeyAlgorithms(knownKeyTypes(entries, name)),
    get refusal() {
      return refusal;
    },
    verify(key, done) {
      // ssh2 asks again on every re-key: the key accepted once stays accepted (and is not appended twice).
      if (accepted?.equals(key)) return done(true);
      const accept = () => {
        accepted = key;
        done(true);
      };
      const presented = fingerprint(key);
      if (policy.mode === 'off') {
        policy.warn(`host key checking is off: accepted ${policy.label} with key ${presented} without verifying it`);
        return accept();
      }
      const status = checkHostKey(entries, name, key);
      switch (status.status) {
        case 'known':
          return accept();
        case 'revoked':
          return refuse(
            new HostKeyError(
              `host key ${presented} of ${policy.label} is marked @revoked in ${policy.knownHosts}:${status.entry.line}`,
            ),
            done,
          );
        case 'changed':
          return refuse(changedKeyError(policy, name, status.known, presented), done);
        case 'unknown':
          if (policy.mode === 'strict') {
            const others = status.knownTypes.length ? ` (only ${status.knownTypes.join(', ')} keys are known)` : '';
            return refuse(
              new HostKeyError(
                `host key for ${policy.label} is not in ${policy.knownHosts}${others}; its SHA256 fingerprint is ${presented}`,
              ),
              done,
            );
          }
          appendKnownHost(policy.knownHosts, text, formatKnownHostsLine(name, key)).then(
            () => {
              policy.warn(`added host key ${presented} for ${policy.label} to ${policy.knownHosts}`);
              accept();
            },
            (error: unknown) =>
              refuse(
                new HostKeyError(`cannot add the host key of ${policy.label} to ${policy.knownHosts}: ${String(error)}`, {
                  cause: error,
                }),
                done,
              ),
          );
      }
    },
  };
}

function changedKeyError(
  policy: HostKeyPolicy,
  name: string,
  known: KnownHostEntry[],
  presented: string,
): HostKeyError {
  const old = known.map((e) => `${fingerprint(e.key)} (${policy.knownHosts}:${e.line})`).join(', ');
  return new HostKeyError(
    `REMOTE HOST KEY CHANGED for ${policy.label}: known_hosts has ${known[0]?.keyType} key ${old}, ` +
      `the host now presents ${presented}. Someone may be intercepting the connection, or the host was reinstalled; ` +
      `if you are sure, remove the old key (ssh-keygen -R '${name}' -f ${policy.knownHosts}) and connect again`,
  );
}

async function readKnownHosts(path: string): Promise<{ entries: KnownHostEntry[]; text: string }> {
  try {
    const text = await readFile(path, 'utf8');
    return { entries: parseKnownHosts(text), text };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], text: '' };
    throw new HostKeyError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}

// Appends, never rewrites: an existing (even changed) entry is the user's to remove.
async function appendKnownHost(path: string, textBefore: string, line: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const separator = textBefore === '' || textBefore.endsWith('\n') ? '' : '\n';
  await appendFile(path, `${separator}${line}\n`, { mode: 0o600 });
}
