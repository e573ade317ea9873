// Splits the output of FACTS_SCRIPT into sections and builds the Facts. Pure.
import type { Facts, GuestInterface, LibvirtFacts, NetworkFact, SessionFact } from '../model/facts.js';
import type { FactsFragment } from './fragment.js';
import { parseAddrs, parseLinks, parseRoutes } from './parse-ip.js';
import { networkFromSections, parseDomIfList, parseNetList } from './parse-virsh.js';
import { parseManagers } from '../persist/managers.js';

const MARKER = /@@kvmnet:([^@\n]*)@@/g;

export function splitSections(text: string): Array<{ key: string; body: string }> {
  const out: Array<{ key: string; body: string }> = [];
  const marks = [...text.matchAll(MARKER)];
  marks.forEach((m, i) => {
    const start = m.index + m[0].length;
    const end = i + 1 < marks.length ? marks[i + 1]!.index : text.length;
    out.push({ key: m[1]!, body: text.slice(start, end) });
  });
  return out;
}

export interface ParsedFacts {
  facts: Facts;
  /** Networks net-list showed whose details the directory scan missed (fetch them separately). */
  missingNetworks: string[];
}

/** Parses the facts command's output; each fragment then reads its own sections into the facts. */
export function parseFacts(stdout: string, stderr: string, fragments: readonly FactsFragment[] = []): ParsedFacts {
  const { rest, persisted, persistDirs } = cutPersisted(stdout);
  const sections = splitSections(rest);
  const body = (key: string) => sections.find((s) => s.key === key)?.body ?? '';
  const links = parseLinks(body('link'));
  const addrs = parseAddrs(body('addr'));
  const routes = [...parseRoutes(body('route'), 4), ...parseRoutes(body('route6'), 6)];
  const { libvirt, missing } = parseLibvirt(sections, stderr);
  const session = parseSession(body('ssh'), addrs);
  const facts: Facts = { hostname: body('hostname').trim(), links, addrs, routes, libvirt, session };
  if (persisted) Object.assign(facts, { persisted, persistDirs });
  const managers = sections.find((s) => s.key === 'managers');
  if (managers) facts.managers = parseManagers(managers.body);
  for (const f of fragments) f.parse(sections, facts);
  return { facts, missingNetworks: missing };
}

/**
 * Takes the persisted-files section out of the output (file contents may hold anything, even
 * text that looks like a marker) and reads it line by line: `@@kvmnet:dir:D@@`,
 * `@@kvmnet:file:PATH@@`, then `|`-prefixed content lines, then an empty line if the file ended
 * in a newline.
 */
export function cutPersisted(stdout: string): { rest: string; persisted?: Record<string, string>; persistDirs?: string[] } {
  const startMark = '@@kvmnet:persist@@\n';
  const start = stdout.indexOf(startMark);
  if (start < 0) return { rest: stdout };
  // Content lines start with '|', so the first end marker at the start of a line is the real one.
  const endMark = '\n@@kvmnet:persist-end@@';
  const end = stdout.indexOf(endMark, start + startMark.length - 1);
  if (end < 0) return { rest: stdout.slice(0, start) };
  const persisted: Record<string, string> = {};
  const persistDirs: string[] = [];
  let current: { path: string; lines: string[]; newline: boolean } | undefined;
  const flush = () => {
    if (current) persisted[current.path] = current.lines.join('\n') + (current.newline && current.lines.length ? '\n' : '');
    current = undefined;
  };
  for (const line of stdout.slice(start + startMark.length, Math.max(start + startMark.length, end)).split('\n')) {
    const header = /^@@kvmnet:(dir|file):(.*)@@$/.exec(line);
    if (header) {
      flush();
      if (header[1] === 'dir') persistDirs.push(header[2]!);
      else current = { path: header[2]!, lines: [], newline: false };
    } else if (line.startsWith('|')) {
      current?.lines.push(line.slice(1));
    } else if (line === '' && current) {
      current.newline = true;
    }
  }
  flush();
  return { rest: stdout.slice(0, start) + stdout.slice(end + endMark.length), persisted, persistDirs };
}

function parseSession(text: string, addrs: Facts['addrs']): SessionFact | undefined {
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 4) return undefined;
  const [clientAddress, , serverAddress, port] = parts as [string, string, string, string];
  const server = serverAddress.toLowerCase().replace(/^::ffff:/, '');
  return { clientAddress, serverAddress: server, serverPort: Number(port), dev: addrs.find((a) => a.address === server)?.dev };
}

function parseLibvirt(sections: Array<{ key: string; body: string }>, stderr: string): { libvirt: LibvirtFacts; missing: string[] } {
  if (sections.some((s) => s.key === 'no-virsh'))
    return { libvirt: { available: false, reason: 'virsh is not installed (install libvirt-clients)' }, missing: [] };
  const uri = sections.find((s) => s.key === 'virsh')?.body.trim();
  const listSection = sections.find((s) => s.key === 'net-list');
  const exit = sections.find((s) => s.key.startsWith('virsh-exit:'));
  const exitCode = exit ? Number(exit.key.split(':')[1]) : undefined;
  const ended = sections.some((s) => s.key === 'end');
  if (!ended || !uri || !listSection) {
    const reason = firstErrorLine(stderr) ?? `virsh exited with code ${exitCode ?? 'unknown'}`;
    return { libvirt: { available: false, reason }, missing: [] };
  }
  const listed = parseNetList(listSection?.body ?? '');
  const { networks, guests } = parseLibvirtDetails(sections);
  const missing = listed.map((l) => l.name).filter((n) => !networks[n]);
  // net-list is authoritative for which networks exist; details come from net-info/net-dumpxml.
  for (const name of Object.keys(networks)) if (!listed.some((l) => l.name === name)) delete networks[name];
  return { libvirt: { available: true, networks, guests }, missing };
}

/** net:NAME / xml / guest:NAME sections, as printed by one virsh invocation. */
export function parseLibvirtDetails(sections: Array<{ key: string; body: string }>): { networks: Record<string, NetworkFact>; guests: GuestInterface[] } {
  const networks: Record<string, NetworkFact> = {};
  const guests: GuestInterface[] = [];
  sections.forEach((s, i) => {
    if (s.key.startsWith('net:')) {
      const name = s.key.slice(4);
      const next = sections[i + 1];
      const xmlText = next?.key === 'xml' ? next.body : '';
      // A network that vanished between the scan and virsh prints no info: skip it.
      if (s.body.includes('Name:')) networks[name] = networkFromSections(name, s.body, xmlText);
    } else if (s.key.startsWith('guest:')) {
      guests.push(...parseDomIfList(s.key.slice(6), s.body));
    }
  });
  return { networks, guests };
}

export function firstErrorLine(stderr: string): string | undefined {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.find((l) => /^error:/.test(l) && !/^error: failed to connect to the hypervisor$/.test(l))?.replace(/^error:\s*/, '') ?? lines[0];
}
