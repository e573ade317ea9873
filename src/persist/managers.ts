// Which network manager owns a host and each of its devices: systemd-networkd, NetworkManager,
// netplan (a layer that renders for one of those two), ifupdown or ifupdown2. A shell fragment of
// the facts exec and its pure parser; `persist: auto` and the NetworkManager guard read the result.
//
//   systemd        /run/systemd/system exists (sd_booted(3)): the host booted systemd
//   active …       `systemctl is-active` of systemd-networkd, NetworkManager and networking (ifupdown's unit)
//   ifupdown2      /usr/share/ifupdown2 exists (the package's python tree; `ifup` is then ifupdown2's)
//   ifup           `ifup` is installed (ifupdown, or ifupdown2)
//   netplan F      a netplan YAML file, then its `renderer:` lines
//   stanza W NAME  `auto`/`allow-*`/`iface` lines of /etc/network/interfaces and interfaces.d/*
//   nm DEV:TYPE:STATE:CONNECTION   `nmcli -t device status` (only when NetworkManager is active)
//   networkd IDX LINK TYPE OPER SETUP   `networkctl list` (only when systemd-networkd is active)
import { shellProgram } from '../shell/program.js';
import type { ManagerFacts, NetworkManagerName } from '../model/facts.js';

export const MANAGERS_SCRIPT = shellProgram(new URL('./managers.sh', import.meta.url));

/** `nmcli -t` escapes ':' and '\\' in values with a backslash. */
function splitTerse(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === '\\' && i + 1 < line.length) cur += line[++i];
    else if (ch === ':') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

export function parseManagers(body: string): ManagerFacts {
  const m: ManagerFacts = { systemd: false, active: {}, ifupdown: null, netplan: [], nmDevices: {}, networkdLinks: {}, ifupdownStanzas: [] };
  let netplan: ManagerFacts['netplan'][number] | undefined;
  let ifup = false;
  let ifupdown2 = false;
  for (const line of body.split('\n')) {
    const [word, ...rest] = line.trim().split(/\s+/);
    if (!word) continue;
    if (word === 'systemd') m.systemd = true;
    else if (word === 'active' && rest.length === 2) m.active[rest[0] as 'networkd' | 'networkmanager' | 'networking'] = rest[1] === 'active';
    else if (word === 'ifupdown2') ifupdown2 = true;
    else if (word === 'ifup') ifup = true;
    else if (word === 'netplan' && rest[0]) m.netplan.push((netplan = { file: rest.join(' ') }));
    else if (word === 'renderer' && netplan && rest[0]) netplan.renderer = rest[0];
    else if (word === 'stanza' && rest.length >= 2) {
      // `auto a b c` names several; `iface NAME inet …` one.
      const names = rest[0] === 'iface' ? [rest[1]!] : rest.slice(1);
      for (const n of names) if (!m.ifupdownStanzas.includes(n)) m.ifupdownStanzas.push(n);
    } else if (word === 'nm') {
      const [dev, type, state, connection] = splitTerse(line.trim().slice(3));
      if (dev) m.nmDevices[dev] = { type: type ?? '', state: state ?? '', connection: connection || undefined };
    } else if (word === 'networkd' && rest.length >= 5) {
      m.networkdLinks[rest[1]!] = { operational: rest[3]!, setup: rest.slice(4).join(' ') };
    }
  }
  m.ifupdown = ifupdown2 ? 'ifupdown2' : ifup ? 'ifupdown' : null;
  return m;
}

/** NetworkManager manages DEV: it is running and does not list DEV as unmanaged (or external). */
export function nmManages(m: ManagerFacts | undefined, dev: string): boolean {
  if (!m?.active.networkmanager) return false;
  const d = m.nmDevices[dev];
  return d !== undefined && d.state !== 'unmanaged' && !d.state.includes('externally') && d.type !== 'loopback';
}

/**
 * The manager the host boots its network with (what `persist: auto` means), or why none can be told.
 * netplan first (it renders for networkd or NetworkManager: files written there would be
 * overwritten by its generator), then a running NetworkManager, ifupdown2/ifupdown with their
 * networking unit (or without systemd), then a running networkd.
 */
export function hostManager(m: ManagerFacts | undefined): { manager: NetworkManagerName } | { reason: string } {
  if (!m) return { reason: 'these facts do not say which network manager the host runs' };
  if (m.netplan.some((f) => f.file.startsWith('/etc/netplan/'))) return { manager: 'netplan' };
  if (m.active.networkmanager) return { manager: 'networkmanager' };
  if (m.ifupdown && (m.active.networking || !m.systemd)) return { manager: m.ifupdown };
  if (m.active.networkd) return { manager: 'networkd' };
  if (m.ifupdown) return { manager: m.ifupdown };
  return {
    reason: m.systemd
      ? 'neither systemd-networkd, NetworkManager nor ifupdown runs, and there is no netplan configuration'
      : 'the host runs no systemd and has no ifupdown',
  };
}

/** Who owns each device, for `kvmnet facts`: `eth1: NetworkManager (connected, profile bond0-port-eth1)`. */
export function deviceOwners(m: ManagerFacts, links: readonly string[]): Array<[string, string]> {
  const rows: Array<[string, string]> = [];
  for (const dev of links) {
    if (dev === 'lo') continue;
    const owners: string[] = [];
    const nm = m.nmDevices[dev];
    if (m.active.networkmanager && nm)
      owners.push(nmManages(m, dev) ? `NetworkManager (${nm.state}${nm.connection ? `, ${nm.connection}` : ''})` : `not NetworkManager (${nm.state})`);
    const nd = m.networkdLinks[dev];
    if (nd && nd.setup !== 'unmanaged') owners.push(`systemd-networkd (${nd.setup})`);
    if (m.ifupdownStanzas.includes(dev)) owners.push(`${m.ifupdown ?? 'ifupdown'} stanza`);
    rows.push([dev, owners.length ? owners.join('; ') : 'no manager']);
  }
  return rows;
}
