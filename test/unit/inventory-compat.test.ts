// Ansible as the oracle (issue 22): every inventory of the corpus goes through ansible-inventory --list, --list
// --export, --graph, --host and `ansible PATTERN --list-hosts`, and through kvmnet. Each inventory Ansible loads must
// come out identical in kvmnet, or be refused with an error docs/inventory.md lists under "Not supported".
// Needs ansible-core (Debian's; .ci/run installs it).
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { inventoryCommand } from '../../src/cli/inventory-command.js';
import { runCommand } from '../../src/cli/run-command.js';
import type { Inventory } from '../../src/config/inventory.js';
import { selectHosts } from '../../src/config/patterns.js';
import {
  ansibleAvailable,
  ansibleView,
  corpusCases,
  documentedRefusals,
  hostJobs,
  inventoryJobs,
  kvmnetHost,
  kvmnetPattern,
  kvmnetView,
  namesOf,
  normaliseAnsibleJson,
  runAnsible,
  SCRATCH,
  type AnsibleView,
  type Case,
} from '../compat/oracle.js';

const cases = corpusCases();
const views = new Map<string, AnsibleView>();
type Outcome = 'identical' | 'refused' | 'differing' | 'not loaded by Ansible';
const outcomes = new Map<string, Outcome>();
/** Patterns whose host order Ansible itself does not fix (see ansibleOrderVaries): compared as sets. */
const orderVaried = new Set<string>();

/**
 * Ansible orders a group's hosts: its own, its children's in order, then deeper levels by iterating a Python SET of
 * the groups of the level above (Group._walk_relationship), whose order follows memory addresses and changes from
 * one Ansible run to the next (the same `ansible top --list-hosts` printed h4 h3 h1 h2 h5, then h4 h1 h3 h5 h2).
 * That happens when two or more groups of one level have children still unseen.
 */
function ansibleOrderVaries(inv: Inventory): boolean {
  for (const g of inv.groups.values()) {
    const seen = new Set<string>();
    let level = [g.name, ...g.children];
    while (level.length > 0) {
      for (const x of level) seen.add(x);
      const withNew = level.filter((x) => (inv.groups.get(x)?.children ?? []).some((c) => !seen.has(c)));
      if (withNew.length >= 2) return true;
      level = [...new Set(level.flatMap((x) => inv.groups.get(x)?.children ?? []).filter((c) => !seen.has(c)))];
    }
  }
  return false;
}

/** The same hosts; with a subscript, as many hosts, all from the unsubscripted pattern's. */
function sameUpToOrder(inv: Inventory, pattern: string, want: string[], got: string[]): boolean {
  const sub = /^(.*)\[[-\d:]+\]$/.exec(pattern);
  if (!sub) return want.length === got.length && new Set([...want, ...got]).size === want.length;
  const base = new Set(selectHosts(inv, sub[1]!, { file: '<pattern>' }).hosts);
  return want.length === got.length && [...want, ...got].every((h) => base.has(h));
}

/** Every difference between the two sides for one case, as readable lines (empty: identical). */
function differences(c: Case, a: AnsibleView): { refused?: string[]; diffs: string[] } {
  const k = kvmnetView(c);
  if (k.errors.length) return { refused: k.errors, diffs: [] };
  const diffs: string[] = [];
  const same = (what: string, ansible: string | undefined, kvmnet: string | undefined): void => {
    if (ansible !== kvmnet) diffs.push(`${what}:\n--- ansible\n${ansible}\n--- kvmnet\n${kvmnet}`);
  };
  same('--list', normaliseAnsibleJson(a.list!), k.list);
  same('--list --export', normaliseAnsibleJson(a.exportList!), k.exportList);
  same('--graph', a.graph, k.graph);
  for (const [host, out] of a.hosts) same(`--host ${host}`, normaliseAnsibleJson(out), kvmnetHost(k.inventory!, host));
  const unordered = ansibleOrderVaries(k.inventory!);
  for (const [pattern, want] of a.patterns) {
    const got = kvmnetPattern(k.inventory!, pattern);
    const show = (r: { error: string } | { hosts: string[] }): string => ('error' in r ? 'error' : r.hosts.join(' '));
    if (show(want) === show(got)) continue;
    if (unordered && 'hosts' in want && 'hosts' in got && sameUpToOrder(k.inventory!, pattern, want.hosts, got.hosts)) {
      orderVaried.add(`${c.name} ${pattern}`);
      continue;
    }
    diffs.push(`pattern '${pattern}': ansible ${'error' in want ? want.error : show(want)} / kvmnet ${'error' in got ? got.error : show(got)}`);
  }
  return { diffs };
}

/** Runs a command in-process and returns what it wrote to stdout. */
async function capture(fn: () => Promise<number>): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const spyOut = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const spyErr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await fn();
    return { code, stdout };
  } finally {
    spyOut.mockRestore();
    spyErr.mockRestore();
  }
}

