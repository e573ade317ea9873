// The rollback of a guarded change, written from the facts as they were BEFORE it: remove links
// the change created, re-create links it deleted (or a bond whose mode it changed), put members
// and ports back, then addresses and routes, files and networks.
// Pure, so it can be tested on captured facts.
import { shellJoin, shellQuote } from '../connection/quote.js';
import type { Facts } from '../model/facts.js';
import { routeArgs } from '../ops/addr-route.js';
import { inverseOps, opsLines, type Op } from '../ops/index.js';
import { IFUPDOWN_DIR, NETWORKD_DIR } from '../model/persist-kinds.js';
import { shellProgram, shellTemplate } from '../shell/program.js';
import { masterLine, orTrue, primaryLines, recreateLinkLines } from './restore-links.js';

// Virtual links a command may have created (the kinds the script names; NICs and guests' taps are left alone).
const removeUnknownLinks = shellTemplate(shellProgram(new URL('./restore-unknown-links.sh', import.meta.url)));
// kvmnet's persistence files the change added.
const removeUnknownFiles = shellTemplate(shellProgram(new URL('./restore-unknown-files.sh', import.meta.url)));

export function restoreScript(before: Facts, devices: string[], networks: string[], opts: { anyLink?: boolean; ops?: readonly Op[] } = {}): string {
  const lines = ['# kvmnet rollback: restore the state before a guarded change'];
  // The inverses of the step's operations first (each on its own: one that fails stops no other),
  // then the snapshot puts back whatever they did not, then what re-derives state from it.
  const { undo, again } = opts.ops ? inverseOps(opts.ops, before) : { undo: [], again: [] };
  const each = (ops: Op[]) => ops.map((op) => `(\n${opsLines([op]).join('\n')}\n) >/dev/null 2>&1 || true`);
  lines.push(...each(undo));
  if (opts.anyLink) {
    // A command's effect is unknown: virtual links that did not exist before go first.
    lines.push(removeUnknownLinks({ KNOWN: ` ${Object.keys(before.links).join(' ')} ` }).trimEnd());
  }
  // Links the change created go first: a created bond releases its members, a VLAN its addresses.
  for (const d of devices.filter((x) => !before.links[x])) lines.push(orTrue(shellJoin(['ip', 'link', 'del', d])));
  const existed = devices.filter((d) => before.links[d]);
  lines.push(...recreateLinkLines(before, existed));
  for (const d of existed) lines.push(masterLine(before, d, before.links[d]!.master));
  lines.push(...primaryLines(before, existed));
  for (const d of existed) {
    const link = before.links[d]!;
    if (link.mac && link.kind === 'bridge') lines.push(orTrue(shellJoin(['ip', 'link', 'set', d, 'address', link.mac])));
    lines.push(orTrue(shellJoin(['ip', 'link', 'set', d, link.up ? 'up' : 'down'])));
    lines.push(orTrue(shellJoin(['ip', '-4', 'address', 'flush', 'dev', d, 'scope', 'global'])));
    lines.push(orTrue(shellJoin(['ip', '-6', 'address', 'flush', 'dev', d, 'scope', 'global'])));
    for (const a of before.addrs.filter((x) => x.dev === d && x.scope === 'global'))
      lines.push(orTrue(shellJoin(['ip', 'address', 'replace', `${a.address}/${a.prefix}`, 'dev', d])));
  }
  // Routes last: their gateways need the addresses back first.
  for (const r of before.routes.filter((x) => x.dev && existed.includes(x.dev) && x.protocol !== 'kernel')) {
    lines.push(orTrue(shellJoin(routeArgs(r, r.dev!))));
  }
  lines.push(...restorePersistedFiles(before));
  if (before.libvirt.available) {
    for (const name of networks) {
      const net = before.libvirt.networks[name];
      if (!net) {
        lines.push(orTrue(shellJoin(['virsh', '-q', 'net-destroy', name])), orTrue(shellJoin(['virsh', '-q', 'net-undefine', name])));
        continue;
      }
      if (net.xml) lines.push(`printf '%s' ${shellQuote(net.xml)} | virsh -q net-define /dev/stdin >/dev/null 2>&1 || true`);
      lines.push(orTrue(shellJoin(['virsh', '-q', net.active ? 'net-start' : 'net-destroy', name])));
      lines.push(orTrue(shellJoin(net.autostart ? ['virsh', '-q', 'net-autostart', name] : ['virsh', '-q', 'net-autostart', '--disable', name])));
    }
  }
  lines.push(...each(again));
  return lines.join('\n') + '\n';
}

/** What the rollback must have brought back: each device's master, up state and addresses. */
export function restoredDifferences(before: Facts, after: Facts, devices: string[]): string[] {
  const problems: string[] = [];
  const addrs = (f: Facts, d: string) =>
    f.addrs
      .filter((a) => a.dev === d && a.scope === 'global')
      .map((a) => `${a.address}/${a.prefix}`)
      .sort()
      .join(',');
  for (const d of devices) {
    const b = before.links[d];
    const a = after.links[d];
    if (!b) {
      if (a) problems.push(`${d} still exists`);
      continue;
    }
    if (!a) {
      problems.push(`${d} is gone`);
      continue;
    }
    if ((b.kind ?? 'nic') !== (a.kind ?? 'nic')) problems.push(`${d} is a ${a.kind ?? 'NIC'}, was a ${b.kind ?? 'NIC'}`);
    if (b.bond && a.bond && b.bond.mode !== a.bond.mode) problems.push(`${d} is a bond in mode ${a.bond.mode}, was ${b.bond.mode}`);
    if (b.vlan && a.vlan && (b.vlan.id !== a.vlan.id || b.lower !== a.lower))
      problems.push(`${d} is VLAN ${a.vlan.id} on ${a.lower ?? '?'}, was ${b.vlan.id} on ${b.lower ?? '?'}`);
    if ((b.master ?? '') !== (a.master ?? '')) problems.push(`${d} master is ${a.master ?? 'none'}, was ${b.master ?? 'none'}`);
    if (addrs(before, d) !== addrs(after, d)) problems.push(`${d} addresses are ${addrs(after, d) || 'none'}, were ${addrs(before, d) || 'none'}`);
  }
  return problems;
}

/**
 * kvmnet's persistence files as they were: rewrite each one, and remove those the change added,
 * so a rolled-back host does not come back from its next reboot in the state that cut it off.
 */
function restorePersistedFiles(before: Facts): string[] {
  if (!before.persisted) return [];
  const lines: string[] = [];
  const known = Object.keys(before.persisted);
  lines.push(removeUnknownFiles({ KNOWN: ` ${known.join(' ')} `, NETWORKD_DIR, IFUPDOWN_DIR }).trimEnd());
  for (const [path, content] of Object.entries(before.persisted)) {
    lines.push(`mkdir -p ${shellQuote(path.replace(/\/[^/]*$/, ''))} && printf %s ${shellQuote(content)} > ${shellQuote(path)} || true`);
  }
  return lines;
}
