// The OpenSSH client configuration (~/.ssh/config, /etc/ssh/ssh_config, -F FILE), evaluated as `ssh` does:
// files parsed by the `ssh-config` package, then Host/Match/Include and "first value wins" done here the way
// readconf.c does them, because the package's own compute() follows neither Include nor OpenSSH's Match rules.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { hostname as localHostname, userInfo } from 'node:os';
import { isAbsolute, join } from 'node:path';
import SSHConfig, { type Directive, type Line } from 'ssh-config';

/** Where the configuration comes from: files in order (the first value of an option wins across all of them). */
export interface SshConfigSource {
  files: readonly string[];
  /** Relative Include paths resolve against ~/.ssh for user files and /etc/ssh for the system file. */
  systemFiles?: readonly string[];
  /** `Key Value` lines given as `ssh -o` (ansible.cfg's ssh_args): read before the files. */
  options?: readonly string[];
}

/** Options that are set before the files are read, as `ssh -o` sets them (Ansible passes inventory values so). */
export interface SshPreset {
  user?: string;
  port?: number;
  identityFile?: string;
  proxyJump?: string;
}

/** What kvmnet uses of one host's configuration, with the values `ssh -G` prints (paths expanded). */
export interface SshHostConfig {
  /** The name the configuration was looked up with (ssh's command-line host). */
  alias: string;
  hostname: string;
  user: string;
  port: number;
  /** As written (tokens unexpanded, like `ssh -G`); `identityFilesExplicit` says whether they came from a file or preset. */
  identityFiles: string[];
  identityFilesExplicit: boolean;
  identitiesOnly: boolean;
  identityAgent?: string;
  proxyJump?: string;
  userKnownHostsFiles: string[];
  /** Read after the user files, never written (OpenSSH's defaults when not set). Used as written: ssh expands no `~` or token in them. */
  globalKnownHostsFiles: string[];
  strictHostKeyChecking: 'true' | 'false' | 'ask' | 'accept-new';
  hostKeyAlias?: string;
  /** Seconds; undefined = none. */
  connectTimeout?: number;
  serverAliveInterval: number;
  serverAliveCountMax: number;
  /** Options that applied to this host but kvmnet cannot honour: `ProxyCommand (~/.ssh/config)`. */
  unsupported: string[];
  /** Where each option that was set came from (lowercase option → file, or `inventory` for a preset). */
  from: Record<string, string>;
}

// The local account (read once; see localAccount below). Declared before DEFAULT_SSH_CONFIG uses it.
let account: { home: string; user: string; host: string } | undefined;

export class SshConfigError extends Error {}

export const DEFAULT_SSH_CONFIG: SshConfigSource = {
  files: [join(home(), '.ssh', 'config'), '/etc/ssh/ssh_config'],
  systemFiles: ['/etc/ssh/ssh_config'],
};

// OpenSSH 9.2's default identities, in its order (`ssh -G` prints them when no IdentityFile is set).
const DEFAULT_IDENTITY_FILES = ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_xmss', 'id_dsa'].map((f) => `~/.ssh/${f}`);

const SUPPORTED = new Set([
  'hostname',
  'user',
  'port',
  'identityfile',
  'identitiesonly',
  'identityagent',
  'proxyjump',
  'userknownhostsfile',
  'globalknownhostsfile',
  'stricthostkeychecking',
  'hostkeyalias',
  'connecttimeout',
  'serveraliveinterval',
  'serveralivecountmax',
  'include',
]);
// Options that change nothing for kvmnet's non-interactive exec sessions: not worth a warning.
const HARMLESS = new Set([
  'addkeystoagent',
  'batchmode',
  'checkhostip',
  'compression',
  'controlmaster',
  'controlpath',
  'controlpersist',
  'escapechar',
  'forwardagent',
  'forwardx11',
  'forwardx11trusted',
  'hashknownhosts',
  'loglevel',
  'requesttty',
  'sendenv',
  'setenv',
  'tcpkeepalive',
  'updatehostkeys',
  'usekeychain',
  'visualhostkey',
  'preferredauthentications',
  'passwordauthentication',
  'pubkeyauthentication',
  'kbdinteractiveauthentication',
  'gssapiauthentication',
  'gssapidelegatecredentials',
  'ignoreunknown',
  'stdinnull',
  'forkafterauthentication',
  'sessiontype',
  'logverbose',
  'syslogfacility',
  'xauthlocation',
  'exitonforwardfailure',
  'clearallforwardings',
]);
// Options that may appear many times and accumulate instead of "first wins".
const MULTI = new Set(['identityfile', 'certificatefile', 'localforward', 'remoteforward', 'dynamicforward', 'sendenv', 'setenv']);

