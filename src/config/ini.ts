// Ansible's INI inventory format: [group], [group:vars], [group:children], host lines with inline key=value vars.
import type { Location } from '../errors.js';
import type { InventoryBuilder } from './inventory-builder.js';
import { expandHostEntry } from './inventory-hosts.js';
import { parseIniTyped } from './inventory-literal.js';
import { markFloat, setOwn } from './inventory-util.js';
import { didYouMean } from './suggest.js';

export interface Word {
  value: string;
  /** Offset of the word's first character (its opening quote, if quoted). */
  start: number;
}

/**
 * Splits a line into words like Python's shlex.split(posix=True), which Ansible uses for host lines and -e:
 * quotes group, backslash escapes, and with `comments` a `#` (even inside a word) starts a comment.
 */
export function splitWords(text: string, comments: boolean): { words: Word[]; error?: { message: string; offset: number } } {
  const words: Word[] = [];
  let cur: Word | undefined;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      if (cur) words.push(cur);
      cur = undefined;
      i++;
      continue;
    }
    if (comments && c === '#') break;
    cur ??= { value: '', start: i };
    if (c === '\\') {
      if (i + 1 >= text.length) return { words, error: { message: 'a backslash at the end of the line escapes nothing', offset: i } };
      cur.value += text[i + 1];
      i += 2;
    } else if (c === "'" || c === '"') {
      const close = findClosingQuote(text, i);
      if (close === -1) return { words, error: { message: `unterminated ${c === '"' ? 'double' : 'single'} quote: expected a closing ${c}`, offset: i } };
      const body = text.slice(i + 1, close);
      // Inside double quotes only \" and \\ are escapes (POSIX shell rules).
      cur.value += c === '"' ? body.replace(/\\(["\\])/g, '$1') : body;
      i = close + 1;
    } else {
      cur.value += c;
      i++;
    }
  }
  if (cur) words.push(cur);
  return { words };
}

function findClosingQuote(text: string, open: number): number {
  const q = text[open];
  for (let i = open + 1; i < text.length; i++) {
    if (q === '"' && text[i] === '\\') i++;
    else if (text[i] === q) return i;
  }
  return -1;
}

const SECTION = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:[#;].*)?$/;
const GROUP_NAME = /^([^:\]\s]+)\s*(?:[#;].*)?$/;
const SECTION_KINDS = ['hosts', 'children', 'vars'];
const IPV6_HOST = /^\[[0-9A-Fa-f:.%]*:[0-9A-Fa-f:.%]*\]:\d/;

type State = 'hosts' | 'children' | 'vars' | 'skip';

/** Parses one INI inventory file into the builder; every bad line becomes a diagnostic and parsing goes on. */
export function loadIniInventory(file: string, text: string, b: InventoryBuilder): void {
  const err = (line: number, col: number, message: string): void => {
    b.diagnostics.push({ severity: 'error', file, line, col, message });
  };
  // A group counts as defined by [g] or [g:children] here, or by an earlier source; [g:vars] alone does not (as in Ansible).
  const declared = new Set(b.groupNames());
  const pendingVars = new Map<string, Location>();
  const pendingChildren = new Map<string, { parent: string; at: Location }>();
  // As in Ansible, `[p:children]` listing a group not seen yet adds the child only when the child's own section
  // appears: that decides the order of p's children (and so of p's hosts).
  const deferredEdges = new Map<string, Array<{ parent: string; at: Location }>>();
  let group = 'ungrouped';
  let state: State = 'hosts';

  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  lines.forEach((raw, index) => {
    const lineNo = index + 1;
    const lead = raw.length - raw.trimStart().length;
    const line = raw.trim();
    if (line === '' || line[0] === '#' || line[0] === ';') return;

    // `[2001:db8::11]:2200 …` is a host (an IPv6 address with a port), not a section: as in Ansible, only a line that
    // also ends in ']' must be a section header.
    if (line[0] === '[' && !(IPV6_HOST.test(line) && !line.endsWith(']'))) {
      const m = SECTION.exec(line);
      if (!m) {
        const why = line.includes(']') ? 'a section header is [group], [group:vars] or [group:children], with no spaces' : "missing ']'";
        err(lineNo, lead + 1, `invalid section header '${line}': ${why}`);
        state = 'skip';
        return;
      }
      const name = m[1]!;
      const kind = m[2] ?? 'hosts';
      if (!SECTION_KINDS.includes(kind)) {
        err(
          lineNo,
          lead + name.length + 3,
          `section [${name}:${kind}] has unknown type '${kind}': expected hosts, children or vars${didYouMean(kind, SECTION_KINDS)}`,
        );
        state = 'skip';
        return;
      }
      group = name;
      state = kind as State;
      b.addGroup(name);
      const waiting = kind !== 'vars' ? deferredEdges.get(name) : undefined;
      if (waiting) {
        deferredEdges.delete(name);
        for (const e of waiting) b.addChild(e.parent, name, e.at);
      }
      if (kind !== 'vars') declared.add(name);
      else if (!declared.has(name) && !pendingVars.has(name)) pendingVars.set(name, { file, line: lineNo, col: lead + 2 });
      return;
    }

    const at: Location = { file, line: lineNo, col: lead + 1 };
    if (state === 'skip') return;
    if (state === 'vars') {
      const eq = line.indexOf('=');
      if (eq === -1) return err(lineNo, lead + 1, `expected key=value in [${group}:vars], found '${line}'`);
      const key = line.slice(0, eq).trim();
      if (key === '' || /\s/.test(key))
        return err(lineNo, lead + 1, `invalid variable name '${key}' in [${group}:vars]: expected a name without spaces before '='`);
      const typed = parseIniTyped(line.slice(eq + 1).trim());
      const vars: Record<string, unknown> = {};
      setOwn(vars, key, typed.value);
      if (typed.float) markFloat(vars, key);
      b.addVars({ target: 'group', name: group, vars, origins: new Map([[key, at]]) });
      return;
    }
    if (state === 'children') {
      const m = GROUP_NAME.exec(line);
      if (!m) return err(lineNo, lead + 1, `expected a group name in [${group}:children], found '${line}'`);
      const child = m[1]!;
      if (!declared.has(child) && !pendingChildren.has(child)) pendingChildren.set(child, { parent: group, at });
      if (b.hasGroup(child)) b.addChild(group, child, at);
      else deferredEdges.set(child, [...(deferredEdges.get(child) ?? []), { parent: group, at }]);
      return;
    }
    hostLine(file, raw, lineNo, group, b);
  });

  // As in Ansible: [g:vars] and [p:children] must refer to groups this file (or an earlier source) defines.
  for (const [name, at] of pendingVars) {
    if (!declared.has(name))
      b.diagnostics.push({
        severity: 'error',
        ...at,
        message: `section [${name}:vars] is for group '${name}', which is not defined: add a [${name}] section (it may be empty)${didYouMean(name, declared)}`,
      });
  }
  for (const [child, { parent, at }] of pendingChildren) {
    if (!declared.has(child))
      b.diagnostics.push({
        severity: 'error',
        ...at,
        message: `section [${parent}:children] lists group '${child}', which is not defined: add a [${child}] section (it may be empty)${didYouMean(child, declared)}`,
      });
  }
}

function hostLine(file: string, raw: string, lineNo: number, group: string, b: InventoryBuilder): void {
  const err = (offset: number, message: string): void => {
    b.diagnostics.push({ severity: 'error', file, line: lineNo, col: offset + 1, message });
  };
  const { words, error } = splitWords(raw, true);
  if (error) return err(error.offset, error.message);
  const [first, ...rest] = words;
  if (!first) return;
  if (first.value === '---') return err(first.start, "'---' starts a YAML document: name the file .yaml, or write it in INI syntax");
  const entry = expandHostEntry(first.value);
  if ('error' in entry) return err(first.start, entry.error);

  const vars: Record<string, unknown> = {};
  const origins = new Map<string, Location>();
  let ok = true;
  for (const w of rest) {
    const eq = w.value.indexOf('=');
    if (eq <= 0) {
      err(w.start, eq === 0 ? `missing variable name before '=' in '${w.value}'` : `expected key=value host variable, found '${w.value}'`);
      ok = false;
      continue;
    }
    const key = w.value.slice(0, eq);
    const typed = parseIniTyped(w.value.slice(eq + 1));
    setOwn(vars, key, typed.value);
    if (typed.float) markFloat(vars, key);
    origins.set(key, { file, line: lineNo, col: w.start + 1 });
  }
  const origin: Location = { file, line: lineNo, col: first.start + 1 };
  for (const name of entry.names) {
    // `hv1:2222` sets ansible_port; a later `ansible_port=` on the line wins, as in Ansible.
    b.addHost(name, group, origin, entry.port);
    if (ok && origins.size > 0) b.addVars({ target: 'host', name, vars, origins });
  }
}
