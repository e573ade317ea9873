// `kvmnet facts`: the checks a tutorial does by hand (ip link show master br0, virsh net-list
// --all, virsh domiflist) in one view per host, each part shown by the task type it belongs to.
import type { Facts, LinkFact } from '../model/facts.js';
import { describeVlans } from '../tasks/bridge-vlans.js';
import type { FactsSection } from '../tasks/contract.js';
import { persistenceDrift } from '../tasks/persistence-drift.js';
import { deviceOwners, hostManager } from '../persist/managers.js';
import { taskModules } from '../tasks/registry.js';
import type { Colors } from './format.js';

const views = taskModules.flatMap((m) => (m.factsView ? [m.factsView] : []));

export function factsSummary(f: Facts): Record<string, unknown> {
  return {
    hostname: f.hostname,
    ssh: f.session ? { address: f.session.serverAddress, interface: f.session.dev ?? null } : null,
    ...(Object.assign({}, ...views.map((v) => v.json(f))) as Record<string, unknown>),
    // null: these facts do not say (not gathered); [] : nothing persisted.
    persisted_files: f.persisted ? Object.keys(f.persisted).sort() : null,
    persistence_drift: persistenceDrift(f),
    // null: not read (--only without rollback-log). Oldest first; reported: a run has reported it.
    rollbacks: f.rollbackLog ?? null,
    // null: not gathered. manager: what `persist: auto` uses on this host.
    network_managers: f.managers
      ? { ...f.managers, manager: 'manager' in hostManager(f.managers) ? (hostManager(f.managers) as { manager: string }).manager : null }
      : null,
    // Every link but lo, for the topology picture (kvmnet graph --from): kinds, masters, MTUs, and
    // where there are some: a VLAN's parent and id, a bond's mode and LACP partner, a port's VLANs.
    links: Object.values(f.links)
      .filter((l) => l.name !== 'lo')
      .map((l) => ({ name: l.name, kind: l.kind ?? null, master: l.master ?? null, up: l.up, operstate: l.operstate, mtu: l.mtu, ...linkRelations(l) })),
  };
}

const NO_PARTNER = '00:00:00:00:00:00';

/** Only the fields a link has, so the JSON of a host without bonds or VLANs stays as it was. */
function linkRelations(l: LinkFact): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (l.lower) out.lower = l.lower;
  if (l.vlan) out.vlan_id = l.vlan.id;
  if (l.bond) {
    const partner = l.bond.aggregator?.partnerMac;
    out.bond = {
      mode: l.bond.mode,
      ...(partner !== undefined ? { partner: partner === NO_PARTNER ? null : partner } : {}),
      ...(l.bond.activeMember ? { active: l.bond.activeMember } : {}),
    };
  }
  if (l.vlans?.length) out.port_vlans = describeVlans(l.vlans);
  return out;
}

function table(rows: string[][], indent: string): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map(
    (r) =>
      indent +
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
  );
}

function sectionLines(s: FactsSection, c: Colors): string[] {
  if (s.warning) return [`  ${s.title}:`, c.yellow(`    ${s.warning}`)];
  if (s.rows.length === 0) return s.empty === undefined ? [] : [`  ${s.title}:`, `    ${s.empty}`];
  return [`  ${s.title}:`, ...table([s.columns, ...s.rows], '    ')];
}

export function factsText(host: string, f: Facts, c: Colors): string[] {
  const ssh = f.session ? `  ssh via ${f.session.dev ?? '?'} ${f.session.serverAddress}` : '';
  const lines = [c.bold(`${host} (${f.hostname})${ssh}`)];
  for (const v of views) for (const s of v.sections(f)) lines.push(...sectionLines(s, c));
  if (f.managers) {
    const found = hostManager(f.managers);
    lines.push(`  network manager: ${'manager' in found ? `${found.manager} (persist: auto writes ${found.manager} files)` : `none found (${found.reason})`}`);
    lines.push(...table(deviceOwners(f.managers, Object.keys(f.links).sort()), '    '));
  }
  const drift = persistenceDrift(f);
  const files = f.persisted ? Object.keys(f.persisted).length : 0;
  if (files || drift.length) {
    lines.push(`  persisted (${files} kvmnet files):`);
    if (drift.length) lines.push(...drift.map((d) => c.yellow(`    ${d}`)));
    else lines.push('    runtime and persisted state agree');
  }
  lines.push(...rollbackLines(f, c));
  return lines;
}

/** The host's rollback log: when, what was restored and why; the ones no run has reported yet stand out. */
function rollbackLines(f: Facts, c: Colors): string[] {
  if (!f.rollbackLog?.length) return [];
  const rows = f.rollbackLog.map((r) => [r.at, r.reported ? 'reported' : 'new', r.id, r.what]);
  const [head, ...body] = table([['at', 'state', 'id', 'restored (what, why)'], ...rows], '    ');
  return [
    `  rollbacks (this host's timers since boot, /run/kvmnet/rollbacks.log):`,
    head!,
    ...body.map((l, i) => (f.rollbackLog![i]!.reported ? l : c.yellow(l))),
  ];
}
