// Pure parsers for virsh output: `net-list --all`, `net-info`, `net-dumpxml`, `domiflist`.
import { networkXmlSummary } from '../render/netxml.js';
import type { GuestInterface, NetworkFact } from '../model/facts.js';

/** ` default   active   yes   yes` → name, active, autostart, persistent. Names may contain spaces: parse from the right. */
export function parseNetList(text: string): Array<{ name: string; active: boolean; autostart: boolean; persistent: boolean }> {
  const rows = [];
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 4 || cols[0] === 'Name' || /^-+$/.test(cols[0]!)) continue;
    const [state, autostart, persistent] = cols.slice(-3);
    rows.push({ name: cols.slice(0, -3).join(' '), active: state === 'active', autostart: autostart === 'yes', persistent: persistent === 'yes' });
  }
  return rows;
}

/** `Name:  default` lines → a key/value map. */
export function parseNetInfo(text: string): Record<string, string> {
  const info: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z ]+):\s*(.*)$/.exec(line.trim());
    if (m) info[m[1]!.trim()] = m[2]!.trim();
  }
  return info;
}

// libvirt's own output; if it ever does not parse, the network is still listed (net-info has the bridge).
function summaryOrNothing(text: string): ReturnType<typeof networkXmlSummary> | undefined {
  try {
    return networkXmlSummary(text);
  } catch {
    return undefined;
  }
}

export function networkFromSections(name: string, info: string, xmlText: string): NetworkFact {
  const i = parseNetInfo(info);
  const summary = xmlText.trim() ? summaryOrNothing(xmlText) : undefined;
  return {
    name,
    active: i.Active === 'yes',
    persistent: i.Persistent === 'yes',
    autostart: i.Autostart === 'yes',
    bridge: i.Bridge || summary?.bridge,
    forwardMode: summary?.forwardMode,
    xml: xmlText.trim() ? xmlText.trim() : undefined,
  };
}

/** ` vnet0   network   default   virtio   52:54:00:…` rows (with -q, no header). */
export function parseDomIfList(guest: string, text: string): GuestInterface[] {
  const out: GuestInterface[] = [];
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 5 || cols[0] === 'Interface' || /^-+$/.test(cols[0]!)) continue;
    const [iface, type, source, model, mac] = cols as [string, string, string, string, string];
    out.push({ guest, interface: iface, type, source, model, mac });
  }
  return out;
}
