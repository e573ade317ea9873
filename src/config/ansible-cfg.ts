// ansible.cfg, found and read as Ansible finds and reads it (config/manager.py): the first of ANSIBLE_CONFIG,
// ./ansible.cfg, ~/.ansible.cfg, /etc/ansible/ansible.cfg; Python's ConfigParser syntax; ANSIBLE_* environment
// variables over the file. Only the settings kvmnet has a use for.
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';

export interface AnsibleSetting<T> {
  value: T;
  /** The file it came from, or `env: ANSIBLE_X`. */
  origin: string;
}

export interface AnsibleCfg {
  file?: string;
  inventory?: AnsibleSetting<string[]>;
  remoteUser?: AnsibleSetting<string>;
  privateKeyFile?: AnsibleSetting<string>;
  forks?: AnsibleSetting<number>;
  timeout?: AnsibleSetting<number>;
  hostKeyChecking?: AnsibleSetting<boolean>;
  become?: AnsibleSetting<boolean>;
  sshArgs?: AnsibleSetting<string>;
  /** Settings that could not be read (a bad integer), with where. */
  errors: string[];
}

/** Ansible's search order; the first file that exists is the only one read. */
export function findAnsibleCfg(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | undefined {
  const candidates: string[] = [];
  const fromEnv = env['ANSIBLE_CONFIG'];
  if (fromEnv) {
    const p = resolve(cwd, expandUser(fromEnv, env));
    candidates.push(isDir(p) ? join(p, 'ansible.cfg') : p);
  }
  // Ansible ignores ./ansible.cfg in a world-writable directory (anyone could have put it there).
  if (!worldWritable(cwd)) candidates.push(join(cwd, 'ansible.cfg'));
  candidates.push(join(home(env), '.ansible.cfg'), '/etc/ansible/ansible.cfg');
  return candidates.find(isFile);
}

/** Python ConfigParser as Ansible configures it: `=` or `:`, `#`/`;` comment lines, ` ;` inline comments, indented continuation lines, lowercase keys, no interpolation. */
export function parseCfg(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  let last: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const stripped = raw.replace(/\s;.*$/, '');
    if (/^\s*[#;]/.test(raw) || stripped.trim() === '') {
      last = stripped.trim() === '' && !/^\s*[#;]/.test(raw) ? undefined : last;
      continue;
    }
    if (/^\s/.test(raw) && current && last !== undefined) {
      current.set(last, `${current.get(last)}\n${stripped.trim()}`);
      continue;
    }
    const header = /^\[([^\]]+)\]/.exec(stripped);
    if (header) {
      current = sections.get(header[1]!) ?? new Map();
      sections.set(header[1]!, current);
      last = undefined;
      continue;
    }
    const kv = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(stripped.trim());
    if (kv && current) {
      last = kv[1]!.toLowerCase();
      current.set(last, kv[2]!.trim());
    }
  }
  return sections;
}

const TRUE = new Set(['y', 'yes', 'on', '1', 'true', 't']);

export function loadAnsibleCfg(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): AnsibleCfg {
  const file = findAnsibleCfg(env, cwd);
  const cfg: AnsibleCfg = { errors: [] };
  let ini = new Map<string, Map<string, string>>();
  if (file) {
    cfg.file = file;
    try {
      ini = parseCfg(readFileSync(file, 'utf8'));
    } catch (error) {
      cfg.errors.push(`cannot read ${file}: ${(error as Error).message}`);
    }
  }
  /** ANSIBLE_X over [section] key; the raw text and where it came from. */
  const raw = (section: string, key: string, envName: string): { text: string; origin: string; base: string } | undefined => {
    const e = env[envName];
    if (e !== undefined) return { text: e, origin: `env: ${envName}`, base: cwd };
    const v = ini.get(section)?.get(key);
    return v === undefined || file === undefined ? undefined : { text: v, origin: file, base: dirname(file) };
  };
  const str = (section: string, key: string, envName: string): AnsibleSetting<string> | undefined => {
    const r = raw(section, key, envName);
    return r && { value: r.text, origin: r.origin };
  };
  const path = (text: string, base: string): string => {
    const p = expandVars(expandUser(text.trim(), env), env);
    return isAbsolute(p) ? p : resolve(base, p);
  };
  const int = (section: string, key: string, envName: string): AnsibleSetting<number> | undefined => {
    const r = raw(section, key, envName);
    if (!r) return undefined;
    if (!/^\s*[-+]?\d+\s*$/.test(r.text)) {
      cfg.errors.push(`${r.origin}: [${section}] ${key} must be an integer; found '${r.text}'`);
      return undefined;
    }
    return { value: Number(r.text), origin: r.origin };
  };
  const bool = (section: string, key: string, envName: string): AnsibleSetting<boolean> | undefined => {
    const r = raw(section, key, envName);
    return r && { value: TRUE.has(r.text.trim().toLowerCase()), origin: r.origin };
  };

  const inv = raw('defaults', 'inventory', 'ANSIBLE_INVENTORY');
  if (inv)
    cfg.inventory = {
      value: inv.text
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)
        .map((p) => path(p, inv.base)),
      origin: inv.origin,
    };
  const key = raw('defaults', 'private_key_file', 'ANSIBLE_PRIVATE_KEY_FILE');
  if (key) cfg.privateKeyFile = { value: path(key.text, key.base), origin: key.origin };
  const set = <K extends keyof AnsibleCfg>(k: K, v: AnsibleCfg[K] | undefined) => {
    if (v !== undefined) cfg[k] = v;
  };
  set('remoteUser', str('defaults', 'remote_user', 'ANSIBLE_REMOTE_USER'));
  set('forks', int('defaults', 'forks', 'ANSIBLE_FORKS'));
  set('timeout', int('defaults', 'timeout', 'ANSIBLE_TIMEOUT'));
  set('hostKeyChecking', bool('defaults', 'host_key_checking', 'ANSIBLE_HOST_KEY_CHECKING'));
  set('become', bool('privilege_escalation', 'become', 'ANSIBLE_BECOME'));
  set('sshArgs', str('ssh_connection', 'ssh_args', 'ANSIBLE_SSH_ARGS'));
  return cfg;
}

