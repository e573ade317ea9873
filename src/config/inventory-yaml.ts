// Ansible's YAML inventory: top-level keys are groups; each group may have hosts, children and vars.
import type { Location } from '../errors.js';
import type { InventoryBuilder } from './inventory-builder.js';
import { expandHostEntry } from './inventory-hosts.js';
import { describe, isRecord } from './inventory-util.js';
import { didYouMean } from './suggest.js';
import { locate, parseYaml, type PathSegment, type YamlSource } from './yaml-source.js';

const GROUP_KEYS = ['hosts', 'children', 'vars'];
/** Deeper than this is generated garbage, and recursion must stay bounded. */
const MAX_GROUP_DEPTH = 64;

export function loadYamlInventory(file: string, text: string, b: InventoryBuilder, opts: { maxBytes?: number } = {}): void {
  const { source, diagnostics } = parseYaml(file, text, { ansible: true, ...opts });
  b.diagnostics.push(...diagnostics);
  if (!source) return;
  new YamlInventory(source, b).root();
}

class YamlInventory {
  constructor(
    private readonly src: YamlSource,
    private readonly b: InventoryBuilder,
  ) {}

  private at(path: readonly PathSegment[], key = false): Location {
    return { file: this.src.file, ...locate(this.src, path, key) };
  }

  private error(path: readonly PathSegment[], message: string, key = false): void {
    this.b.diagnostics.push({ severity: 'error', ...this.at(path, key), message });
  }

  root(): void {
    const value = this.src.value;
    if (value === null || value === undefined) {
      this.b.diagnostics.push({ severity: 'warning', file: this.src.file, line: 1, col: 1, message: 'the inventory file is empty: it defines no hosts' });
      return;
    }
    if (!isRecord(value)) {
      this.error([], `an inventory must be a map of group names (such as \`all:\`); found ${describe(value)}`);
      return;
    }
    if (Object.hasOwn(value, 'plugin')) {
      this.error(['plugin'], 'inventory plugin configuration files are not supported: list groups and hosts instead', true);
      return;
    }
    for (const [name, body] of Object.entries(value)) {
      if (name === 'plugin') {
        this.error([name], 'inventory plugin configuration files are not supported: list groups and hosts instead', true);
      } else if (GROUP_KEYS.includes(name)) {
        this.error([name], `top-level keys are group names, so '${name}' must be inside a group (for example under \`all:\`)`, true);
      } else {
        this.group(name, body, [name], 0);
      }
    }
  }

  private group(name: string, body: unknown, path: PathSegment[], depth: number): void {
    if (name.trim() === '' || /\s/.test(name)) {
      this.error(path, `invalid group name '${name}': expected a name without spaces`, true);
      return;
    }
    if (depth > MAX_GROUP_DEPTH) {
      this.error(path, `groups are nested more than ${MAX_GROUP_DEPTH} levels deep`, true);
      return;
    }
    this.b.addGroup(name);
    if (body === null || body === undefined) return;
    if (!isRecord(body)) {
      this.error(path, `group '${name}' must be a map with hosts, children or vars (or nothing); found ${describe(body)}`);
      return;
    }
    for (const [key, value] of Object.entries(body)) {
      const p = [...path, key];
      if (key === 'hosts') this.hosts(name, value, p);
      else if (key === 'children') this.children(name, value, p, depth);
      else if (key === 'vars') this.groupVars(name, value, p);
      else this.error(p, `unknown key '${key}' in group '${name}': expected hosts, children or vars${didYouMean(key, GROUP_KEYS)}`, true);
    }
  }

  private hosts(group: string, value: unknown, path: PathSegment[]): void {
    if (value === null || value === undefined) return;
    // Ansible accepts a single host as a plain string.
    if (typeof value === 'string') return this.host(group, value, null, path, false);
    if (!isRecord(value)) {
      const hint = Array.isArray(value) ? ' (write one `name:` per line, with a colon, instead of a `- name` list)' : '';
      return this.error(path, `hosts of group '${group}' must be a map of host names; found ${describe(value)}${hint}`);
    }
    for (const [entry, vars] of Object.entries(value)) this.host(group, entry, vars, [...path, entry], true);
  }

  private host(group: string, entry: string, vars: unknown, path: PathSegment[], isKey: boolean): void {
    const expanded = expandHostEntry(entry);
    if ('error' in expanded) return this.error(path, expanded.error, isKey);
    const origin = this.at(path, isKey);
    if (vars !== null && vars !== undefined && !isRecord(vars)) {
      const hint = typeof vars === 'string' || typeof vars === 'number' ? ` (to set its address, write \`${entry}: {host: ${String(vars)}}\`)` : '';
      this.error(path, `host '${entry}' must be followed by a map of variables or nothing; found ${describe(vars)}${hint}`);
    }
    for (const name of expanded.names) {
      this.b.addHost(name, group, origin, expanded.port);
      if (isRecord(vars)) this.b.addVars({ target: 'host', name, vars, origins: this.origins(vars, path) });
    }
  }

  private children(parent: string, value: unknown, path: PathSegment[], depth: number): void {
    if (value === null || value === undefined) return;
    if (typeof value === 'string') {
      this.group(value, null, path, depth + 1);
      if (this.b.hasGroup(value)) this.b.addChild(parent, value, this.at(path));
      return;
    }
    if (!isRecord(value)) {
      const hint = Array.isArray(value) ? ' (write one `group:` per line, with a colon, instead of a `- group` list)' : '';
      return this.error(path, `children of group '${parent}' must be a map of group names; found ${describe(value)}${hint}`);
    }
    for (const [child, body] of Object.entries(value)) {
      const p = [...path, child];
      this.group(child, body, p, depth + 1);
      if (this.b.hasGroup(child)) this.b.addChild(parent, child, this.at(p, true));
    }
  }

  private groupVars(group: string, value: unknown, path: PathSegment[]): void {
    if (value === null || value === undefined) return;
    if (!isRecord(value)) return this.error(path, `vars of group '${group}' must be a map of variable names to values; found ${describe(value)}`);
    this.b.addVars({ target: 'group', name: group, vars: value, origins: this.origins(value, path) });
  }

  private origins(vars: Record<string, unknown>, path: PathSegment[]): Map<string, Location> {
    return new Map(Object.keys(vars).map((k) => [k, this.at([...path, k])]));
  }
}
