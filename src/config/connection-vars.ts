// Inventory vars → ConnectionSettings: kvmnet names, Ansible aliases, defaults and validation with clear messages.
import { userInfo } from 'node:os';
import type { ConnectionSettings } from '../connection/types.js';
import type { Diagnostic, Location } from '../errors.js';
import { expandHome } from './inventory-sources.js';
import { describe } from './inventory-util.js';
import { applySshConfig, SshConfigError } from './ssh-client-settings.js';

export const CONNECTION_DEFAULTS = { port: 22, connectTimeoutMs: 10_000, commandTimeoutMs: 120_000, keepaliveIntervalMs: 15_000 } as const;

/** kvmnet name → Ansible names it also accepts, in priority order. The kvmnet name wins when both are set. */
export const CONNECTION_VAR_ALIASES = {
  host: ['ansible_host', 'ansible_ssh_host'],
  port: ['ansible_port', 'ansible_ssh_port'],
  user: ['ansible_user', 'ansible_ssh_user'],
  ssh_key: ['ansible_ssh_private_key_file', 'ansible_private_key_file'],
  ssh_password: ['ansible_password', 'ansible_ssh_pass', 'ansible_ssh_password'],
  become: ['ansible_become'],
  become_password: ['ansible_become_password', 'ansible_become_pass'],
  jump: [],
  known_hosts: [],
  host_key_checking: ['ansible_host_key_checking'],
  connection: ['ansible_connection'],
  connect_timeout: ['ansible_timeout', 'ansible_ssh_timeout'],
  command_timeout: [],
  ssh_config: [],
  ssh_common_args: ['ansible_ssh_common_args'],
  ssh_extra_args: ['ansible_ssh_extra_args'],
} as const satisfies Record<string, readonly string[]>;

type VarName = keyof typeof CONNECTION_VAR_ALIASES;

const SECRETS = new Set<string>(['ssh_password', 'become_password', ...CONNECTION_VAR_ALIASES.ssh_password, ...CONNECTION_VAR_ALIASES.become_password]);

