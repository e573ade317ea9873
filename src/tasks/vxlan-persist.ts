// Persistence of a VXLAN (NetworkManager and netplan render it from the running state:
// nm-profiles.ts, netplan-files.ts).
// networkd: a .netdev ([NetDev] Kind=vxlan, [VXLAN] with Independent=yes, so no underlay .network
// has to name it), a .network when kvmnet has none for it yet (ensure_port writes the one that makes
// it a bridge port), and the flooding entries as a drop-in of [BridgeFDB] sections.
// ifupdown (no VXLAN keys without ifupdown2): its stanza creates it in `pre-up` and deletes it in
// `post-down` (as a VLAN with another name than PARENT.ID, link-persist.ts), `mtu` is the manual
// method's own option, and each flooding entry is a `post-up bridge fdb append` — the lines of the
// operations the runtime planner runs.
import { RefusedError } from '../errors.js';
import type { Facts } from '../model/facts.js';
import type { PersistFormat } from '../model/persist-kinds.js';
import { networkdPaths } from '../persist/paths.js';
import { iniValue, iniValues } from '../persist/render.js';
import { postUpLines, stanzaCommands } from '../persist/ifupdown-hooks.js';
import { encodeIfupdownName, ifupdownPaths } from '../persist/paths.js';
import { IFUPDOWN_DIR } from '../model/persist-kinds.js';
import { opsLines, type Op } from '../ops/index.js';
import { ZERO_MAC } from '../ops/rule-fdb.js';
import type { FileWant } from '../persist/persistence.js';
import { wantedRemotes, wantedVxlan, type EnsureVxlanArgs } from './ensure-vxlan.js';

const HEADER = '# Written by kvmnet; changes made here are overwritten on its next run.';
export const vxlanFdbPath = (name: string) => `${networkdPaths.dropIns(name)}/fdb.conf`;

export function vxlanFiles(format: PersistFormat, args: EnsureVxlanArgs, facts: Facts, host: string): FileWant[] {
  const { name } = args;
  if (format === 'ifupdown') return ifupdownVxlanFiles(args, facts);
  if (args.state === 'absent') return [networkdPaths.netdev(name), vxlanFdbPath(name)].map((path) => ({ path, content: null }));
  if (format !== 'networkd')
    throw new RefusedError(`persist: ${format as string}: kvmnet cannot persist VXLANs in this format on ${host}; set persist: none on this task`);
  const v = wantedVxlan(args);
  const netdev = [
    HEADER,
    `# ensure_vxlan ${name}`,
    '[NetDev]',
    `Name=${name}`,
    'Kind=vxlan',
    ...(args.mtu !== undefined ? [`MTUBytes=${args.mtu}`] : []),
    '',
    '[VXLAN]',
    `VNI=${v.vni}`,
    ...(v.local ? [`Local=${v.local}`] : []),
    ...(v.group ? [`Group=${v.group}`] : []),
    `DestinationPort=${v.dstport}`,
    `MacLearning=${v.learning ? 'yes' : 'no'}`,
    // Created on its own, not only when an underlay .network lists VXLAN=.
    'Independent=yes',
    '',
  ].join('\n');
  const wants: FileWant[] = [{ path: networkdPaths.netdev(name), content: netdev }];
  const network = networkdPaths.network(name);
  if ((facts.persisted ?? {})[network] === undefined)
    wants.push({
      path: network,
      content: [HEADER, `# ensure_vxlan ${name}`, '[Match]', `Name=${name}`, '', '[Network]', 'ConfigureWithoutCarrier=yes', ''].join('\n'),
    });
  const remotes = wantedRemotes(args);
  if (remotes) {
    const fdb = [
      HEADER,
      `# ensure_vxlan ${name}: flooding entries`,
      ...remotes.flatMap((r) => ['', '[BridgeFDB]', `MACAddress=${ZERO_MAC}`, `Destination=${r}`]),
      '',
    ].join('\n');
    wants.push({ path: vxlanFdbPath(name), content: remotes.length ? fdb : null });
  }
  return wants;
}

