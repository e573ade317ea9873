// Where what kvmnet persisted and what runs disagree: what a reboot would change. Pure.
import { parseCidr } from '../config/validators.js';
import type { Facts } from '../model/facts.js';
import { canonicalAddress, classifyPath, type PersistFormat } from './paths.js';
import { iniValue, iniValues, ifupdownPorts, ifupdownStanzas } from './render.js';

export interface PersistedState {
  bridges: Array<{ name: string; format: PersistFormat; stp?: boolean; mtu?: number }>;
  ports: Array<{ iface: string; bridge: string; format: PersistFormat }>;
  addresses: Array<{ dev: string; address: string; prefix: number; format: PersistFormat }>;
}

/** Reads back the bridges, ports and addresses of kvmnet's files (other files are ignored). */
export function persistedState(persisted: Record<string, string>): PersistedState {
  const state: PersistedState = { bridges: [], ports: [], addresses: [] };
  const addAddress = (dev: string, cidr: string, format: PersistFormat) => {
    const c = parseCidr(cidr);
    if (c) state.addresses.push({ dev, address: canonicalAddress(c.address), prefix: c.prefix, format });
  };
  for (const [path, content] of Object.entries(persisted).sort(([a], [b]) => a.localeCompare(b))) {
    const c = classifyPath(path);
    if (!c) continue;
    if (c.format === 'networkd') {
      if (c.role === 'netdev' && iniValue(content, 'Kind') === 'bridge') {
        const stp = iniValue(content, 'STP');
        const mtu = iniValue(content, 'MTUBytes');
        state.bridges.push({ name: iniValue(content, 'Name') ?? c.name, format: 'networkd', stp: stp === undefined ? undefined : /^(yes|true|on|1)$/i.test(stp), mtu: mtu === undefined ? undefined : Number(mtu) });
      } else if (c.role === 'network') {
        const bridge = iniValue(content, 'Bridge');
        if (bridge) state.ports.push({ iface: iniValue(content, 'Name') ?? c.name, bridge, format: 'networkd' });
      } else if (c.role === 'address' && persisted[path.replace(/\.d\/[^/]+$/, '')] !== undefined) {
        // A drop-in counts only with its .network file: without it networkd never reads it.
        for (const a of iniValues(content, 'Address')) addAddress(c.name, a, 'networkd');
      }
      continue;
    }
    for (const s of ifupdownStanzas(content)) {
      const opt = (k: string) => s.options.find(([key]) => key === k)?.[1];
      const ports = opt('bridge_ports');
      if (ports !== undefined) {
        const stp = opt('bridge_stp');
        const mtu = opt('mtu');
        state.bridges.push({ name: s.iface, format: 'ifupdown', stp: stp === undefined ? undefined : /^(yes|on)$/i.test(stp), mtu: mtu === undefined ? undefined : Number(mtu) });
        for (const port of ifupdownPorts(`bridge_ports ${ports}`)) state.ports.push({ iface: port, bridge: s.iface, format: 'ifupdown' });
      }
      if (s.method === 'static') for (const [k, v] of s.options) if (k === 'address') addAddress(s.iface, v, 'ifupdown');
    }
  }
  return state;
}

/**
 * One line per disagreement, e.g. `br0: persisted (networkd) but not present at runtime` or
 * `eth1: port of br0 at runtime but not persisted`. Empty when facts carry no persisted files.
 */
export function persistenceDrift(facts: Facts): string[] {
  if (!facts.persisted) return [];
  const state = persistedState(facts.persisted);
  const out: string[] = [];
  const persistedBridges = new Set(state.bridges.map((b) => b.name));
  const persistedPorts = new Set(state.ports.map((p) => `${p.iface} ${p.bridge}`));
  const persistedAddrs = new Set(state.addresses.map((a) => `${a.dev} ${a.address}/${a.prefix}`));

  for (const b of state.bridges) {
    const link = facts.links[b.name];
    if (!link) out.push(`${b.name}: persisted (${b.format}) but not present at runtime`);
    else if (link.kind !== 'bridge') out.push(`${b.name}: persisted (${b.format}) as a bridge, but ${link.kind ? `a ${link.kind}` : 'not a bridge'} at runtime`);
    else {
      const stp = link.bridge?.stp ?? false;
      if (b.stp !== undefined && b.stp !== stp) out.push(`${b.name}: stp ${b.stp ? 'on' : 'off'} persisted (${b.format}), ${stp ? 'on' : 'off'} at runtime`);
      if (b.mtu !== undefined && b.mtu !== link.mtu) out.push(`${b.name}: mtu ${b.mtu} persisted (${b.format}), ${link.mtu} at runtime`);
    }
  }
  // Bridges libvirt creates itself (nat, route, isolated, open networks) come back with the network.
  const libvirtOwned = new Set(facts.libvirt.available ? Object.values(facts.libvirt.networks).filter((n) => n.bridge && n.forwardMode !== 'bridge').map((n) => n.bridge!) : []);
  for (const link of Object.values(facts.links)) {
    if (link.kind !== 'bridge' || persistedBridges.has(link.name) || libvirtOwned.has(link.name)) continue;
    const users = facts.libvirt.available ? Object.values(facts.libvirt.networks).filter((n) => n.bridge === link.name).map((n) => n.name) : [];
    out.push(`${link.name}: bridge at runtime but not persisted by kvmnet${users.length ? ` (libvirt network ${users.join(', ')} needs it after a reboot)` : ''}`);
  }

  for (const p of state.ports) {
    const link = facts.links[p.iface];
    if (!link) out.push(`${p.iface}: persisted (${p.format}) as a port of ${p.bridge} but not present at runtime`);
    else if (link.master !== p.bridge) out.push(`${p.iface}: persisted (${p.format}) as a port of ${p.bridge}, but ${link.master ? `a port of ${link.master}` : 'not a port'} at runtime`);
  }
  for (const link of Object.values(facts.links)) {
    // Guests' tap devices (kind tun) are plugged in again by libvirt when the guests start.
    if (!link.master || !persistedBridges.has(link.master) || link.kind === 'tun' || persistedPorts.has(`${link.name} ${link.master}`)) continue;
    out.push(`${link.name}: port of ${link.master} at runtime but not persisted`);
  }

  for (const a of state.addresses) {
    const here = facts.addrs.some((x) => x.dev === a.dev && canonicalAddress(x.address) === a.address && x.prefix === a.prefix);
    if (!here) out.push(`${a.dev}: address ${a.address}/${a.prefix} persisted (${a.format}) but not present at runtime`);
  }
  const persistedDevs = new Set([...persistedBridges, ...state.ports.map((p) => p.iface)]);
  for (const x of facts.addrs) {
    if (x.scope !== 'global' || !persistedDevs.has(x.dev) || persistedAddrs.has(`${x.dev} ${canonicalAddress(x.address)}/${x.prefix}`)) continue;
    out.push(`${x.dev}: address ${canonicalAddress(x.address)}/${x.prefix} at runtime but not persisted`);
  }
  return out;
}
