// What a task wants on disk, given its arguments and the files the host already has. Pure.
// Each task owns whole files, except the ifupdown bridge file, whose bridge_ports line belongs to
// the ensure_port tasks (bridge-utils lists ports in the bridge's stanza): both edit it in place.
import type { EnsureBridgeArgs, EnsureIpArgs, EnsurePortArgs } from '../config/task-schemas.js';
import { parseCidr } from '../config/validators.js';
import { RefusedError } from '../errors.js';
import type { Facts } from '../model/facts.js';
import { canonicalAddress, classifyPath, ifupdownPaths, networkdPaths, PERSIST_DIRS, type PersistFormat, type PersistKind } from './paths.js';
import {
  iniValue,
  iniValues,
  ifupdownAddress,
  ifupdownBridge,
  ifupdownPorts,
  ifupdownStanzas,
  networkdAddress,
  networkdBridgeNetdev,
  networkdBridgeNetwork,
  networkdPortNetwork,
  withIfupdownPorts,
} from './render.js';

/** A file as a task wants it: `content: null` means it must not exist. */
export interface FileWant {
  path: string;
  content: string | null;
}

export type PersistTask =
  | { type: 'ensure_bridge'; args: EnsureBridgeArgs }
  | { type: 'ensure_port'; args: EnsurePortArgs }
  | { type: 'ensure_ip'; args: EnsureIpArgs };

/** The files `task` wants in format `kind` (none for `persist: none`). Throws RefusedError. */
export function persistedFiles(kind: PersistKind | undefined, task: PersistTask, facts: Facts, host: string): FileWant[] {
  if (kind === undefined || kind === 'none') return [];
  const present = task.args.state === 'present';
  const dirs = facts.persistDirs;
  // Only refuse when the facts say so: facts without the section (older fixtures) know nothing.
  if (present && dirs && !dirs.includes(PERSIST_DIRS[kind])) {
    const what = kind === 'networkd' ? 'is systemd-networkd installed?' : 'is ifupdown installed?';
    throw new RefusedError(`persist: ${kind}: ${PERSIST_DIRS[kind]} does not exist on ${host} (${what}); use the format the host boots with, or persist: none`);
  }
  switch (task.type) {
    case 'ensure_bridge':
      return bridgeFiles(kind, task.args, facts);
    case 'ensure_port':
      return portFiles(kind, task.args, facts, host);
    case 'ensure_ip':
      return addressFiles(kind, task.args, facts, host);
  }
}

const files = (facts: Facts) => facts.persisted ?? {};

function bridgeFiles(kind: PersistFormat, args: EnsureBridgeArgs, facts: Facts): FileWant[] {
  const { name } = args;
  const settings = { name, stp: args.stp, forwardDelay: args.forward_delay, mtu: args.mtu, up: args.up };
  const existing = Object.keys(files(facts));
  if (kind === 'networkd') {
    if (args.state === 'present') {
      return [
        { path: networkdPaths.netdev(name), content: networkdBridgeNetdev(settings) },
        { path: networkdPaths.network(name), content: networkdBridgeNetwork(settings) },
      ];
    }
    // Deleting a bridge releases its ports and drops its addresses: so do its files.
    const dropIns = existing.filter((p) => p.startsWith(`${networkdPaths.dropIns(name)}/`));
    const ports = existing.filter((p) => {
      const c = classifyPath(p);
      return c?.format === 'networkd' && c.role === 'network' && c.name !== name && iniValue(files(facts)[p]!, 'Bridge') === name;
    });
    return [networkdPaths.netdev(name), networkdPaths.network(name), ...dropIns, ...ports].map((path) => ({ path, content: null }));
  }
  const main = ifupdownPaths.main(name);
  if (args.state === 'present') {
    const current = files(facts)[main];
    return [{ path: main, content: ifupdownBridge(settings, current === undefined ? [] : ifupdownPorts(current)) }];
  }
  const addresses = existing.filter((p) => p.startsWith(`${main}__`));
  return [main, ...addresses].map((path) => ({ path, content: null }));
}

// bridge-utils reads these words in bridge_ports as keywords, not interface names.
const BRIDGE_PORTS_KEYWORDS = new Set(['none', 'all', 'regex', 'noregex']);

