// Persistence of a VXLAN: systemd-networkd only. A .netdev ([NetDev] Kind=vxlan, [VXLAN] with
// Independent=yes, so no underlay .network has to name it), a .network when kvmnet has none for it
// yet (ensure_port writes the one that makes it a bridge port), and the flooding entries as a
// drop-in of [BridgeFDB] sections. ifupdown is refused (no VXLAN keys without ifupdown2).
import { RefusedError } from '../errors.js';
import type { Facts } from '../model/facts.js';
import type { PersistFormat } from '../model/persist-kinds.js';
import { networkdPaths } from '../persist/paths.js';
import { iniValue, iniValues } from '../persist/render.js';
import { ZERO_MAC } from '../ops/rule-fdb.js';
import type { FileWant } from '../persist/persistence.js';
import { wantedRemotes, wantedVxlan, type EnsureVxlanArgs } from './ensure-vxlan.js';

const HEADER = '# Written by kvmnet; changes made here are overwritten on its next run.';
export const vxlanFdbPath = (name: string) => `${networkdPaths.dropIns(name)}/fdb.conf`;

export function vxlanFiles(format: PersistFormat, args: EnsureVxlanArgs, facts: Facts, host: string): FileWant[] {
  const { name } = args;
  if (args.state === 'absent') return [networkdPaths.netdev(name), vxlanFdbPath(name)].map((path) => ({ path, content: null }));
  if (format !== 'networkd') throw new RefusedError(`persist: ${format}: kvmnet persists VXLANs only as systemd-networkd files on ${host}; set persist: none (or networkd) on this task`);
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
  if ((facts.persisted ?? {})[network] === undefined) wants.push({ path: network, content: [HEADER, `# ensure_vxlan ${name}`, '[Match]', `Name=${name}`, '', '[Network]', 'ConfigureWithoutCarrier=yes', ''].join('\n') });
  const remotes = wantedRemotes(args);
  if (remotes) {
    const fdb = [HEADER, `# ensure_vxlan ${name}: flooding entries`, ...remotes.flatMap((r) => ['', '[BridgeFDB]', `MACAddress=${ZERO_MAC}`, `Destination=${r}`]), ''].join('\n');
    wants.push({ path: vxlanFdbPath(name), content: remotes.length ? fdb : null });
  }
  return wants;
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
  return out;
}