type Values = Map<string, { values: string[]; file: string }>;

interface Pass {
  alias: string;
  originalHost: string;
  final: boolean;
  values: Values;
  wantFinal: boolean;
  unsupported: Set<string>;
}

const parsed = new Map<string, Line[] | undefined>();
const globbed = new Map<string, string[]>();

/** Resolves HOST as `ssh -G [-o preset…] HOST` would (with the files of SOURCE). */
export function resolveSshHost(host: string, source: SshConfigSource, preset: SshPreset = {}): SshHostConfig {
  // Host lines see the name as typed; the resulting hostname is lowercased (ssh.c does both).
  const alias = host;
  const values: Values = new Map();
  const set = (k: string, v: string | number | undefined) => {
    if (v !== undefined) values.set(k, { values: [String(v)], file: 'inventory' });
  };
  set('user', preset.user);
  set('port', preset.port);
  set('identityfile', preset.identityFile);
  set('proxyjump', preset.proxyJump);
  const pass: Pass = { alias, originalHost: alias, final: false, values, wantFinal: false, unsupported: new Set() };
  readAll(source, pass);
  if (pass.wantFinal) {
    // `Match final` (and `canonical`): ssh reads everything again, matching Host lines against the resolved name.
    pass.alias = expandHostname(first(values, 'hostname'), alias).toLowerCase();
    // ssh.c fixes the hostname before the final pass, so HostName lines found then change nothing.
    values.set('hostname', { values: [pass.alias], file: values.get('hostname')?.file ?? '(final pass)' });
    pass.final = true;
    readAll(source, pass);
  }
  return finish(alias, values, pass.unsupported);
}

function readAll(source: SshConfigSource, pass: Pass): void {
  if (source.options?.length) apply([...SSHConfig.parse(source.options.join('\n'))], true, pass, 'ssh_args', false, 0);
  for (const file of source.files) {
    const lines = load(file, false);
    if (lines) apply(lines, true, pass, file, source.systemFiles?.includes(file) ?? false, 0);
  }
}

function load(file: string, mustExist: boolean): Line[] | undefined {
  if (!parsed.has(file)) {
    let text: string | undefined;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || mustExist) {
        throw new SshConfigError(`cannot read ssh config ${file}: ${(error as Error).message}`, { cause: error });
      }
    }
    parsed.set(file, text === undefined ? undefined : [...SSHConfig.parse(text)]);
  }
  return parsed.get(file);
}

/** Forgets parsed files (tests rewrite them). */
export function clearSshConfigCache(): void {
  parsed.clear();
  globbed.clear();
  account = undefined;
}

