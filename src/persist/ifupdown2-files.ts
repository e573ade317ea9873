// `persist: ifupdown2` (Proxmox VE's ifupdown2): one kvmnet-owned stanza file per device a task is
// about (and the bond or bridge it is a member of: ifupdown2 lists members in the bond's
// `bond-slaves` and the bridge's `bridge-ports`), rendered from the running state the task leaves,
// like the netplan files (netplan-files.ts). Rendering from the running state covers bonds, VLANs,
// bridges, VLAN-aware ports and addresses at once, whichever task made them. Pure.
//
// ifupdown2 3.0 (Debian 12, the syntax Proxmox VE uses), interfaces(5) + `ifquery --syntax-help`:
//   /etc/network/interfaces.d/kvmnet-DEV.ifupdown2, read through `source /etc/network/interfaces.d/*`
//   (ifupdown2 globs: a dot in the name is fine; Debian's ifupdown `source-directory` skips such
//   names, and classifyPath does not take them for its own)
//   auto DEV / iface DEV, then: bond-slaves, bond-mode, bond-miimon, bond-lacp-rate,
//   bond-xmit-hash-policy, bond-primary; vlan-raw-device, vlan-id; bridge-ports, bridge-stp,
//   bridge-fd, bridge-vlan-aware yes|no; on a VLAN-aware bridge's port bridge-vids + bridge-pvid;
//   link-type dummy; vxlan-id, vxlan-local-tunnelip, vxlan-remoteip (one line per flooding entry),
//   vxlan-mcastgrp, vxlan-physdev, vxlan-port, vxlan-learning (addons/vxlan.py: IPv4 only); a VXLAN
//   port of a VLAN-aware bridge is an access port (bridge-access); link-down yes; address CIDR (one
//   line each); mtu; the device's configured routes and its policy rules as `post-up` commands.
import { isIP } from 'node:net';
import { RefusedError } from '../errors.js';
import type { Facts, LinkFact } from '../model/facts.js';
import { IFUPDOWN_DIR } from '../model/persist-kinds.js';
import { shellJoin } from '../connection/quote.js';
import type { FileWant } from './persistence.js';
import { idempotentPostUpLines, postUpLines } from './ifupdown-hooks.js';
import { persistableRoutes, persistableRules } from './routing-devices.js';

const SUFFIX = '.ifupdown2';
export const ifupdown2Path = (dev: string) => `${IFUPDOWN_DIR}/kvmnet-${dev}${SUFFIX}`;
export const isIfupdown2Path = (path: string) =>
  path.startsWith(`${IFUPDOWN_DIR}/kvmnet-`) && path.endsWith(SUFFIX) && !path.slice(IFUPDOWN_DIR.length + 1).includes('/');
/** The device of a kvmnet ifupdown2 file. */
export const ifupdown2Device = (path: string) => path.slice(`${IFUPDOWN_DIR}/kvmnet-`.length, -SUFFIX.length);

const HEADER = '# Written by kvmnet; changes made here are overwritten on its next run.';
// libvirt names guests' taps vnetN. Without this, ifupdown2 takes a port it was not told about out
// of the bridge on an `ifreload` (bridge.py _add_ports), and `ifquery --check` reports it.
const GUEST_TAPS = '^vnet[0-9]+$';
const HASH_MODES = ['802.3ad', 'balance-xor', 'balance-tlb', 'balance-alb'];

/** VLAN ids in ifupdown2's list syntax, consecutive ones folded: `30 200-202`. */
export function vidList(ids: readonly number[]): string {
  const sorted = [...ids].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(j > i ? `${sorted[i]}-${sorted[j]}` : `${sorted[i]}`);
    i = j + 1;
  }
  return out.join(' ');
}

/** The bridge-vids/bridge-pvid lines of a VLAN-aware bridge's port. Throws RefusedError for a set ifupdown2 cannot say. */
function portVlanLines(link: LinkFact, bridge: string, host: string): string[] {
  const vlans = link.vlans ?? [];
  const pvid = vlans.find((v) => v.pvid);
  const refuse = (why: string) =>
    new RefusedError(
      `persist: ifupdown2 on ${host}: ${link.name} (port of the VLAN-aware bridge ${bridge}) ${why}, which ifupdown2 cannot configure; use persist: networkd or none for it`,
    );
  // ifupdown2 gives every port a PVID (bridge-pvid, default 1), always egress-untagged, and no other untagged VLAN.
  if (!pvid) throw refuse('has no PVID');
  if (!pvid.untagged) throw refuse(`has PVID ${pvid.id} tagged on egress`);
  const otherUntagged = vlans.filter((v) => v.untagged && !v.pvid);
  if (otherUntagged.length) throw refuse(`sends VLAN ${otherUntagged.map((v) => v.id).join(', ')} untagged besides its PVID`);
  const tagged = vlans.filter((v) => !v.pvid).map((v) => v.id);
  // A VXLAN port must be an access port: one VLAN, its PVID (bridge.py syntax_check_vxlan_in_vlan_aware_br).
  if (link.kind === 'vxlan') {
    if (tagged.length) throw refuse(`is a VXLAN carrying tagged VLANs ${vidList(tagged)} (ifupdown2 takes a VXLAN port with one untagged VLAN only)`);
    return [`bridge-access ${pvid.id}`];
  }
  return [...(tagged.length ? [`bridge-vids ${vidList(tagged)}`] : []), `bridge-pvid ${pvid.id}`];
}

