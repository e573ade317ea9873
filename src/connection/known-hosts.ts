// OpenSSH known_hosts parsing and matching (sshd(8), "SSH_KNOWN_HOSTS FILE FORMAT"): pure, so every rule is a unit test.
import { createHash, createHmac } from 'node:crypto';

export interface KnownHostEntry {
  /** 1-based line in the file. */
  line: number;
  /** The file it was read from, when several are read (UserKnownHostsFile lists, GlobalKnownHostsFile). */
  file?: string;
  marker?: 'revoked' | 'cert-authority';
  /** Comma-separated patterns (`host`, `[host]:port`, `*.lab`, `!bad`) or one hashed `|1|salt|hash`. */
  hosts: string;
  keyType: string;
  key: Buffer;
}

export type HostKeyStatus =
  | { status: 'known' }
  /** No key of this type for this host; `knownTypes` are the types that are known. */
  | { status: 'unknown'; knownTypes: string[] }
  /** A key of the same type is known and it is a different key. */
  | { status: 'changed'; known: KnownHostEntry[] }
  | { status: 'revoked'; entry: KnownHostEntry };

/** Lines that do not parse are skipped, as OpenSSH does. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, index) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === undefined || fields[0] === '' || fields[0].startsWith('#')) return;
    let marker: KnownHostEntry['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') {
      marker = fields[0] === '@revoked' ? 'revoked' : 'cert-authority';
      fields.shift();
    } else if (fields[0].startsWith('@')) return;
    const [hosts, keyType, base64] = fields;
    if (hosts === undefined || keyType === undefined || base64 === undefined) return;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return;
    const key = Buffer.from(base64, 'base64');
    if (keyTypeOfBlob(key) !== keyType) return;
    entries.push({ line: index + 1, ...(marker && { marker }), hosts, keyType, key });
  });
  return entries;
}

/** How OpenSSH names a host in known_hosts: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  const lower = host.toLowerCase();
  return port === 22 ? lower : `[${lower}]:${port}`;
}

/** Whether the `hosts` field of an entry matches `name` (as made by knownHostsName). */
export function hostsFieldMatches(hosts: string, name: string): boolean {
  return compileHostsField(hosts)(name);
}

/** The `hosts` field as a matcher: the salt decoded and the globs turned into regexes once, not per host. */
function compileHostsField(hosts: string): (name: string) => boolean {
  if (hosts.startsWith('|')) return compileHashed(hosts);
  const patterns = hosts
    .toLowerCase()
    .split(',')
    .map((pattern) => {
      const negated = pattern.startsWith('!');
      return { negated, regex: globRegex(negated ? pattern.slice(1) : pattern) };
    });
  return (name) => {
    const lower = name.toLowerCase();
    let matched = false;
    for (const { negated, regex } of patterns) {
      if (!regex.test(lower)) continue;
      if (negated) return false;
      matched = true;
    }
    return matched;
  };
}

// `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`, as written by `ssh-keygen -H`.
function compileHashed(field: string): (name: string) => boolean {
  const [, kind, salt, hash] = field.split('|');
  if (kind !== '1' || salt === undefined || hash === undefined) return () => false;
  const key = Buffer.from(salt, 'base64');
  return (name) => createHmac('sha1', key).update(name.toLowerCase()).digest('base64') === hash;
}

function globRegex(pattern: string): RegExp {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  return new RegExp(`^${regex}$`);
}

/**
 * A known_hosts file indexed for many lookups: entries whose names are all literal are found by name, only the
 * hashed and wildcard ones are tried one by one. A fleet's file has a line per host, so a run over N hosts would
 * otherwise match N × N patterns.
 */
export class KnownHostsIndex {
  private readonly byName = new Map<string, KnownHostEntry[]>();
  private readonly scanned: Array<{ entry: KnownHostEntry; matches: (name: string) => boolean }> = [];

  constructor(entries: readonly KnownHostEntry[] = []) {
    entries.forEach((e) => this.add(e));
  }

  add(entry: KnownHostEntry): void {
    const names = entry.hosts.toLowerCase().split(',');
    if (entry.hosts.startsWith('|') || names.some((n) => /[*?!]/.test(n))) {
      this.scanned.push({ entry, matches: compileHostsField(entry.hosts) });
      return;
    }
    for (const name of new Set(names)) {
      const list = this.byName.get(name);
      if (list) list.push(entry);
      else this.byName.set(name, [entry]);
    }
  }

  /** The entries whose `hosts` field matches `name`, in file order. */
  forName(name: string): KnownHostEntry[] {
    const found = [...(this.byName.get(name.toLowerCase()) ?? []), ...this.scanned.filter((s) => s.matches(name)).map((s) => s.entry)];
    return found.sort((a, b) => a.line - b.line);
  }
}

export function checkHostKey(entries: readonly KnownHostEntry[], name: string, key: Buffer): HostKeyStatus {
  const forHost = entries.filter((e) => e.marker !== 'cert-authority' && hostsFieldMatches(e.hosts, name));
  const revoked = forHost.find((e) => e.marker === 'revoked' && e.key.equals(key));
  if (revoked) return { status: 'revoked', entry: revoked };
  const plain = forHost.filter((e) => e.marker === undefined);
  if (plain.some((e) => e.key.equals(key))) return { status: 'known' };
  const type = keyTypeOfBlob(key);
  const sameType = plain.filter((e) => e.keyType === type);
  if (sameType.length > 0) return { status: 'changed', known: sameType };
  return { status: 'unknown', knownTypes: [...new Set(plain.map((e) => e.keyType))] };
}

/** The key types known for `name` (to prefer them when negotiating). */
export function knownKeyTypes(entries: readonly KnownHostEntry[], name: string): string[] {
  const types = entries.filter((e) => e.marker === undefined && hostsFieldMatches(e.hosts, name)).map((e) => e.keyType);
  return [...new Set(types)];
}

/** The key type named inside an SSH public key blob (`ssh-ed25519`, `ssh-rsa`, ...), or undefined if malformed. */
export function keyTypeOfBlob(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || blob.length < 4 + length) return undefined;
  return blob.subarray(4, 4 + length).toString('latin1');
}

/** `SHA256:` + unpadded base64 of the blob's SHA-256, exactly as `ssh-keygen -l` prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export function formatKnownHostsLine(name: string, blob: Buffer): string {
  return `${name} ${keyTypeOfBlob(blob) ?? 'unknown'} ${blob.toString('base64')}`;
}

// ssh2's default host key algorithm order; for RSA the blob type is `ssh-rsa` whatever the signature algorithm.
const HOST_KEY_ALGORITHMS_BY_TYPE: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/**
 * Host key algorithms to offer, types already in known_hosts first — as OpenSSH does, so that a host known by
 * its RSA key is not reported "unknown" because the server would otherwise pick ed25519.
 */
export function hostKeyAlgorithms(knownTypes: readonly string[]): string[] {
  const preferred = knownTypes.flatMap((t) => HOST_KEY_ALGORITHMS_BY_TYPE[t] ?? []);
  const all = Object.values(HOST_KEY_ALGORITHMS_BY_TYPE).flat();
  return [...new Set([...preferred, ...all])];
}
