// The VLANs a libvirt network gives its guests, as `kvmnet facts` shows them: the network's own
// <vlan> and its <portgroup>s, read from `virsh net-dumpxml --inactive`. Pure.
import { readableXml, type XmlElement } from './netxml.js';

export interface NetVlan {
  trunk: boolean;
  tags: Array<{ id: number; native_mode?: string }>;
}

export interface NetVlans {
  vlan: NetVlan | null;
  portgroups: Array<{ name: string; default: boolean; vlan: NetVlan | null }>;
}

function readVlan(parent: XmlElement): NetVlan | null {
  const v = parent.children.find((c) => c.tag === 'vlan');
  if (!v) return null;
  const tags = v.children
    .filter((c) => c.tag === 'tag' && c.attrs.id !== undefined)
    .map((t) => ({ id: Number(t.attrs.id), ...(t.attrs.nativeMode ? { native_mode: t.attrs.nativeMode } : {}) }));
  return { trunk: v.attrs.trunk === 'yes' || tags.length > 1, tags };
}

export function netVlans(xml: string | undefined): NetVlans {
  const out: NetVlans = { vlan: null, portgroups: [] };
  const root = readableXml(xml);
  if (!root) return out;
  out.vlan = readVlan(root);
  for (const p of root.children.filter((c) => c.tag === 'portgroup')) {
    out.portgroups.push({ name: p.attrs.name ?? '', default: p.attrs.default === 'yes', vlan: readVlan(p) });
  }
  return out;
}

/** `10 (native untagged), 20 trunk` or `30`. */
export function describeNetVlan(v: NetVlan): string {
  const tags = v.tags.map((t) => (t.native_mode ? `${t.id} (native ${t.native_mode})` : String(t.id))).join(', ');
  return v.trunk ? `trunk ${tags}` : tags;
}
