// `kvmnet facts`: the checks a tutorial does by hand (ip link show master br0, virsh net-list
// --all, virsh domiflist) in one view per host.
import type { Facts } from '../model/facts.js';
import { persistedState, persistenceDrift } from '../persist/drift.js';
import { portsOf } from '../tasks/describe.js';
import type { Colors } from './format.js';
import { netAddressing } from './net-addressing.js';

export function factsSummary(f: Facts) {
  const bridges = Object.values(f.links)
    .filter((l) => l.kind === 'bridge')
    .map((b) => ({ name: b.name, up: b.up, stp: b.bridge?.stp ?? false, forward_delay: b.bridge?.forwardDelay ?? 0, mtu: b.mtu, ports: portsOf(f, b.name) }));
  const addresses = f.addrs.filter((a) => a.scope === 'global').map((a) => ({ dev: a.dev, address: `${a.address}/${a.prefix}` }));
  const networks = f.libvirt.available
    ? Object.values(f.libvirt.networks).map((n) => ({ name: n.name, state: n.active ? 'active' : 'inactive', autostart: n.autostart, persistent: n.persistent, bridge: n.bridge ?? null, forward: n.forwardMode ?? null, ...netAddressing(n.xml) }))
    : null;
  // Every link but lo, for the topology picture (kvmnet graph --from): kinds, masters, MTUs.
  const links = Object.values(f.links)
    .filter((l) => l.name !== 'lo')
    .map((l) => ({ name: l.name, kind: l.kind ?? null, master: l.master ?? null, up: l.up, operstate: l.operstate, mtu: l.mtu }));
  return {
    hostname: f.hostname,
    ssh: f.session ? { address: f.session.serverAddress, interface: f.session.dev ?? null } : null,
    bridges,
    addresses,
    libvirt: f.libvirt.available ? 'available' : f.libvirt.reason,
    networks,
    guest_interfaces: f.libvirt.available ? f.libvirt.guests : [],
    // null: these facts do not say (not gathered); [] : nothing persisted.
    persisted_files: f.persisted ? Object.keys(f.persisted).sort() : null,
    persistence_drift: persistenceDrift(f),
    persisted_bridges: f.persisted ? persistedState(f.persisted).bridges.map((b) => b.name).sort() : null,
    links,
  };
}

function table(rows: string[][], indent = '  '): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => indent + r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
}

export function factsText(host: string, f: Facts, c: Colors): string[] {
  const s = factsSummary(f);
  const lines = [c.bold(`${host} (${s.hostname})${s.ssh ? `  ssh via ${s.ssh.interface ?? '?'} ${s.ssh.address}` : ''}`)];
  lines.push('  bridges:');
  if (s.bridges.length) lines.push(...table([['name', 'state', 'stp', 'delay', 'mtu', 'ports'], ...s.bridges.map((b) => [b.name, b.up ? 'up' : 'down', b.stp ? 'on' : 'off', `${b.forward_delay}s`, String(b.mtu), b.ports.join(',') || '-'])], '    '));
  else lines.push('    (none)');
  lines.push('  addresses:');
  lines.push(...(s.addresses.length ? table([['dev', 'address'], ...s.addresses.map((a) => [a.dev, a.address])], '    ') : ['    (none)']));
  lines.push('  libvirt networks:');
  if (!s.networks) lines.push(c.yellow(`    libvirt unavailable: ${s.libvirt}`));
  else if (s.networks.length) lines.push(...table([['name', 'state', 'autostart', 'persistent', 'bridge', 'forward'], ...s.networks.map((n) => [n.name, n.state, n.autostart ? 'yes' : 'no', n.persistent ? 'yes' : 'no', n.bridge ?? '-', n.forward ?? '-'])], '    '));
  else lines.push('    (none)');
  if (s.guest_interfaces.length) {
    lines.push('  guest interfaces:');
    lines.push(...table([['guest', 'interface', 'type', 'source', 'model', 'mac'], ...s.guest_interfaces.map((g) => [g.guest, g.interface, g.type, g.source, g.model, g.mac])], '    '));
  }
  if (s.persisted_files?.length || s.persistence_drift.length) {
    lines.push(`  persisted (${s.persisted_files?.length ?? 0} kvmnet files):`);
    if (s.persistence_drift.length) lines.push(...s.persistence_drift.map((d) => c.yellow(`    ${d}`)));
    else lines.push('    runtime and persisted state agree');
  }
  return lines;
}