describe('inventories as ansible-inventory reads them', () => {
  beforeAll(() => {
    const version = ansibleAvailable();
    if (!version) throw new Error('ansible-core is not installed (/usr/bin/python3 cannot import ansible): apt-get install ansible-core');
    const first = runAnsible(cases.flatMap(inventoryJobs));
    const second = [];
    const names = new Map<string, { groups: string[]; hosts: string[] }>();
    for (const c of cases) {
      const v = ansibleView(c, first);
      if (!v.loaded) continue;
      const n = namesOf(v.list!);
      names.set(c.name, n);
      second.push(...hostJobs(c, n));
    }
    const more = runAnsible(second);
    for (const c of cases) views.set(c.name, ansibleView(c, new Map([...first, ...more]), names.get(c.name)));
  }, 900_000);

  const refusals = documentedRefusals();

  it('docs/inventory.md lists what kvmnet refuses', () => {
    expect(refusals.length).toBeGreaterThanOrEqual(5);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const a = views.get(c.name)!;
    if (!a.loaded) {
      // Ansible warns and goes on with an empty inventory; kvmnet must not invent hosts from it.
      outcomes.set(c.name, 'not loaded by Ansible');
      const k = kvmnetView(c);
      if (process.env['KVMNET_COMPAT_REPORT'])
        appendFileSync(
          process.env['KVMNET_COMPAT_REPORT'],
          `=== ${c.name} NOT LOADED: ${a.why}\n kvmnet: ${k.errors.join(' | ') || `${k.inventory!.hosts.size} hosts`}\n`,
        );
      expect(k.errors.length > 0 || k.inventory!.hosts.size === 0, `Ansible could not load it (${a.why}) but kvmnet found hosts`).toBe(true);
      return;
    }
    const { refused, diffs } = differences(c, a);
    if (refused) {
      outcomes.set(c.name, 'refused');
      const undocumented = refused.filter((e) => !refusals.some((r) => e.includes(r)));
      if (process.env['KVMNET_COMPAT_REPORT'])
        appendFileSync(process.env['KVMNET_COMPAT_REPORT'], `=== ${c.name} REFUSED${undocumented.length ? ' (NOT DOCUMENTED)' : ''}\n${refused.join('\n')}\n`);
      expect(undocumented, 'kvmnet refuses this inventory with an error the README does not list under "Not supported"').toEqual([]);
      return;
    }
    outcomes.set(c.name, diffs.length ? 'differing' : 'identical');
    if (diffs.length && process.env['KVMNET_COMPAT_REPORT']) appendFileSync(process.env['KVMNET_COMPAT_REPORT'], `=== ${c.name}\n${diffs.join('\n')}\n`);
    expect(diffs.join('\n\n')).toBe('');
  });

  // The commands themselves, on the fleet inventories: `kvmnet inventory` prints exactly what ansible-inventory prints,
  // and `kvmnet run --list-hosts` lists a play's hosts in the order `ansible PATTERN --list-hosts` does.
  const fleet = cases.filter((c) => c.name.startsWith('fleet/') || c.name.startsWith('multi/'));
  it.each(fleet.map((c) => [c.name, c] as const))('kvmnet inventory and run --list-hosts: %s', async (_name, c) => {
    const a = views.get(c.name)!;
    const k = kvmnetView(c);
    if (!a.loaded || k.errors.length) {
      await expect(capture(() => inventoryCommand({ inventory: c.sources, list: true }))).rejects.toThrow(/.+/);
      return;
    }
    expect((await capture(() => inventoryCommand({ inventory: c.sources, list: true }))).stdout).toBe(normaliseAnsibleJson(a.list!));
    expect((await capture(() => inventoryCommand({ inventory: c.sources, list: true, export: true }))).stdout).toBe(normaliseAnsibleJson(a.exportList!));
    expect((await capture(() => inventoryCommand({ inventory: c.sources, graph: true }))).stdout).toBe(a.graph);
    const unordered = ansibleOrderVaries(k.inventory!);
    for (const [pattern, want] of a.patterns) {
      if ('error' in want || unordered) continue;
      const playbook = join(SCRATCH, 'list-hosts.yaml');
      writeFileSync(playbook, `- name: p\n  hosts: ${JSON.stringify(pattern)}\n  tasks: []\n`);
      const got = await capture(() => runCommand(playbook, { inventory: c.sources, listHosts: true, forks: 1, extraVars: [], output: 'text', verbose: 0 }));
      expect(got.stdout, `kvmnet run --list-hosts, hosts: ${pattern}`).toBe(
        `play: p (${want.hosts.length} host${want.hosts.length === 1 ? '' : 's'})\n${want.hosts.map((h) => `  ${h}\n`).join('')}`,
      );
    }
  });

  it('counts', () => {
    const counts: Record<string, number> = {};
    for (const o of outcomes.values()) counts[o] = (counts[o] ?? 0) + 1;
    const patterns = [...views.values()].reduce((n, v) => n + v.patterns.size, 0);
    const summary = { inventories: cases.length, ...counts, patterns_compared: patterns, patterns_compared_as_sets: orderVaried.size };
    writeFileSync(join(SCRATCH, 'summary.json'), JSON.stringify(summary));
    console.log(`inventory compatibility: ${JSON.stringify(summary)}`);
    expect(outcomes.size).toBe(cases.length);
  });
});