function apply(lines: readonly Line[], active: boolean, pass: Pass, file: string, system: boolean, depth: number): void {
  for (const line of lines) {
    if (line.type !== SSHConfig.DIRECTIVE) continue;
    const param = line.param.toLowerCase();
    const args = argsOf(line.value);
    if ('config' in line && (param === 'host' || param === 'match')) {
      const matched = param === 'host' ? hostMatches(pass.alias, args) : matchMatches(args, pass, file);
      apply(line.config, matched, pass, file, system, depth);
      continue;
    }
    if (!active) continue;
    if (param === 'include') {
      if (depth >= 16) throw new SshConfigError(`${file}: Include nested too deeply`);
      for (const pattern of args) {
        const path = tilde(pattern);
        const full = isAbsolute(path) ? path : join(system ? '/etc/ssh' : join(home(), '.ssh'), path);
        for (const included of glob(full)) {
          const inc = load(included, false);
          if (inc) apply(inc, true, pass, included, system, depth + 1);
        }
      }
      continue;
    }
    const value = args.join(' ');
    if (!SUPPORTED.has(param) && !HARMLESS.has(param)) pass.unsupported.add(`${line.param} (${file})`);
    const known = pass.values.get(param);
    if (MULTI.has(param)) {
      if (known) known.values.push(value);
      else pass.values.set(param, { values: [value], file });
    } else if (!known) {
      // ProxyJump and ProxyCommand exclude each other: the first one set wins, as in readconf.c.
      if ((param === 'proxyjump' && pass.values.has('proxycommand')) || (param === 'proxycommand' && pass.values.has('proxyjump'))) continue;
      pass.values.set(param, { values: [value], file });
    }
  }
}

function argsOf(value: Directive['value']): string[] {
  if (typeof value === 'string') return splitArgs(value);
  return value.map((v) => v.val);
}

