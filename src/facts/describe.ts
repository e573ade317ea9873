// Human one-liners and small queries over the facts, used by planners, diffs and views.
import type { Facts, LinkFact } from '../model/facts.js';

export function describeLink(link: LinkFact | undefined, name: string): string {
  if (!link) return `${name}: absent`;
  const parts = [`${name}:`, link.kind ?? 'device'];
  if (link.bridge) parts.push(`stp ${link.bridge.stp ? 'on' : 'off'}`, `forward_delay ${link.bridge.forwardDelay}s`);
  parts.push(`mtu ${link.mtu}`, link.up ? 'up' : 'down');
  if (link.master) parts.push(`master ${link.master}`);
  return parts.join(' ');
}

export function describeAddrs(facts: Facts, dev: string): string {
  const addrs = facts.addrs.filter((a) => a.dev === dev && a.scope !== 'link' && a.scope !== 'host');
  return `${dev}: ${addrs.length ? addrs.map((a) => `${a.address}/${a.prefix}`).join(' ') : 'no addresses'}`;
}

export function portsOf(facts: Facts, bridge: string): string[] {
  return Object.values(facts.links)
    .filter((l) => l.master === bridge)
    .map((l) => l.name)
    .sort();
}

/** libvirt networks whose bridge is `name`. */
export function networksUsingBridge(facts: Facts, name: string): string[] {
  if (!facts.libvirt.available) return [];
  return Object.values(facts.libvirt.networks)
    .filter((n) => n.bridge === name)
    .map((n) => n.name);
}

/** Each device's link line and its addresses: the before/after text of a link change's diff. */
export function describeDevices(facts: Facts, devices: readonly string[]): string {
  return devices.flatMap((d) => [describeLink(facts.links[d], d), ...(facts.links[d] ? [describeAddrs(facts, d)] : [])]).join('\n');
}
