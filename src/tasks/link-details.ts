// The details of bonds, bond members and VLANs that the core link parser leaves out, read from
// the same `ip -j -d link` section of the facts exec (no extra command), plus the parser of
// /proc/net/bonding/<bond> (ensure_bond's facts fragment). Pure.
import type { BondInfo, BondMemberInfo, Facts } from '../model/facts.js';

interface IpLinkDetail {
  ifname: string;
  linkinfo?: {
    info_kind?: string;
    info_data?: Record<string, unknown>;
    info_slave_kind?: string;
    info_slave_data?: Record<string, unknown>;
  };
}

// Two fragments (bond, vlan) read the same section: parse it once per facts exec.
let memo: { body: string; links: IpLinkDetail[] } | undefined;

export function linkDetails(sections: ReadonlyArray<{ key: string; body: string }>): IpLinkDetail[] {
  const body = sections.find((s) => s.key === 'link')?.body ?? '';
  if (memo?.body === body) return memo.links;
  let links: IpLinkDetail[] = [];
  try {
    const v: unknown = JSON.parse(body.trim() || '[]');
    if (Array.isArray(v)) links = v as IpLinkDetail[];
  } catch {
    // The core parser already reported unreadable link JSON.
  }
  memo = { body, links };
  return links;
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const num = (v: unknown) => (typeof v === 'number' ? v : undefined);

/** Bond settings and member states from `ip -j -d link` (linkinfo info_kind bond / info_slave_kind bond). */
export function applyBondDetails(links: IpLinkDetail[], facts: Facts): void {
  for (const l of links) {
    const link = facts.links[l.ifname];
    const info = l.linkinfo;
    if (!link || !info) continue;
    if (info.info_kind === 'bond' && info.info_data) {
      const d = info.info_data;
      const ad = d.ad_info as { aggregator?: number; num_ports?: number; partner_mac?: string } | undefined;
      const bond: BondInfo = { mode: str(d.mode) ?? 'balance-rr', miimon: num(d.miimon) ?? 0 };
      if (str(d.ad_lacp_rate)) bond.lacpRate = str(d.ad_lacp_rate);
      if (str(d.xmit_hash_policy)) bond.xmitHashPolicy = str(d.xmit_hash_policy);
      if (str(d.primary)) bond.primary = str(d.primary);
      if (str(d.active_slave)) bond.activeMember = str(d.active_slave);
      if (ad && ad.aggregator !== undefined)
        bond.aggregator = { id: ad.aggregator, ports: ad.num_ports ?? 0, partnerMac: ad.partner_mac ?? '00:00:00:00:00:00' };
      link.bond = bond;
    }
    if (info.info_slave_kind === 'bond' && info.info_slave_data) {
      const d = info.info_slave_data;
      const member: BondMemberInfo = { state: str(d.state) ?? 'UNKNOWN', mii: str(d.mii_status) ?? 'UNKNOWN' };
      if (num(d.ad_aggregator_id) !== undefined) member.aggregatorId = num(d.ad_aggregator_id);
      link.bondMember = member;
    }
  }
}

/** 802.1Q links from `ip -j -d link` (linkinfo info_kind vlan). */
export function applyVlanDetails(links: IpLinkDetail[], facts: Facts): void {
  for (const l of links) {
    const link = facts.links[l.ifname];
    const d = l.linkinfo?.info_kind === 'vlan' ? l.linkinfo.info_data : undefined;
    if (!link || !d || num(d.id) === undefined) continue;
    link.vlan = { id: num(d.id)!, protocol: str(d.protocol) ?? '802.1Q' };
  }
}

export interface ProcBonding {
  mode?: string;
  activeMember?: string;
  aggregator?: { id: number; ports: number; partnerMac: string };
  members: Record<string, { mii?: string; speed?: string; aggregatorId?: number }>;
}

/** `cat /proc/net/bonding/BOND`: the active member, the active aggregator and its partner, each member's MII status and speed. */
export function parseProcBonding(text: string): ProcBonding {
  const out: ProcBonding = { members: {} };
  let member: string | undefined;
  let inAggregator = false;
  const agg: Partial<{ id: number; ports: number; partnerMac: string }> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const [, key, value] = m as unknown as [string, string, string];
    if (key === 'Slave Interface') {
      member = value;
      inAggregator = false;
      out.members[member] = {};
      continue;
    }
    if (key === 'Active Aggregator Info') {
      inAggregator = true;
      continue;
    }
    if (member) {
      const entry = out.members[member]!;
      if (key === 'MII Status' && entry.mii === undefined) entry.mii = value.toUpperCase();
      else if (key === 'Speed') entry.speed = value;
      else if (key === 'Aggregator ID' && entry.aggregatorId === undefined) entry.aggregatorId = Number(value);
      continue;
    }
    if (key === 'Bonding Mode') out.mode = value;
    else if (key === 'Currently Active Slave' && value !== 'None') out.activeMember = value;
    else if (inAggregator && key === 'Aggregator ID') agg.id = Number(value);
    else if (inAggregator && key === 'Number of ports') agg.ports = Number(value);
    else if (inAggregator && key === 'Partner Mac Address') agg.partnerMac = value.toLowerCase();
  }
  if (agg.id !== undefined) out.aggregator = { id: agg.id, ports: agg.ports ?? 0, partnerMac: agg.partnerMac ?? '00:00:00:00:00:00' };
  return out;
}

/** What /proc/net/bonding adds to the link facts (it wins where both say something: it is the bond's own view). */
export function applyProcBonding(bond: string, text: string, facts: Facts): void {
  const info = facts.links[bond]?.bond;
  if (!info) return;
  const p = parseProcBonding(text);
  if (p.activeMember) info.activeMember = p.activeMember;
  if (p.aggregator) info.aggregator = p.aggregator;
  for (const [name, m] of Object.entries(p.members)) {
    const member = facts.links[name]?.bondMember;
    if (!member) continue;
    if (m.mii) member.mii = m.mii;
    if (m.speed) member.speed = m.speed;
    if (m.aggregatorId !== undefined) member.aggregatorId = m.aggregatorId;
  }
}

/** A bond's LACP partner, or undefined when it has none (the kernel reports all zeros then). */
export const lacpPartner = (info: BondInfo | undefined): string | undefined =>
  info?.aggregator && info.aggregator.partnerMac !== '00:00:00:00:00:00' ? info.aggregator.partnerMac : undefined;