/** The stanza's lines that make the VXLAN as the runtime planner does (reusable by other stanza writers). */
export function vxlanStanzaLines(args: EnsureVxlanArgs): string[] {
  const { name } = args;
  const add: Op = { op: 'link.add', name, kind: 'vxlan', vxlan: wantedVxlan(args) };
  // Created afresh by every ifup (post-down deletes it): one append per remote adds no copies.
  const fdb: Op[] = (wantedRemotes(args) ?? []).map((dst) => ({ op: 'fdb.append', dev: name, dst }));
  return [
    ...opsLines([add]).map((l) => `pre-up ${l}`),
    ...(args.mtu !== undefined ? [`mtu ${args.mtu}`] : []),
    ...postUpLines(fdb),
    ...(args.up ? [] : [`post-up ip link set dev ${name} down`]),
    ...opsLines([{ op: 'link.del', name }]).map((l) => `post-down ${l}`),
  ];
}

/**
 * The file with the VXLAN's `auto` line. `ifup -a` brings interfaces up in the order of their
 * `auto` lines (all files are read first), and bridge-utils adds only the ports that exist when it
 * makes the bridge: this name sorts before every kvmnet-NAME file (a digit before letters), so the
 * VXLAN exists before the stanza of a bridge that lists it in bridge_ports runs.
 */
export const ifupdownVxlanAutoPath = (name: string) => `${IFUPDOWN_DIR}/kvmnet-0-auto-${encodeIfupdownName(name)}`;

function ifupdownVxlanFiles(args: EnsureVxlanArgs, facts: Facts): FileWant[] {
  const main = ifupdownPaths.main(args.name);
  const auto = ifupdownVxlanAutoPath(args.name);
  // Deleting the VXLAN drops its addresses and routes: so do their files (kvmnet-VX__…).
  if (args.state === 'absent')
    return [auto, main, ...Object.keys(facts.persisted ?? {}).filter((p) => p.startsWith(`${main}__`))].map((path) => ({ path, content: null }));
  const content = [
    HEADER,
    `# ensure_vxlan ${args.name} (its auto line is in ${auto}); addresses (ensure_ip) and routes (ensure_route) are in their own files`,
    `iface ${args.name} inet manual`,
    ...vxlanStanzaLines(args).map((l) => `    ${l}`),
    '',
  ].join('\n');
  return [
    {
      path: auto,
      content: [HEADER, `# ensure_vxlan ${args.name}: brought up before the bridges whose stanzas list it as a port`, `auto ${args.name}`, ''].join('\n'),
    },
    { path: main, content },
  ];
}

/** The VXLANs kvmnet's ifupdown files create, with their flooding entries. */
function ifupdownVxlans(files: Record<string, string>): Array<{ name: string; remotes: string[] }> {
  const out: Array<{ name: string; remotes: string[] }> = [];
  for (const [path, content] of Object.entries(files)) {
    if (!path.startsWith(`${ifupdownPaths.main('')}`) || path.includes('__')) continue;
    const add = stanzaCommands(content, 'pre-up')
      .map((c) => /^ip link add (\S+) type vxlan /.exec(c))
      .find(Boolean);
    if (!add) continue;
    const remotes = stanzaCommands(content, 'post-up').flatMap((c) => /^bridge fdb append \S+ dev \S+ dst (\S+)$/.exec(c)?.[1] ?? []);
    out.push({ name: add[1]!, remotes });
  }
  return out;
}

/** Persisted VXLANs (and their flooding entries) the running host does not have. */
export function vxlanDrift(facts: Facts, files: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [path, content] of Object.entries(files)) {
    if (!path.endsWith('.netdev') || iniValue(content, 'Kind') !== 'vxlan') continue;
    const name = iniValue(content, 'Name');
    if (!name) continue;
    const link = facts.links[name];
    if (!link) {
      out.push(`${name}: VXLAN persisted (networkd) but not present at runtime`);
      continue;
    }
    const fdb = files[vxlanFdbPath(name)];
    if (fdb && link.fdbRemotes) {
      const persisted = iniValues(fdb, 'Destination');
      const missing = persisted.filter((d) => !link.fdbRemotes!.includes(d));
      if (missing.length) out.push(`${name}: flooding entries ${missing.join(', ')} persisted (networkd) but not present at runtime`);
    }
  }
  for (const v of ifupdownVxlans(files)) {
    const link = facts.links[v.name];
    if (!link) out.push(`${v.name}: VXLAN persisted (ifupdown) but not present at runtime`);
    else if (link.fdbRemotes) {
      const missing = v.remotes.filter((d) => !link.fdbRemotes!.includes(d));
      if (missing.length) out.push(`${v.name}: flooding entries ${missing.join(', ')} persisted (ifupdown) but not present at runtime`);
    }
  }
  return out;
}