/** The vxlan-* lines of a VXLAN. Throws RefusedError for IPv6 (ifupdown2 3.0 has no IPv6 local or remote key). */
function vxlanLines(link: LinkFact, host: string): string[] {
  const v = link.vxlan!;
  // Sorted: ifupdown2 appends them in the order of a Python set, and `bridge fdb` lists them so.
  const remotes = v.group ? [] : [...(link.fdbRemotes ?? [])].sort();
  const v6 = [v.local, v.group, ...remotes].filter((a): a is string => a !== undefined && isIP(a) === 6);
  if (v6.length)
    throw new RefusedError(
      `persist: ifupdown2 on ${host}: VXLAN ${link.name} uses IPv6 (${v6.join(', ')}), and ifupdown2 3.0's VXLAN keys take IPv4 only; use persist: networkd or ifupdown for it, or persist: none`,
    );
  return [
    `vxlan-id ${v.vni}`,
    ...(v.local ? [`vxlan-local-tunnelip ${v.local}`] : []),
    ...(v.group ? [`vxlan-mcastgrp ${v.group}`] : []),
    // ifupdown2 appends the missing entries and deletes the others (vxlan.py _up): the list as it runs.
    ...remotes.map((r) => `vxlan-remoteip ${r}`),
    ...(v.dev ? [`vxlan-physdev ${v.dev}`] : []),
    `vxlan-port ${v.dstport}`,
    `vxlan-learning ${v.learning ? 'yes' : 'no'}`,
  ];
}

/** The members of a bond or the ports of a bridge (guests' taps left out: libvirt plugs those). */
const members = (facts: Facts, dev: string) =>
  Object.values(facts.links)
    .filter((l) => l.master === dev && l.kind !== 'tun')
    .map((l) => l.name)
    .sort();

/** The ifupdown2 stanza of DEV as it runs in FACTS. Throws RefusedError for what kvmnet does not write. */
export function ifupdown2File(facts: Facts, dev: string, host: string): string {
  const link = facts.links[dev]!;
  const lines: string[] = [];
  if (link.kind === 'bond' && link.bond) {
    const b = link.bond;
    const slaves = members(facts, dev);
    lines.push(`bond-slaves ${slaves.length ? slaves.join(' ') : 'none'}`, `bond-mode ${b.mode}`, `bond-miimon ${b.miimon}`);
    if (b.mode === '802.3ad' && b.lacpRate) lines.push(`bond-lacp-rate ${b.lacpRate}`);
    if (b.xmitHashPolicy && HASH_MODES.includes(b.mode)) lines.push(`bond-xmit-hash-policy ${b.xmitHashPolicy}`);
    if (b.primary) lines.push(`bond-primary ${b.primary}`);
  } else if (link.kind === 'vlan' && link.vlan && link.lower) {
    lines.push(`vlan-raw-device ${link.lower}`, `vlan-id ${link.vlan.id}`);
  } else if (link.kind === 'bridge' && link.bridge) {
    const br = link.bridge;
    const ports = members(facts, dev);
    // `bridge-ports none` fails ifupdown2 3.0's syntax check (measured); `bridge-vlan-aware`, yes or
    // no, makes the stanza a bridge's all the same (bridge.py _is_bridge), with or without ports.
    if (ports.length) lines.push(`bridge-ports ${ports.join(' ')}`);
    lines.push(
      `bridge-ports-condone-regex ${GUEST_TAPS}`,
      `bridge-stp ${br.stp ? 'on' : 'off'}`,
      `bridge-fd ${br.forwardDelay}`,
      `bridge-vlan-aware ${br.vlanFiltering ? 'yes' : 'no'}`,
    );
    if (br.vlanFiltering) {
      // ifupdown2 leaves the kernel's default PVID (1) of a bridge it creates: anything else after it.
      const pvid = br.defaultPvid ?? 1;
      if (pvid !== 1) lines.push(`post-up ${shellJoin(['ip', 'link', 'set', 'dev', dev, 'type', 'bridge', 'vlan_default_pvid', String(pvid)])}`);
    }
  } else if (link.kind === 'vxlan' && link.vxlan) {
    lines.push(...vxlanLines(link, host));
  } else if (link.kind === 'dummy') {
    lines.push('link-type dummy');
  } else if (link.kind !== undefined) {
    throw new RefusedError(`persist: ifupdown2 on ${host}: kvmnet does not write ifupdown2 stanzas of ${link.kind} links (${dev})`);
  }
  const master = link.master ? facts.links[link.master] : undefined;
  if (master?.kind === 'bridge' && master.bridge?.vlanFiltering) lines.push(...portVlanLines(link, master.name, host));
  // `auto` brings every stanza's link up: one kvmnet keeps down says so.
  if (!link.up) lines.push('link-down yes');
  // A bond member or bridge port carries no address of its own.
  if (!master || (master.kind !== 'bond' && master.kind !== 'bridge')) {
    const addrs = facts.addrs.filter((a) => a.dev === dev && a.scope === 'global');
    const sorted = [...addrs.filter((a) => a.family === 4), ...addrs.filter((a) => a.family === 6)].map((a) => `${a.address}/${a.prefix}`);
    lines.push(...[...new Set(sorted)].map((a) => `address ${a}`));
  }
  // Without `mtu` ifupdown2 sets 1500 on a bridge too (address.py _process_mtu_config_mtu_none), not
  // its ports' smallest as the kernel does: a bridge on a VXLAN says its 1450 (ifupdown2.check).
  if (link.mtu !== 1500) lines.push(`mtu ${link.mtu}`);
  // ifupdown2 has no keys for routes in other tables or policy rules: `post-up` lines of the
  // operations' own commands, as in ifupdown's stanzas (ifupdown-hooks.ts). A rule is deleted before
  // it is added (a second `ifup` would add a copy).
  for (const family of [4, 6] as const) {
    for (const r of persistableRoutes(facts, dev, family)) lines.push(...postUpLines([{ op: 'route.replace', route: { ...r, dev } }]));
    for (const r of persistableRules(facts, dev, family)) {
      const rule = { ...r, table: r.table! };
      lines.push(...idempotentPostUpLines([{ op: 'rule.del', rule }], [{ op: 'rule.add', rule }]));
    }
  }
  return [HEADER, `auto ${dev}`, `iface ${dev}`, ...lines.map((l) => `    ${l}`), ''].join('\n');
}