function portFiles(kind: PersistFormat, args: EnsurePortArgs, facts: Facts, host: string): FileWant[] {
  const { bridge, interface: iface } = args;
  if (kind === 'networkd') {
    const path = networkdPaths.network(iface);
    const current = files(facts)[path];
    if (args.state === 'present') return [{ path, content: networkdPortNetwork(iface, bridge) }];
    // Only the file that makes iface a port of THIS bridge goes, as `ip link set nomaster` only would.
    return current !== undefined && iniValue(current, 'Bridge') === bridge ? [{ path, content: null }] : [];
  }
  const main = ifupdownPaths.main(bridge);
  const current = files(facts)[main];
  if (args.state === 'absent') {
    if (current === undefined || !ifupdownPorts(current).includes(iface)) return [];
    return [{ path: main, content: withIfupdownPorts(current, ifupdownPorts(current).filter((p) => p !== iface)) }];
  }
  if (BRIDGE_PORTS_KEYWORDS.has(iface)) throw new RefusedError(`persist: ifupdown cannot list an interface named '${iface}' in bridge_ports: bridge-utils reads it as a keyword`);
  if (current === undefined) {
    throw new RefusedError(
      `persist: ifupdown lists the ports of a bridge in the bridge's own stanza, and ${main} does not exist on ${host}: persist the bridge first (ensure_bridge ${bridge} with persist: ifupdown, before this task)`,
    );
  }
  const wants: FileWant[] = [{ path: main, content: withIfupdownPorts(current, [...new Set([...ifupdownPorts(current), iface])]) }];
  // A port belongs to one bridge: moving it takes it out of the other bridge's stanza too.
  for (const [path, content] of Object.entries(files(facts))) {
    const c = classifyPath(path);
    if (path === main || c?.format !== 'ifupdown' || c.role !== 'main' || !ifupdownPorts(content).includes(iface)) continue;
    wants.push({ path, content: withIfupdownPorts(content, ifupdownPorts(content).filter((p) => p !== iface)) });
  }
  return wants;
}

function addressFiles(kind: PersistFormat, args: EnsureIpArgs, facts: Facts, host: string): FileWant[] {
  const want = parseCidr(args.address)!;
  const address = canonicalAddress(want.address);
  const cidr = `${address}/${want.prefix}`;
  const { dev } = args;
  const path = kind === 'networkd' ? networkdPaths.address(dev, address) : ifupdownPaths.address(dev, address);
  if (args.state === 'absent') return [{ path, content: null }];

  const main = kind === 'networkd' ? networkdPaths.network(dev) : ifupdownPaths.main(dev);
  if (files(facts)[main] === undefined) {
    const why =
      kind === 'networkd'
        ? `networkd applies only the first .network file that matches an interface, so kvmnet adds addresses only to the .network files it writes itself (for bridges and ports)`
        : `kvmnet adds address stanzas only to interfaces whose stanza it writes itself (bridges)`;
    throw new RefusedError(`persist: ${kind}: ${main} does not exist on ${host}; ${why}. Persist ${dev} first (ensure_bridge with persist: ${kind}, before this task), or set persist: none here`);
  }
  const wants: FileWant[] = [{ path, content: kind === 'networkd' ? networkdAddress(dev, cidr) : ifupdownAddress(dev, want.family, cidr) }];
  if (args.exclusive) {
    // As at runtime: the other addresses of this family on dev go.
    for (const [other, content] of Object.entries(files(facts))) {
      if (other === path) continue;
      const theirs = kind === 'networkd' ? (other.startsWith(`${networkdPaths.dropIns(dev)}/`) ? iniValues(content, 'Address') : []) : other.startsWith(`${main}__`) ? ifupdownAddresses(content) : [];
      if (theirs.some((a) => parseCidr(a)?.family === want.family)) wants.push({ path: other, content: null });
    }
  }
  return wants;
}

function ifupdownAddresses(content: string): string[] {
  return ifupdownStanzas(content).flatMap((s) => s.options.filter(([k]) => k === 'address').map(([, v]) => v));
}
