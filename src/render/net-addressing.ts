// The addressing of a libvirt network as the topology picture shows it: its IP ranges and DHCP
// ranges, read from `virsh net-dumpxml --inactive`. Pure.
import { readableXml } from './netxml.js';

export interface NetAddressing {
  /** `192.168.122.1/24`, `2001:db8::1/64`. */
  ip: string[];
  /** `192.168.122.2-192.168.122.254`. */
  dhcp: string[];
}

function prefixOf(netmask: string): number | undefined {
  const parts = netmask.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  return parts.reduce((bits, p) => bits + p.toString(2).replace(/0/g, '').length, 0);
}

export function netAddressing(xml: string | undefined): NetAddressing {
  const out: NetAddressing = { ip: [], dhcp: [] };
  const root = readableXml(xml);
  if (!root) return out;
  for (const ip of root.children.filter((c) => c.tag === 'ip')) {
    const address = ip.attrs.address;
    if (!address) continue;
    const prefix = ip.attrs.prefix ?? (ip.attrs.netmask ? prefixOf(ip.attrs.netmask) : undefined);
    out.ip.push(prefix === undefined ? address : `${address}/${prefix}`);
    for (const dhcp of ip.children.filter((c) => c.tag === 'dhcp')) {
      for (const r of dhcp.children.filter((c) => c.tag === 'range')) {
        if (r.attrs.start && r.attrs.end) out.dhcp.push(`${r.attrs.start}-${r.attrs.end}`);
      }
    }
  }
  return out;
}