const TEMPLATE = /\{\{|\{%/;

// Ansible's boolean(): what `become: yes` and INI's `become=true` (a string there) mean.
const TRUE = new Set(['y', 'yes', 'on', '1', 'true', 't']);
const FALSE = new Set(['n', 'no', 'off', '0', 'false', 'f']);

let defaults: Partial<Record<VarName, unknown>> = {};

/** Values under every inventory variable (ansible.cfg's remote_user, private_key_file…): used where no name of the setting is set. */
export function setConnectionDefaults(values: Partial<Record<VarName, unknown>>): void {
  defaults = values;
}

export function resolveConnectionVars(
  name: string,
  hostVars: Record<string, unknown>,
  where: { file: string; line?: number; col?: number },
  /** Where a variable was set (inventory varOrigin); diagnostics point there instead of at the host. */
  originOf?: (variable: string) => Location | undefined,
): { settings?: ConnectionSettings; diagnostics: Diagnostic[]; notices?: string[] } {
  const diagnostics: Diagnostic[] = [];
  let failed = false;
  const vars = { ...hostVars };
  for (const [key, value] of Object.entries(defaults) as Array<[VarName, unknown]>) {
    if (![key, ...CONNECTION_VAR_ALIASES[key]].some((n) => vars[n] !== undefined && vars[n] !== null)) vars[key] = value;
  }

  /** The value of a setting and the variable name it came from. */
  const pick = (key: VarName): { value: unknown; from: string } | undefined => {
    const names = [key, ...CONNECTION_VAR_ALIASES[key]];
    const set = names.filter((n) => Object.hasOwn(vars, n) && vars[n] !== null && vars[n] !== undefined);
    const first = set[0];
    if (first === undefined) return undefined;
    for (const other of set.slice(1)) {
      if (vars[other] !== vars[first]) {
        const values = SECRETS.has(first) ? '' : ` (${show(vars[first])} over ${show(vars[other])})`;
        diagnostics.push({
          severity: 'warning',
          ...(originOf?.(other) ?? where),
          message: `host '${name}': both '${first}' and '${other}' are set; using '${first}'${values}`,
        });
      }
    }
    return { value: vars[first], from: first };
  };
  // Ansible renders Jinja in connection variables; kvmnet would connect to the literal text, so say so before connecting.
  const templated = (from: string, value: string): undefined => {
    failed = true;
    diagnostics.push({
      severity: 'error',
      ...(originOf?.(from) ?? where),
      message: `host '${name}': variable '${from}' is a template ('${SECRETS.has(from) ? '…' : value}'): templates are not evaluated in connection variables; give the value itself`,
    });
    return undefined;
  };
  const fail: Fail = (from, value, expected) => {
    failed = true;
    // Never echo a password, even a malformed one.
    const found = SECRETS.has(from) ? `a ${Array.isArray(value) ? 'list' : typeof value}` : describe(value);
    diagnostics.push({ severity: 'error', ...(originOf?.(from) ?? where), message: `host '${name}': variable '${from}' must be ${expected}; found ${found}` });
    return undefined;
  };

  const text = (key: VarName, opts: { spaces?: boolean } = {}): string | undefined => {
    const got = pick(key);
    if (!got) return undefined;
    const { value, from } = got;
    if (typeof value !== 'string') return fail(from, value, `a string${typeof value === 'number' ? ' (quote it in YAML)' : ''}`);
    if (value === '') return fail(from, value, 'a non-empty string');
    if (TEMPLATE.test(value)) return templated(from, value);
    if (!opts.spaces && /\s/.test(value)) return fail(from, value, 'a string without whitespace');
    return value;
  };
  const bool = (key: VarName): boolean | undefined => {
    const got = pick(key);
    if (!got) return undefined;
    const v = got.value;
    if (typeof v === 'boolean') return v;
    const s = typeof v === 'number' || typeof v === 'string' ? String(v).trim().toLowerCase() : undefined;
    if (s !== undefined && TRUE.has(s)) return true;
    if (s !== undefined && FALSE.has(s)) return false;
    return fail(got.from, v, 'a boolean (true or false)');
  };
  const seconds = (key: VarName, fallbackMs: number): number => {
    const got = pick(key);
    if (!got) return fallbackMs;
    const n = typeof got.value === 'string' && got.value.trim() !== '' ? Number(got.value) : got.value;
    if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) return fail(got.from, got.value, 'a positive number of seconds') ?? fallbackMs;
    return Math.round(n * 1000);
  };

  const hostVar = text('host');
  const host = hostVar ?? name;
  const port = portOf(pick('port'), fail);
  const userVar = text('user');
  const user = userVar ?? currentUser();
  if (user === undefined) {
    failed = true;
    diagnostics.push({ severity: 'error', ...where, message: `host '${name}': cannot tell the current user name: set the 'user' variable` });
  }
  const sshKey = text('ssh_key', { spaces: true });
  const sshPassword = secret(pick('ssh_password'), fail);
  const become = bool('become') ?? false;
  const becomePassword = secret(pick('become_password'), fail);
  const jump = text('jump');
  if (jump !== undefined && !/^(?:[^@\s]+@)?(?:\[[0-9A-Fa-f:.%]+\]|[^\s@:[\]]+)(?::\d{1,5})?$/.test(jump)) {
    fail('jump', jump, "a bastion as 'user@host:port' (user and port optional)");
  }
  const knownHosts = text('known_hosts', { spaces: true });
  const hostKeyChecking = hostKeyCheckingOf(pick('host_key_checking'), fail);
  const connection = connectionOf(pick('connection'), fail);
  const connectTimeoutMs = seconds('connect_timeout', CONNECTION_DEFAULTS.connectTimeoutMs);
  const sshConfig = text('ssh_config', { spaces: true });
  // Ansible puts these after its own -o User=/Port=…: they lose to the inventory's values, beat the config files.
  const sshArgs = [text('ssh_common_args', { spaces: true }), text('ssh_extra_args', { spaces: true })].filter((a): a is string => a !== undefined).join(' ');
  const commandTimeoutMs = seconds('command_timeout', CONNECTION_DEFAULTS.commandTimeoutMs);

  if (failed || user === undefined) return { diagnostics };
  const settings: ConnectionSettings = {
    name,
    host,
    port: port ?? CONNECTION_DEFAULTS.port,
    user,
    become,
    knownHosts: expandHome(knownHosts ?? '~/.ssh/known_hosts'),
    hostKeyChecking: hostKeyChecking ?? 'strict',
    connection: connection ?? 'ssh',
    connectTimeoutMs,
    commandTimeoutMs,
    keepaliveIntervalMs: CONNECTION_DEFAULTS.keepaliveIntervalMs,
  };
  // Optional fields are left out rather than set to undefined (exactOptionalPropertyTypes-friendly, and cleaner to print).
  if (sshKey !== undefined) settings.sshKey = expandHome(sshKey);
  if (sshPassword !== undefined) settings.sshPassword = sshPassword;
  if (becomePassword !== undefined) settings.becomePassword = becomePassword;
  if (jump !== undefined) settings.jump = jump;
  if (settings.connection === 'ssh') {
    try {
      const { fields, unsupported } = applySshConfig({
        name,
        ...(hostVar !== undefined && { host: hostVar }),
        ...(port !== undefined && { port }),
        ...(userVar !== undefined && { user: userVar }),
        ...(sshKey !== undefined && { sshKey: expandHome(sshKey) }),
        ...(knownHosts !== undefined && { knownHosts: expandHome(knownHosts) }),
        ...(hostKeyChecking !== undefined && { hostKeyChecking }),
        ...(pick('connect_timeout') && { connectTimeoutMs }),
        ...(jump !== undefined && { jump }),
        ...(sshConfig !== undefined && { sshConfig }),
        ...(sshArgs !== '' && { sshArgs }),
      });
      Object.assign(settings, fields);
      // Shown once per run by the caller (shownOnce), not as a diagnostic per host.
      if (unsupported.length) return { settings, diagnostics, notices: unsupported };
    } catch (error) {
      if (!(error instanceof SshConfigError)) throw error;
      diagnostics.push({ severity: 'error', ...(originOf?.('ssh_config') ?? where), message: `host '${name}': ${error.message}` });
      return { diagnostics };
    }
  }
  return { settings, diagnostics };
}

type Fail = (from: string, value: unknown, expected: string) => undefined;
type Picked = { value: unknown; from: string } | undefined;

function portOf(got: Picked, fail: Fail): number | undefined {
  if (!got) return undefined;
  const v = got.value;
  if (typeof v === 'string' && TEMPLATE.test(v)) return fail(got.from, v, 'an integer from 1 to 65535 (templates are not evaluated in connection variables)');
  const n = typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535) return n;
  return fail(got.from, v, 'an integer from 1 to 65535');
}

/** Passwords must be strings: YAML turns `123456` into a number and `0123` into 123, silently changing them. */
function secret(got: Picked, fail: Fail): string | undefined {
  if (!got) return undefined;
  if (typeof got.value === 'string') return got.value;
  return fail(got.from, got.value, 'a string (quote it in YAML)');
}

function hostKeyCheckingOf(got: Picked, fail: Fail): ConnectionSettings['hostKeyChecking'] | undefined {
  if (!got) return undefined;
  const v = got.value;
  if (v === 'strict' || v === 'accept-new' || v === 'off') return v;
  // Ansible's host_key_checking is a boolean: true means verify, false means don't.
  const s = typeof v === 'boolean' ? String(v) : typeof v === 'string' ? v.toLowerCase() : undefined;
  if (s !== undefined && TRUE.has(s)) return 'strict';
  if (s !== undefined && FALSE.has(s)) return 'off';
  return fail(got.from, v, "one of 'strict', 'accept-new' or 'off'");
}

function connectionOf(got: Picked, fail: Fail): ConnectionSettings['connection'] | undefined {
  if (!got) return undefined;
  const v = got.value;
  if (v === 'ssh' || v === 'local') return v;
  // Ansible's other SSH transports all mean "over SSH" here.
  if (v === 'paramiko' || v === 'smart') return 'ssh';
  return fail(got.from, v, "'ssh' or 'local'");
}

function currentUser(): string | undefined {
  try {
    return userInfo().username || undefined;
  } catch {
    // No passwd entry (some containers): fall back to the environment.
    return process.env['USER'] || process.env['LOGNAME'] || undefined;
  }
}

function show(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v));
}