// The package keeps some values as one string (IdentityFile a "b c"): split it as ssh's argv_split does.
function splitArgs(text: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

function hostMatches(host: string, patterns: readonly string[]): boolean {
  let matched = false;
  for (const p of patterns) {
    const negated = p.startsWith('!');
    if (wildcard(host, negated ? p.slice(1) : p)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** OpenSSH match_pattern_list: comma-separated, `!` negates, any negative match wins. */
function patternList(value: string, list: string): boolean {
  const text = value.toLowerCase();
  let matched = false;
  for (const p of list.split(',')) {
    const negated = p.startsWith('!');
    if (wildcard(text, (negated ? p.slice(1) : p).toLowerCase())) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

function wildcard(text: string, pattern: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 's').test(text);
}

function matchMatches(args: readonly string[], pass: Pass, file: string): boolean {
  let result = true;
  for (let i = 0; i < args.length; i += 1) {
    const raw = args[i]!;
    const negate = raw.startsWith('!');
    const attr = (negate ? raw.slice(1) : raw).toLowerCase();
    let ok: boolean;
    if (attr === 'all') ok = true;
    else if (attr === 'final' || attr === 'canonical') {
      pass.wantFinal = true;
      ok = pass.final;
    } else {
      const arg = args[i + 1];
      i += 1;
      if (arg === undefined) throw new SshConfigError(`${file}: Match ${attr} needs an argument`);
      const current = pass.values;
      if (attr === 'host') ok = patternList(expandHostname(first(current, 'hostname'), pass.alias), arg);
      else if (attr === 'originalhost') ok = patternList(pass.originalHost, arg);
      else if (attr === 'user') ok = patternList(first(current, 'user') ?? localUser(), arg);
      else if (attr === 'localuser') ok = patternList(localUser(), arg);
      else {
        pass.unsupported.add(`Match ${attr} (${file})`);
        ok = false;
      }
    }
    if (ok === negate) result = false;
  }
  return result;
}

function first(values: Values, key: string): string | undefined {
  return values.get(key)?.values[0];
}

function expandHostname(hostname: string | undefined, alias: string): string {
  return hostname === undefined ? alias : hostname.replace(/%([%h])/g, (_, t: string) => (t === '%' ? '%' : alias));
}

function finish(alias: string, values: Values, unsupported: Set<string>): SshHostConfig {
  const hostname = expandHostname(first(values, 'hostname'), alias).toLowerCase();
  const user = first(values, 'user') ?? localUser();
  const port = numberOf(first(values, 'port'), 'Port') ?? 22;
  const hostKeyAlias = first(values, 'hostkeyalias');
  const tokens = { h: hostname, r: user, n: alias, p: String(port), k: hostKeyAlias ?? hostname };
  const proxyJump = first(values, 'proxyjump');
  const result: SshHostConfig = {
    alias,
    hostname,
    user,
    port,
    identityFiles: values.get('identityfile')?.values ?? DEFAULT_IDENTITY_FILES,
    identityFilesExplicit: values.has('identityfile'),
    identitiesOnly: yes(first(values, 'identitiesonly')),
    userKnownHostsFiles: (first(values, 'userknownhostsfile') ?? '~/.ssh/known_hosts ~/.ssh/known_hosts2')
      .split(/\s+/)
      .filter(Boolean)
      .map((f) => expandPath(f, tokens)),
    globalKnownHostsFiles: (first(values, 'globalknownhostsfile') ?? '/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2').split(/\s+/).filter(Boolean),
    strictHostKeyChecking: strictOf(first(values, 'stricthostkeychecking')),
    serverAliveInterval: numberOf(first(values, 'serveraliveinterval'), 'ServerAliveInterval') ?? 0,
    serverAliveCountMax: numberOf(first(values, 'serveralivecountmax'), 'ServerAliveCountMax') ?? 3,
    unsupported: [...unsupported],
    from: Object.fromEntries([...values].map(([k, v]) => [k, v.file])),
  };
  const agent = first(values, 'identityagent');
  if (agent !== undefined) result.identityAgent = agent === 'none' || agent === 'SSH_AUTH_SOCK' || agent.startsWith('$') ? agent : expandPath(agent, tokens);
  if (proxyJump !== undefined && proxyJump.toLowerCase() !== 'none') result.proxyJump = normalJump(proxyJump);
  if (hostKeyAlias !== undefined) result.hostKeyAlias = hostKeyAlias;
  const timeout = first(values, 'connecttimeout');
  if (timeout !== undefined && timeout !== 'none') result.connectTimeout = numberOf(timeout, 'ConnectTimeout');
  return result;
}

function numberOf(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new SshConfigError(`ssh config: ${option} must be a number; found '${text}'`);
  return Number(text);
}

function yes(text: string | undefined): boolean {
  return text !== undefined && /^(yes|true)$/i.test(text);
}

function strictOf(text: string | undefined): SshHostConfig['strictHostKeyChecking'] {
  const t = text?.toLowerCase();
  if (t === undefined || t === 'ask') return 'ask';
  if (t === 'yes' || t === 'true') return 'true';
  if (t === 'no' || t === 'false' || t === 'off') return 'false';
  if (t === 'accept-new') return 'accept-new';
  throw new SshConfigError(`ssh config: StrictHostKeyChecking must be yes, no, ask or accept-new; found '${text}'`);
}

/** `~` and the %-tokens OpenSSH expands in IdentityFile, UserKnownHostsFile and IdentityAgent. */
export function expandPath(path: string, tokens: { h: string; r: string; n: string; p: string; k: string; j?: string }): string {
  // Each token is computed only when the path uses it: this runs for every host of a fleet.
  const value = (t: string): string | undefined => {
    switch (t) {
      case '%':
        return '%';
      case 'd':
        return home();
      case 'u':
        return localUser();
      case 'l':
      case 'L':
        return localHost().split('.')[0]!;
      case 'i':
        return String(process.getuid?.() ?? 0);
      case 'j':
        return tokens.j ?? '';
      case 'C':
        return createHash('sha1')
          .update(`${localHost()}${tokens.h}${tokens.p}${tokens.r}${tokens.j ?? ''}`)
          .digest('hex');
      case 'h':
      case 'r':
      case 'n':
      case 'p':
      case 'k':
        return tokens[t];
      default:
        return undefined;
    }
  };
  const expanded = path.includes('%')
    ? path.replace(/%(.)/g, (all, t: string) => {
        const v = value(t);
        if (v === undefined) throw new SshConfigError(`ssh config: unknown token ${all} in '${path}'`);
        return v;
      })
    : path;
  return tilde(expanded);
}

function tilde(path: string): string {
  return path === '~' || path.startsWith('~/') ? home() + path.slice(1) : path;
}

// Include takes glob patterns; OpenSSH sorts the matches. Only the last path segments may hold wildcards here.
function glob(pattern: string): string[] {
  if (!/[*?[]/.test(pattern)) return [pattern];
  // Every host of a run reads the same Includes: list each directory once per run.
  let paths = globbed.get(pattern);
  if (!paths) globbed.set(pattern, (paths = globUncached(pattern)));
  return paths;
}

function globUncached(pattern: string): string[] {
  const parts = pattern.split('/');
  let paths = [parts[0] === '' ? '/' : '.'];
  for (const part of parts.slice(1)) {
    if (!/[*?[]/.test(part)) {
      paths = paths.map((p) => join(p, part));
      continue;
    }
    const next: string[] = [];
    for (const dir of paths) {
      let entries: string[];
      try {
        entries = readdirSync(dir);
      } catch {
        continue;
      }
      for (const e of entries.sort()) if (!e.startsWith('.') && wildcard(e, part)) next.push(join(dir, e));
    }
    paths = next;
  }
  return paths.sort();
}

// ssh uses the passwd entry, not $HOME, for ~ and %d. Read once (getpwuid reads /etc/passwd).

function localAccount(): { home: string; user: string; host: string } {
  if (!account) {
    let info: { homedir: string; username: string } | undefined;
    try {
      info = userInfo();
    } catch {
      info = undefined;
    }
    account = { home: info?.homedir ?? process.env['HOME'] ?? '/', user: info?.username ?? process.env['USER'] ?? 'root', host: localHostname() };
  }
  return account;
}

function home(): string {
  return localAccount().home;
}
function localUser(): string {
  return localAccount().user;
}
function localHost(): string {
  return localAccount().host;
}

export interface JumpSpec {
  user?: string;
  host: string;
  port?: number;
}

/** `[user@]host[:port]` or `ssh://[user@]host[:port]`, comma-separated, as ProxyJump and `ssh -J` take them. */
export function parseProxyJump(spec: string): JumpSpec[] {
  return spec.split(',').map((one) => {
    const text = one.trim().replace(/^ssh:\/\//, '');
    const at = text.lastIndexOf('@');
    const user = at === -1 ? undefined : text.slice(0, at);
    const rest = at === -1 ? text : text.slice(at + 1);
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest) ?? /^([^:[\]\s]+)(?::(\d+))?$/.exec(rest);
    const port = m?.[2] === undefined ? undefined : Number(m[2]);
    if (!m?.[1] || user === '' || (port !== undefined && !(port >= 1 && port <= 65535))) {
      throw new SshConfigError(`invalid jump host '${one}' in '${spec}': expected [user@]host[:port]`);
    }
    return { host: m[1], ...(user !== undefined && { user }), ...(port !== undefined && { port }) };
  });
}

/**
 * The hops of a ProxyJump chain, first hop first, each resolved through the configuration as ssh does it: the
 * last hop is dialled with `-J <the others>` (so its own ProxyJump is replaced), the first with its own config.
 */
export function resolveJumpChain(spec: string, source: SshConfigSource, depth = 0): SshHostConfig[] {
  if (depth > 8) throw new SshConfigError(`ProxyJump chain too long or looping at '${spec}'`);
  const hops = parseProxyJump(spec);
  const last = hops[hops.length - 1]!;
  const rest = hops.slice(0, -1).map(formatJump).join(',');
  const preset: SshPreset = {
    ...(last.user !== undefined && { user: last.user }),
    ...(last.port !== undefined && { port: last.port }),
    ...(rest && { proxyJump: rest }),
  };
  const hop = resolveSshHost(last.host, source, preset);
  const before = hop.proxyJump === undefined ? [] : resolveJumpChain(hop.proxyJump, source, depth + 1);
  return [...before, hop];
}

function formatJump(j: JumpSpec): string {
  const host = j.host.includes(':') ? `[${j.host}]` : j.host;
  return `${j.user !== undefined ? `${j.user}@` : ''}${host}${j.port !== undefined ? `:${j.port}` : ''}`;
}

// ssh keeps the first hops as written and rebuilds the last one from its parts (`ssh://u@h` prints as `u@h`).
function normalJump(spec: string): string {
  const hops = parseProxyJump(spec);
  const cut = spec.lastIndexOf(',');
  return `${cut === -1 ? '' : spec.slice(0, cut + 1)}${formatJump(hops[hops.length - 1]!)}`;
}
