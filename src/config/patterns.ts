// Ansible host patterns: `all`, groups, hosts, globs, `~regex`, `a:b` / `a,b` (union), `a:&b` (and), `a:!b` (not), `g[0]`.
import { resolve } from 'node:path';
import type { Diagnostic, Location } from '../errors.js';
import { hostsOfGroup } from './inventory-graph.js';
import { expandHostEntry } from './inventory-hosts.js';
import { displayPath } from './inventory-sources.js';
import { LOCALHOST_NAMES, type Inventory } from './inventory-types.js';
import { readInputFile } from './yaml-source.js';

/**
 * Splits a pattern into terms. Like Ansible: commas separate; a comma-free pattern is also split on ':' (outside
 * `[…]`, so `hv[01:20]` stays whole). Unlike Ansible, the parts of a comma list are split on ':' too, so `a:&b,c`
 * means what it looks like. A term that is exactly a host name (an IPv6 address, say) is never split.
 */
export function splitPattern(pattern: string, isHost: (name: string) => boolean = () => false): string[] {
  const terms: string[] = [];
  for (const raw of pattern.split(',')) {
    const piece = raw.trim();
    if (piece === '') continue;
    if (isHost(piece)) terms.push(piece);
    else terms.push(...(piece.match(/(?:[^\s:[\]]|\[[^\]]*\])+/g) ?? []));
  }
  return terms;
}

/** Ansible's order of evaluation: unions first, then intersections (&), then exclusions (!). */
function orderTerms(terms: string[]): string[] {
  const union = terms.filter((t) => t[0] !== '&' && t[0] !== '!');
  const and = terms.filter((t) => t[0] === '&');
  const not = terms.filter((t) => t[0] === '!');
  // Only & and ! terms: they narrow down 'all' (Ansible does the same).
  return [...(union.length > 0 ? union : ['all']), ...and, ...not];
}

/**
 * The hosts a pattern selects, in Ansible's order (InventoryManager.get_hosts): terms in the order union, `&`, `!`;
 * each union term adds its hosts in its own order (a group's hosts as Group.get_hosts orders them), skipping those
 * already selected. A term that matches nothing is a warning (as in Ansible: "Could not match supplied host pattern"),
 * an invalid regex an error; both are reported at `where`.
 */
export function selectHosts(inv: Inventory, pattern: string, where: Location): { hosts: string[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const warn = (message: string): void => void diagnostics.push({ severity: 'warning', ...where, message });
  const terms = splitPattern(pattern, (n) => inv.hosts.has(n));
  if (terms.length === 0) {
    warn(`empty host pattern '${pattern}': no hosts selected`);
    return { hosts: [], diagnostics };
  }
  const cache = new Map<string, string[]>();
  let selected: string[] = [];
  for (const term of orderTerms(terms)) {
    if (inv.hosts.has(term)) {
      selected.push(term);
      continue;
    }
    const op = term[0] === '&' || term[0] === '!' ? term[0] : '';
    const body = op ? term.slice(1) : term;
    if (body === '') {
      warn(`'${term}' in host pattern '${pattern}' has nothing after '${op}': ignored`);
      continue;
    }
    let matched = cache.get(body);
    if (!matched) cache.set(body, (matched = matchTerm(inv, body, where, diagnostics)));
    if (op === '&') {
      const keep = new Set(matched);
      selected = selected.filter((h) => keep.has(h));
    } else if (op === '!') {
      const drop = new Set(matched);
      selected = selected.filter((h) => !drop.has(h));
    } else {
      const existing = new Set(selected);
      selected.push(...matched.filter((h) => !existing.has(h)));
    }
  }
  return { hosts: [...new Set(selected)], diagnostics };
}

const SUBSCRIPT = /^(.+)\[(?:(-?\d+)|(\d+)([:-])(\d*))\]$/s;

/** One term without its `&`/`!`: Ansible's _match_one_pattern (a subscript applies to the term's hosts in order). */
function matchTerm(inv: Inventory, term: string, where: Location, diagnostics: Diagnostic[]): string[] {
  const sub = term[0] === '~' ? null : SUBSCRIPT.exec(term);
  const expr = sub ? sub[1]! : term;
  const found = enumerate(inv, expr, where, diagnostics);
  if (!found) return [];
  // Ansible's implicit localhost: `localhost` (or 127.0.0.1, ::1) matching nothing is the inventory's first
  // localhost-like host, or this machine over the local connection (see hostVars).
  if (found.hosts.length === 0 && LOCALHOST_NAMES.includes(expr)) return [[...inv.hosts.keys()].find((h) => LOCALHOST_NAMES.includes(h)) ?? expr];
  const nothing = found.hosts.length === 0 && found.groups === 0 && expr !== 'all';
  // `hv[1:30]`, `hv[01:09].example.com` where `hv` names nothing: an inventory-style host range, as
  // the recap prints them (Ansible selects nothing there, so no Ansible pattern changes meaning).
  const range = sub && nothing && /\[[^\]]*:[^\]]*\]/.test(term) ? expandHostEntry(term) : undefined;
  if (range && !('error' in range) && range.port === undefined) {
    const picked = range.names.filter((h) => inv.hosts.has(h));
    if (picked.length === 0) diagnostics.push({ severity: 'warning', ...where, message: `Could not match supplied host pattern, ignoring: ${term}` });
    return picked;
  }
  if (nothing) diagnostics.push({ severity: 'warning', ...where, message: `Could not match supplied host pattern, ignoring: ${expr}` });
  return sub ? applySubscript(term, found.hosts, sub, where, diagnostics) : found.hosts;
}