/** What `-o Key=Value` / `-oKey=Value` / `-o "Key Value"`, `-J HOPS` and `-F FILE` of ssh arguments say; other flags are ssh's own business. */
export function sshArgsOptions(args: string): { options: string[]; configFile?: string } {
  const words = shellWords(args);
  const options: string[] = [];
  let configFile: string | undefined;
  for (let i = 0; i < words.length; i += 1) {
    const w = words[i]!;
    if (w === '-o' || w === '-F' || w === '-J') {
      const v = words[i + 1];
      i += 1;
      if (v === undefined) break;
      if (w === '-o') options.push(v.replace(/^([^=\s]+)\s*=\s*/, '$1 '));
      else if (w === '-J') options.push(`ProxyJump ${v}`);
      else configFile = v;
    } else if (w.startsWith('-o')) options.push(w.slice(2).replace(/^([^=\s]+)\s*=\s*/, '$1 '));
    else if (w.startsWith('-J')) options.push(`ProxyJump ${w.slice(2)}`);
    else if (w.startsWith('-F')) configFile = w.slice(2);
  }
  return { options, ...(configFile !== undefined && { configFile }) };
}

function shellWords(text: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

// Python's expanduser: $HOME first.
function home(env: NodeJS.ProcessEnv): string {
  return env['HOME'] || homedir();
}

function expandUser(p: string, env: NodeJS.ProcessEnv): string {
  return p === '~' || p.startsWith('~/') ? home(env) + p.slice(1) : p;
}

function expandVars(p: string, env: NodeJS.ProcessEnv): string {
  return p.replace(/\$(\w+)|\$\{(\w+)\}/g, (all, a: string | undefined, b: string | undefined) => env[(a ?? b)!] ?? all);
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function worldWritable(dir: string): boolean {
  try {
    return (statSync(dir).mode & 0o002) !== 0;
  } catch {
    return false;
  }
}
