// The OpenSSH client configuration applied to a host's connection settings, with Ansible's precedence: what the
// inventory sets is passed as `ssh -o` would pass it (so it wins, and `Match user` sees it); the rest comes from
// the ssh config, then kvmnet's defaults.
import { readFileSync } from 'node:fs';
import { sshArgsOptions } from './ansible-cfg.js';
import type { ConnectionSettings, JumpHop } from '../connection/types.js';
import { DEFAULT_SSH_CONFIG, resolveJumpChain, resolveSshHost, SshConfigError, expandPath, type SshConfigSource, type SshHostConfig } from './ssh-config.js';

/** What the inventory said about the connection, before any default. */
export interface InventoryConnection {
  name: string;
  /** ansible_host / host: the name given to ssh (looked up in Host lines), else the inventory name. */
  host?: string;
  port?: number;
  user?: string;
  sshKey?: string;
  knownHosts?: string;
  hostKeyChecking?: ConnectionSettings['hostKeyChecking'];
  connectTimeoutMs?: number;
  /** The `jump` variable: when set, it replaces ProxyJump and keeps kvmnet's meaning (target's user and key). */
  jump?: string;
  /** The `ssh_config` variable: a file or `none`. */
  sshConfig?: string;
  /** ansible_ssh_common_args + ansible_ssh_extra_args: their -o, -J and -F. */
  sshArgs?: string;
}

export type SshConfigFields = Pick<ConnectionSettings, 'host' | 'port' | 'user'> &
  Partial<
    Pick<
      ConnectionSettings,
      | 'knownHosts'
      | 'extraKnownHosts'
      | 'hostKeyChecking'
      | 'connectTimeoutMs'
      | 'keepaliveIntervalMs'
      | 'keepaliveCountMax'
      | 'identityFiles'
      | 'identitiesOnly'
      | 'identityAgent'
      | 'hostKeyAlias'
      | 'jumps'
      | 'jump'
    >
  >;

let cliFile: string | undefined;
let cliOptions: string[] = [];

/** `-F FILE` of the command line (`none` = read no ssh config); the `ssh_config` variable still wins. */
export function setSshConfigFile(file: string | undefined, options: string[] = []): void {
  cliFile = file;
  cliOptions = options;
}

export function sshConfigSource(variable: string | undefined, hostArgs?: { options: string[]; configFile?: string }): SshConfigSource {
  const chosen = variable ?? hostArgs?.configFile ?? cliFile;
  const all = [...(hostArgs?.options ?? []), ...cliOptions];
  const options = all.length ? { options: all } : {};
  if (chosen === undefined) return { ...DEFAULT_SSH_CONFIG, ...options };
  if (chosen === 'none') return { files: [], ...options };
  return { files: [expandPath(chosen, { h: '', r: '', n: '', p: '', k: '' })], ...options };
}

const shown = new WeakMap<object, Set<string>>();

/** Whether MESSAGE is new for this run (RUN: any object living as long as the run, e.g. its reporter). */
export function shownOnce(run: object, message: string): boolean {
  let seen = shown.get(run);
  if (!seen) shown.set(run, (seen = new Set()));
  if (seen.has(message)) return false;
  seen.add(message);
  return true;
}

/** Throws SshConfigError for a config kvmnet cannot read (bad number, unknown token, unreadable -F file). */
export function applySshConfig(inv: InventoryConnection): { fields: SshConfigFields; unsupported: string[] } {
  const hostArgs = inv.sshArgs === undefined ? undefined : sshArgsOptions(inv.sshArgs);
  const source = sshConfigSource(inv.sshConfig, hostArgs);
  for (const file of inv.sshConfig !== undefined || hostArgs?.configFile !== undefined || cliFile !== undefined ? source.files : []) assertReadable(file);
  const alias = inv.host ?? inv.name;
  const c = resolveSshHost(alias, source, {
    ...(inv.user !== undefined && { user: inv.user }),
    ...(inv.port !== undefined && { port: inv.port }),
    ...(inv.sshKey !== undefined && { identityFile: inv.sshKey }),
    ...(inv.jump !== undefined && { proxyJump: 'none' }),
  });
  const fields: SshConfigFields = { host: c.hostname, port: c.port, user: c.user, ...hostFields(c, inv) };
  const unsupported = [...c.unsupported];
  if (inv.jump !== undefined) fields.jump = inv.jump;
  else if (c.proxyJump !== undefined) {
    // ssh hands its -o options to none of the bastions (its ProxyJump command line carries only -F).
    const hops = resolveJumpChain(c.proxyJump, { files: source.files, ...(source.systemFiles && { systemFiles: source.systemFiles }) });
    fields.jump = c.proxyJump;
    fields.jumps = hops.map((h) => hopOf(h, inv));
    for (const h of hops) unsupported.push(...h.unsupported);
  }
  return { fields, unsupported: [...new Set(unsupported)].map((u) => `ssh config: kvmnet does not honour ${u}`) };
}

