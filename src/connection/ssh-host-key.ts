// Host key verification against known_hosts, with the side effects (reading, appending) kept out of known-hosts.ts.
import { appendFile, mkdir, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HostKeyError } from '../errors.js';
import {
  checkHostKey,
  fingerprint,
  formatKnownHostsLine,
  hostKeyAlgorithms,
  knownHostsName,
  knownKeyTypes,
  KnownHostsIndex,
  parseKnownHosts,
  type KnownHostEntry,
} from './known-hosts.js';

export interface HostKeyPolicy {
  /** `hv1 (198.18.0.11)`: how messages name the host. */
  label: string;
  host: string;
  port: number;
  /** Read first; new keys are added here (accept-new). */
  knownHosts: string;
  /** Read after `knownHosts`, in order, never written (the other UserKnownHostsFile, GlobalKnownHostsFile). */
  extraKnownHosts?: readonly string[];
  mode: 'strict' | 'accept-new' | 'off';
  /** ssh config HostKeyAlias: look the key up (and save it) under this name, without a port, as ssh does. */
  alias?: string;
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
  const name = policy.alias ?? knownHostsName(policy.host, policy.port);
  const paths = [policy.knownHosts, ...(policy.extraKnownHosts ?? []).filter((p) => p !== policy.knownHosts)];
  const files = policy.mode === 'off' ? [] : await Promise.all(paths.map((p) => knownHostsFile(p)));
  const file = files[0];
  // As OpenSSH: the entries of every file count (a key known in any is known, revoked in any is revoked).
  const entries = files.flatMap((f, i) => f.index.forName(name).map((e) => ({ ...e, file: paths[i]! })));
  const where = (e: KnownHostEntry) => `${e.file ?? policy.knownHosts}:${e.line}`;
  // Messages name the first file and the others that exist (not OpenSSH's absent defaults).
  const named = paths.filter((p, i) => i === 0 || files[i]?.stamp !== 'missing');
  const searched = named.length > 1 ? `${named.slice(0, -1).join(', ')} or ${named.at(-1)}` : policy.knownHosts;
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
          return refuse(new HostKeyError(`host key ${presented} of ${policy.label} is marked @revoked in ${where(status.entry)}`), done);
        case 'changed':
          return refuse(changedKeyError(policy, name, status.known, presented, where), done);
        case 'unknown':
          if (policy.mode === 'strict') {
            const others = status.knownTypes.length ? ` (only ${status.knownTypes.join(', ')} keys are known)` : '';
            return refuse(new HostKeyError(`host key for ${policy.label} is not in ${searched}${others}; its SHA256 fingerprint is ${presented}`), done);
          }
          appendKnownHost(policy.knownHosts, file!, formatKnownHostsLine(name, key)).then(
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

function changedKeyError(policy: HostKeyPolicy, name: string, known: KnownHostEntry[], presented: string, where: (e: KnownHostEntry) => string): HostKeyError {
  const old = known.map((e) => `${fingerprint(e.key)} (${where(e)})`).join(', ');
  const holding = [...new Set(known.map((e) => e.file ?? policy.knownHosts))];
  return new HostKeyError(
    `REMOTE HOST KEY CHANGED for ${policy.label}: known_hosts has ${known[0]?.keyType} key ${old}, ` +
      `the host now presents ${presented}. Someone may be intercepting the connection, or the host was reinstalled; ` +
      `if you are sure, remove the old key (${holding.map((f) => `ssh-keygen -R '${name}' -f ${f}`).join('; ')}) and connect again`,
  );
}

/** One known_hosts file as read: parsed and indexed once per change of the file, not once per host. */
interface KnownHostsFile {
  /** size, mtime and inode when read: a file changed since is read again. */
  stamp: string;
  index: KnownHostsIndex;
  lines: number;
  endsWithNewline: boolean;
  /** Appends of this run, one after the other (each gets the next line number). */
  appending: Promise<void>;
}

const cache = new Map<string, Promise<KnownHostsFile>>();

async function knownHostsFile(path: string): Promise<KnownHostsFile> {
  const stamp = await fileStamp(path);
  const cached = cache.get(path);
  if (cached && (await cached).stamp === stamp) return cached;
  const loading = readKnownHosts(path, stamp);
  cache.set(path, loading);
  loading.catch(() => cache.delete(path));
  return loading;
}

// Hosts that connect at the same moment share one stat (a fleet's 500 handshakes at once each paid
// their own: ~0.4 ms of CPU per host in a profile of 1000 simulated hosts).
const stamping = new Map<string, Promise<string>>();

function fileStamp(path: string): Promise<string> {
  let pending = stamping.get(path);
  if (!pending) {
    pending = stat(path).then(
      (s) => `${s.size}:${s.mtimeMs}:${s.ino}`,
      () => 'missing',
    );
    stamping.set(path, pending);
    void pending.finally(() => stamping.delete(path));
  }
  return pending;
}

async function readKnownHosts(path: string, stamp: string): Promise<KnownHostsFile> {
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new HostKeyError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
    }
  }
  const lines = text === '' ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  return { stamp, index: new KnownHostsIndex(parseKnownHosts(text)), lines, endsWithNewline: text === '' || text.endsWith('\n'), appending: Promise.resolve() };
}

// Appends, never rewrites: an existing (even changed) entry is the user's to remove.
function appendKnownHost(path: string, file: KnownHostsFile, line: string): Promise<void> {
  const append = async () => {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await appendFile(path, `${file.endsWithNewline ? '' : '\n'}${line}\n`, { mode: 0o600 });
    file.endsWithNewline = true;
    file.lines += 1;
    // The cached index learns the new line, so the next host or connection does not read the file again.
    for (const entry of parseKnownHosts(line)) file.index.add({ ...entry, line: file.lines });
    file.stamp = await fileStamp(path);
  };
  const done = file.appending.then(append);
  file.appending = done.catch(() => undefined);
  return done;
}
