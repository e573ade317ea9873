// Changes of a link that several task types plan the same way (bridges, bonds, VLANs, ports).
import type { Change } from '../model/plan.js';

export function linkUpChange(name: string, up: boolean): Change {
  return { summary: `bring ${name} ${up ? 'up' : 'down'}`, ops: [{ op: 'link.up', name, up }] };
}

export function linkMtuChange(name: string, from: number, to: number): Change {
  return { summary: `set ${name} mtu ${from} → ${to}`, ops: [{ op: 'link.mtu', name, mtu: to }] };
}