/** The fields the config sets for HOST itself (inventory values were presets, so they already won). */
function hostFields(c: SshHostConfig, inv: Pick<InventoryConnection, 'knownHosts' | 'hostKeyChecking' | 'connectTimeoutMs'>): Partial<SshConfigFields> {
  const out: Partial<SshConfigFields> = {};
  const set = (k: string) => c.from[k] !== undefined && c.from[k] !== 'inventory';
  // As OpenSSH: every UserKnownHostsFile is read and new keys go to the first; the inventory's known_hosts replaces
  // them all (as `ssh -o UserKnownHostsFile=…` would); GlobalKnownHostsFile is read after them in any case.
  const userFiles = inv.knownHosts === undefined ? c.userKnownHostsFiles : [];
  if (inv.knownHosts === undefined && set('userknownhostsfile')) out.knownHosts = userFiles[0]!;
  const extra = [...userFiles.slice(1), ...c.globalKnownHostsFiles];
  if (extra.length) out.extraKnownHosts = extra;
  if (inv.hostKeyChecking === undefined && set('stricthostkeychecking')) out.hostKeyChecking = checkingOf(c.strictHostKeyChecking);
  if (inv.connectTimeoutMs === undefined && c.connectTimeout !== undefined) out.connectTimeoutMs = c.connectTimeout * 1000;
  if (c.serverAliveInterval > 0) out.keepaliveIntervalMs = c.serverAliveInterval * 1000;
  if (set('serveralivecountmax')) out.keepaliveCountMax = c.serverAliveCountMax;
  if (c.identityFilesExplicit) {
    const tokens = { h: c.hostname, r: c.user, n: c.alias, p: String(c.port), k: c.hostKeyAlias ?? c.hostname };
    // The inventory key is offered first anyway (sshKey); the config's come after it.
    const files = c.identityFiles.filter((_, i) => !(i === 0 && c.from['identityfile'] === 'inventory'));
    if (files.length) out.identityFiles = files.map((f) => expandPath(f, tokens));
  }
  if (c.identitiesOnly) out.identitiesOnly = true;
  if (c.identityAgent !== undefined) out.identityAgent = c.identityAgent;
  if (c.hostKeyAlias !== undefined) out.hostKeyAlias = c.hostKeyAlias;
  return out;
}

/** A bastion: its own config first; the host's known_hosts and checking from the inventory as the fallback. */
function hopOf(h: SshHostConfig, inv: InventoryConnection): JumpHop {
  // A bastion whose config names no known hosts files uses the inventory's, as the host does (and the same extra files).
  const own = h.from['userknownhostsfile'] !== undefined;
  const f = hostFields(h, own || inv.knownHosts === undefined ? {} : { knownHosts: inv.knownHosts });
  const hop: JumpHop = {
    name: h.alias,
    host: h.hostname,
    port: h.port,
    user: h.user,
    knownHosts: f.knownHosts ?? inv.knownHosts ?? '~/.ssh/known_hosts',
    ...(f.extraKnownHosts && { extraKnownHosts: f.extraKnownHosts }),
    hostKeyChecking: f.hostKeyChecking ?? inv.hostKeyChecking ?? 'strict',
  };
  if (f.identityFiles) hop.identityFiles = f.identityFiles;
  if (f.identitiesOnly) hop.identitiesOnly = true;
  if (f.identityAgent !== undefined) hop.identityAgent = f.identityAgent;
  if (f.hostKeyAlias !== undefined) hop.hostKeyAlias = f.hostKeyAlias;
  return hop;
}

// kvmnet never asks: `ask` refuses an unknown key like `yes`.
function checkingOf(v: SshHostConfig['strictHostKeyChecking']): ConnectionSettings['hostKeyChecking'] {
  return v === 'false' ? 'off' : v === 'accept-new' ? 'accept-new' : 'strict';
}

// An explicitly chosen file must exist (ssh -F says "Can't open user config file").
function assertReadable(file: string): void {
  try {
    readFileSync(file);
  } catch (error) {
    throw new SshConfigError(`cannot read ssh config ${file}: ${(error as Error).message}`, { cause: error });
  }
}

export { SshConfigError };