/** The device DEV's stanza makes ifupdown2 bring up first, beyond its members: a VLAN's parent, a VXLAN's underlay. */
const lowerOf = (link: LinkFact | undefined): string | undefined => (link?.kind === 'vlan' ? link.lower : link?.kind === 'vxlan' ? link.vxlan?.dev : undefined);

/**
 * Throws RefusedError when DEV's stanza would hand ifupdown2 a lower device it has no stanza for and
 * that has something to lose: ifupdown2 brings such a dependency up with an empty configuration,
 * which removes its global addresses and sets its MTU to 1500 on the next `ifup -a` or `ifreload
 * -a` (ifupdownmain.py preprocess_dependency_list, address.py process_addresses; measured on the VM
 * lab: the underlay of a VXLAN lost its address).
 */
function refuseBareLower(after: Facts, dev: string, written: ReadonlySet<string>, host: string): void {
  const link = after.links[dev];
  const lower = lowerOf(link);
  if (!lower || written.has(lower) || after.managers?.ifupdownStanzas.includes(lower) || after.persisted?.[ifupdown2Path(lower)] !== undefined) return;
  const addrs = after.addrs.filter((a) => a.dev === lower && a.scope === 'global').map((a) => `${a.address}/${a.prefix}`);
  const mtu = after.links[lower]?.mtu ?? 1500;
  if (!addrs.length && mtu === 1500) return;
  const loses = [...(addrs.length ? [`remove its addresses (${addrs.join(', ')})`] : []), ...(mtu !== 1500 ? [`set its MTU ${mtu} to 1500`] : [])].join(
    ' and ',
  );
  const what = link?.kind === 'vxlan' ? `VXLAN ${dev} sits on` : `VLAN ${dev} sits on`;
  throw new RefusedError(
    `persist: ifupdown2 on ${host}: ${what} ${lower}, which has no ifupdown2 stanza: ifupdown2 would bring ${lower} up with an empty configuration and ${loses} on the next ifup -a or ifreload -a; configure ${lower} in /etc/network/interfaces first${link?.kind === 'vxlan' ? ', or give the VXLAN a local address without dev' : ''}`,
  );
}

/** The files for DEVICES and the bonds/bridges they are members of, as they run in AFTER (a device gone: its file goes). */
export function ifupdown2Wants(after: Facts, devices: readonly string[], host: string, before: Facts = after): FileWant[] {
  const all = new Set<string>();
  for (const d of devices) {
    if (d === 'lo') continue;
    all.add(d);
    const master = after.links[d]?.master ?? before.links[d]?.master;
    if (master && ['bond', 'bridge'].includes((after.links[master] ?? before.links[master])?.kind ?? '')) all.add(master);
  }
  for (const dev of all) refuseBareLower(after, dev, all, host);
  return [...all].flatMap((dev): FileWant[] => {
    if (after.links[dev]) return [{ path: ifupdown2Path(dev), content: ifupdown2File(after, dev, host) }];
    return before.persisted?.[ifupdown2Path(dev)] !== undefined ? [{ path: ifupdown2Path(dev), content: null }] : [];
  });
}