/** Ansible's _enumerate_matches: hosts of matching groups; hosts too when no group matched or the term is a glob/regex. */
function enumerate(inv: Inventory, term: string, where: Location, diagnostics: Diagnostic[]): { hosts: string[]; groups: number } | undefined {
  const test = compile(term);
  if ('error' in test) {
    diagnostics.push({
      severity: 'error',
      ...where,
      message: `invalid ${term[0] === '~' ? 'regular expression' : 'glob'} in host pattern '${term}': ${test.error}`,
    });
    return undefined;
  }
  // Duplicates stay, as in Ansible, until the selection is complete: a subscript counts them.
  const hosts: string[] = [];
  const groups = [...inv.groups.keys()].filter(test.match);
  for (const g of groups) hosts.push(...hostsOfGroup(inv, g));
  if (groups.length === 0 || term[0] === '~' || /[.?*[]/.test(term)) {
    for (const h of inv.hosts.keys()) if (test.match(h)) hosts.push(h);
  }
  return { hosts, groups: groups.length };
}

function applySubscript(term: string, hosts: string[], m: RegExpExecArray, where: Location, diagnostics: Diagnostic[]): string[] {
  const [, base, index, start, , end] = m;
  if (hosts.length === 0) return [];
  // Ansible: `[i]` and `[i:0]` pick one host (an index past the end: none, with a warning, as `ansible --list-hosts`
  // shows it); `[i:j]` is inclusive, `[i:]` runs to the end.
  const single = index ?? (end === '0' || (end !== undefined && end !== '' && Number(end) === 0) ? start : undefined);
  if (single !== undefined) {
    const i = Number(single);
    if (i < -hosts.length || i >= hosts.length) {
      diagnostics.push({ severity: 'warning', ...where, message: `No hosts matched the subscripted pattern '${term}': '${base}' has ${hosts.length} host(s)` });
      return [];
    }
    return [hosts.at(i)!];
  }
  const last = end === '' || end === undefined ? hosts.length - 1 : Number(end);
  const picked = hosts.slice(Number(start), last + 1);
  if (picked.length === 0) {
    diagnostics.push({ severity: 'warning', ...where, message: `No hosts matched the subscripted pattern '${term}': '${base}' has ${hosts.length} host(s)` });
  }
  return picked;
}

type Matcher = { match: (name: string) => boolean } | { error: string };

/** `~regex` matches from the start of the name (Python's re.match); anything else is an fnmatch glob of the whole name. */
function compile(term: string): Matcher {
  if (term[0] === '~') {
    try {
      const re = new RegExp(term.slice(1), 'y');
      return { match: (name) => ((re.lastIndex = 0), re.test(name)) };
    } catch (err) {
      return { error: (err as Error).message };
    }
  }
  if (!/[*?[]/.test(term)) return { match: (name) => name === term };
  try {
    const re = new RegExp(`^(?:${globToRegex(term)})$`, 's');
    return { match: (name) => re.test(name) };
  } catch (err) {
    return { error: (err as Error).message }; // `[z-a]`: a reversed range
  }
}

/** Python's fnmatch.translate: `*`, `?`, `[seq]`, `[!seq]`; an unclosed `[` is a literal. */
export function globToRegex(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      let j = i + 1;
      if (glob[j] === '!') j++;
      if (glob[j] === ']') j++;
      while (j < glob.length && glob[j] !== ']') j++;
      if (j >= glob.length) {
        out += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, j);
      const negate = body.startsWith('!');
      if (negate) body = body.slice(1);
      if (body === '') {
        out += negate ? '.' : '(?!)';
      } else {
        out += `[${negate ? '^' : ''}${body.replace(/[\\\]^[]/g, '\\$&')}]`;
      }
      i = j;
    } else out += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return out;
}

/**
 * `--limit` text: like a pattern, but `@file` is replaced by the host names in that file (one a line; blank lines
 * and `#` comments skipped), as with `--limit @site.retry`. A limit that ends up naming nothing selects nothing.
 */
export function readLimit(limit: string, cwd: string): { pattern: string; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const terms: string[] = [];
  let fromFiles = false;
  for (const term of splitPattern(limit)) {
    if (term[0] !== '@') {
      terms.push(term);
      continue;
    }
    fromFiles = true;
    const abs = resolve(cwd, term.slice(1));
    const shown = displayPath(abs, cwd);
    const read = readInputFile(abs);
    diagnostics.push(...read.diagnostics.map((d) => ({ ...d, file: shown, message: `limit file: ${d.message}` })));
    if (read.text === undefined) continue;
    for (const line of read.text.split(/\r\n|\r|\n/)) {
      const name = line.trim();
      if (name !== '' && !name.startsWith('#')) terms.push(name);
    }
  }
  if (terms.length === 0 && fromFiles) {
    diagnostics.push({ severity: 'warning', file: '<command line>', message: `--limit ${limit} names no hosts: no host will be selected` });
    return { pattern: '!all', diagnostics };
  }
  return { pattern: terms.join(','), diagnostics };
}
