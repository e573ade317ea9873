// The facts a picture is drawn from: one entry per host in the shape `kvmnet facts --output json`
// prints (factsSummary plus `host`), whether gathered live or read back from a file. Pure.
import { UsageError } from '../errors.js';
import type { GuestInterface, ManagerFacts } from '../model/facts.js';

/**
 * What a picture reads of `kvmnet facts --output json` (report/facts-view.ts assembles it from the
 * task types' views; test/unit/graph-*.test.ts draw from that real output, so the two stay in step).
 */
export interface FactsSummary {
  hostname: string;
  ssh: { address: string; interface: string | null } | null;
  bridges: Array<{ name: string; up: boolean; stp: boolean; forward_delay: number; mtu: number; ports: string[] }>;
  persisted_bridges: string[] | null;
  addresses: Array<{ dev: string; address: string }>;
  libvirt: string;
  networks: Array<{
    name: string;
    state: string;
    autostart: boolean;
    persistent: boolean;
    bridge: string | null;
    forward: string | null;
    ip: string[];
    dhcp: string[];
  }> | null;
  guest_interfaces: GuestInterface[];
  /** ensure_guest_nic's view (absent in facts from before it). */
  guest_nics?: Array<{ domain: string; mac: string; type: string; source: string; portgroup: string | null; link: string }> | null;
  persisted_files: string[] | null;
  persistence_drift: string[];
  links: Array<{
    name: string;
    kind: string | null;
    master: string | null;
    up: boolean;
    operstate: string;
    mtu: number;
    /** The device a VLAN (or other stacked link) sits on. */
    lower?: string;
    vlan_id?: number;
    /** partner: the 802.3ad LACP partner's MAC, null when there is none; absent in other modes. */
    bond?: { mode: string; partner?: string | null; active?: string };
    /** A VLAN-aware bridge's port (or the bridge itself): `30, 200-202, 99 PVID untagged`. */
    port_vlans?: string;
  }>;
  /** ensure_vxlan's view: VNI, remotes, and why its MTU does not fit its underlay (absent in older facts). */
  vxlans?: Array<{ name: string; vni?: number; remotes: string[]; mtuWarning: string | null; dev?: string; local?: string; group?: string }>;
  /** Which network managers run and own which device (null: not gathered; absent in older facts). */
  network_managers?: (ManagerFacts & { manager: string | null }) | null;
}

export type FactsEntry = { host: string; facts: FactsSummary } | { host: string; error: string; unreachable: boolean };

/** A --from file that is not facts JSON: invalid input (exit 1), nothing is drawn. */
export class FactsFileError extends UsageError {}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads `kvmnet facts --output json` output (JSON Lines) or a JSON array of the same objects.
 * Facts written by an older kvmnet (without `links`) still draw: ports come from `bridges`.
 */
export function parseFactsJson(text: string, file: string): FactsEntry[] {
  const trimmed = text.trim();
  let values: unknown[];
  if (trimmed.startsWith('[')) {
    try {
      values = JSON.parse(trimmed) as unknown[];
    } catch (e) {
      throw new FactsFileError(`${file}: not JSON: ${(e as Error).message}`);
    }
  } else {
    values = trimmed.split('\n').flatMap((line, i) => {
      if (!line.trim()) return [];
      try {
        return [JSON.parse(line) as unknown];
      } catch (e) {
        throw new FactsFileError(`${file}:${i + 1}: not JSON: ${(e as Error).message}`);
      }
    });
  }
  const entries: FactsEntry[] = [];
  values.forEach((v, i) => {
    const where = `${file}: entry ${i + 1}`;
    // The header of `kvmnet facts --shard I/N --output json` (report/run-header.ts): not a host.
    if (isObject(v) && v.event === 'header') return;
    if (!isObject(v) || typeof v.host !== 'string')
      throw new FactsFileError(`${where}: expected an object with a "host" (the output of \`kvmnet facts --output json\`)`);
    if (typeof v.error === 'string') {
      entries.push({ host: v.host, error: v.error, unreachable: v.unreachable === true });
      return;
    }
    if (!Array.isArray(v.bridges) || !Array.isArray(v.addresses))
      throw new FactsFileError(`${where} (${v.host}): expected "bridges" and "addresses" lists (the output of \`kvmnet facts --output json\`)`);
    const { host, ...rest } = v;
    entries.push({ host, facts: normalize(rest) });
  });
  if (entries.length === 0) throw new FactsFileError(`${file}: no hosts in it`);
  return entries;
}

function normalize(raw: Record<string, unknown>): FactsSummary {
  const f = raw as unknown as FactsSummary;
  return {
    ...f,
    hostname: typeof f.hostname === 'string' ? f.hostname : '',
    ssh: f.ssh ?? null,
    networks: f.networks ? f.networks.map((n) => ({ ...n, ip: n.ip ?? [], dhcp: n.dhcp ?? [] })) : null,
    guest_interfaces: f.guest_interfaces ?? [],
    persisted_files: f.persisted_files ?? null,
    persistence_drift: f.persistence_drift ?? [],
    persisted_bridges: f.persisted_bridges ?? null,
    links: f.links ?? linksFromBridges(f),
  };
}

function linksFromBridges(f: FactsSummary): FactsSummary['links'] {
  const links: FactsSummary['links'] = f.bridges.map((b) => ({
    name: b.name,
    kind: 'bridge',
    master: null,
    up: b.up,
    operstate: b.up ? 'UP' : 'DOWN',
    mtu: b.mtu,
  }));
  for (const b of f.bridges) for (const p of b.ports) links.push({ name: p, kind: null, master: b.name, up: true, operstate: 'UNKNOWN', mtu: 0 });
  return links;
}
