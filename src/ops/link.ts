// Link operations: create, delete, up/down, master/nomaster, MTU, MAC, bridge and bond settings.
// The kernel's side effects are modelled here once: deleting a link deletes the VLANs on it and
// releases its ports; a bond's MTU is its members'.
import { shellJoin, shellQuote } from '../connection/quote.js';
import type { Facts, LinkFact } from '../model/facts.js';
import type { Touch } from '../model/plan.js';
import { linkDownEffect, linkUpEffect } from './link-updown.js';
import { followingBridgeMtu } from './bridge-mtu.js';
import type { BondSettings, BridgeSettings, LinkOp, Op, OpKind, VxlanSettings } from './types.js';
import { shown } from '../text/shown.js';

type Of<K extends LinkOp['op']> = Extract<LinkOp, { op: K }>;

/** Bond modes that balance by a hash (xmit_hash_policy applies), and those with a primary member. */
export const HASH_MODES = new Set(['802.3ad', 'balance-xor', 'balance-tlb', 'balance-alb']);
export const PRIMARY_MODES = new Set(['active-backup', 'balance-tlb', 'balance-alb']);
export const KERNEL_DEFAULT_FORWARD_DELAY = 15;

/** With STP on, the kernel clamps forward_delay to 2–30 s: compare what it will actually read back. */
export function effectiveForwardDelay(seconds: number, stp: boolean): number {
  return stp ? Math.min(30, Math.max(2, seconds)) : seconds;
}

/** `type bond` options for `ip link add|set`. */
export function bondOptions(s: BondSettings): string[] {
  const argv: string[] = [];
  if (s.mode !== undefined) argv.push('mode', s.mode);
  if (s.miimon !== undefined) argv.push('miimon', String(s.miimon));
  if (s.lacpRate !== undefined) argv.push('lacp_rate', s.lacpRate);
  if (s.xmitHashPolicy !== undefined) argv.push('xmit_hash_policy', s.xmitHashPolicy);
  if (s.primary) argv.push('primary', s.primary);
  if (s.activeMember !== undefined) argv.push('active_slave', s.activeMember);
  return argv;
}

function bridgeOptions(s: BridgeSettings, create: boolean): string[] {
  const argv: string[] = [];
  if (s.stp !== undefined || create) argv.push('stp_state', s.stp ? '1' : '0');
  if (s.forwardDelayS !== undefined) argv.push('forward_delay', String(Math.round(s.forwardDelayS * 100)));
  if (s.vlanFiltering !== undefined) argv.push('vlan_filtering', s.vlanFiltering ? '1' : '0');
  if (s.defaultPvid !== undefined) argv.push('vlan_default_pvid', String(s.defaultPvid));
  return argv;
}

/** The `ip link add` that makes the link (the rollback re-creates a bond with it too, src/run/restore-bond.sh). */
export function addArgv(op: Of<'link.add'>): string[] {
  if (op.kind === 'bridge') return ['ip', 'link', 'add', op.name, 'type', 'bridge', ...bridgeOptions(op.bridge, true)];
  if (op.kind === 'bond') return ['ip', 'link', 'add', op.name, 'type', 'bond', ...bondOptions(op.bond)];
  if (op.kind === 'vlan') return ['ip', 'link', 'add', 'link', op.parent, 'name', op.name, 'type', 'vlan', 'id', String(op.id)];
  if (op.kind === 'vxlan') return ['ip', 'link', 'add', op.name, 'type', 'vxlan', ...vxlanOptions(op.vxlan)];
  return ['ip', 'link', 'add', op.name, 'type', 'dummy'];
}

function vxlanOptions(v: VxlanSettings): string[] {
  const argv = ['id', String(v.vni)];
  if (v.local) argv.push('local', v.local);
  if (v.group) argv.push('group', v.group);
  if (v.dev) argv.push('dev', v.dev);
  argv.push('dstport', String(v.dstport), v.learning ? 'learning' : 'nolearning');
  return argv;
}

/** Bytes a VXLAN adds to each frame: outer IPv4 (20) or IPv6 (40), UDP (8), VXLAN (8), inner Ethernet (14). */
export const vxlanOverhead = (v: { local?: string; group?: string }): number => ((v.local ?? v.group ?? '').includes(':') ? 70 : 50);

/** The operation that makes this link again, or undefined for links kvmnet cannot make (NICs, taps, veths). */
export function linkAddFromFact(link: LinkFact): Of<'link.add'> | undefined {
  const { name } = link;
  if (link.kind === 'bridge') {
    const b = link.bridge;
    // VLAN filtering only when on: off is the kernel's default, and a kernel built without
    // CONFIG_BRIDGE_VLAN_FILTERING refuses even `vlan_filtering 0` (the bridge would not come back).
    return {
      op: 'link.add',
      name,
      kind: 'bridge',
      bridge: b ? { stp: b.stp, forwardDelayS: b.forwardDelay, ...(b.vlanFiltering ? { vlanFiltering: true, defaultPvid: b.defaultPvid } : {}) } : {},
    };
  }
  if (link.kind === 'bond' && link.bond) {
    const b = link.bond;
    const primary = PRIMARY_MODES.has(b.mode) ? b.primary : undefined;
    // The kernel records a primary that is not a member yet and makes it active once enslaved.
    return {
      op: 'link.add',
      name,
      kind: 'bond',
      bond: {
        mode: b.mode,
        miimon: b.miimon,
        lacpRate: b.mode === '802.3ad' ? b.lacpRate : undefined,
        xmitHashPolicy: HASH_MODES.has(b.mode) ? b.xmitHashPolicy : undefined,
        ...(primary ? { primary } : {}),
      },
    };
  }
  if (link.kind === 'vlan' && link.vlan && link.lower) return { op: 'link.add', name, kind: 'vlan', parent: link.lower, id: link.vlan.id };
  if (link.kind === 'dummy') return { op: 'link.add', name, kind: 'dummy' };
  if (link.kind === 'vxlan' && link.vxlan) return { op: 'link.add', name, kind: 'vxlan', vxlan: { ...link.vxlan } };
  return undefined;
}

/** What the kernel does when a link is deleted: VLANs on it go too, its ports are released, its addresses and routes go. */
export function removeLink(f: Facts, name: string): void {
  for (const upper of Object.values(f.links).filter((l) => l.lower === name && l.kind === 'vlan')) removeLink(f, upper.name);
  delete f.links[name];
  for (const l of Object.values(f.links)) {
    if (l.master !== name) continue;
    delete l.master;
    delete l.bondMember;
    delete l.vlans;
  }
  f.addrs = f.addrs.filter((a) => a.dev !== name);
  f.routes = f.routes.filter((r) => r.dev !== name);
}

/**
 * The operations that bring a deleted link back as `before` had it: the link, its settings, its
 * addresses and routes, its own master, its members, and the VLANs the kernel deleted with it.
 */
export function recreateLink(before: Facts, name: string): Op[] {
  const link = before.links[name];
  const add = link && linkAddFromFact(link);
  if (!link || !add) return [];
  const ops: Op[] = [add, { op: 'link.mtu', name, mtu: link.mtu }];
  // A dummy's and a VXLAN's MAC is random at creation: the old one goes back on.
  if ((link.kind === 'dummy' || link.kind === 'vxlan') && link.mac) ops.push({ op: 'link.mac', name, mac: link.mac });
  if (link.master) ops.push(...enslave(before, name, link.master), ...portVlansBack(before, name, link.master));
  for (const a of before.addrs.filter((x) => x.dev === name && x.scope === 'global'))
    ops.push({ op: 'addr.add', dev: name, address: a.address, prefix: a.prefix, family: a.family, replace: true });
  for (const m of Object.values(before.links).filter((l) => l.master === name))
    ops.push(...enslave(before, m.name, name), ...portVlansBack(before, m.name, name));
  if (link.up) ops.push({ op: 'link.up', name, up: true });
  for (const r of before.routes.filter((x) => x.dev === name && x.protocol !== 'kernel')) ops.push({ op: 'route.replace', route: { ...r, dev: name } });
  for (const dst of link.fdbRemotes ?? []) ops.push({ op: 'fdb.append', dev: name, dst });
  for (const upper of Object.values(before.links).filter((l) => l.lower === name && l.kind === 'vlan')) ops.push(...recreateLink(before, upper.name));
  return ops;
}

/**
 * A port's VLANs on a VLAN-aware bridge as `before` had them: they went with the port when it left
 * the bridge, and it comes back with the bridge's default PVID only.
 */
export function portVlansBack(before: Facts, dev: string, master: string): Op[] {
  const want = before.links[dev]?.vlans;
  const bridge = before.links[master]?.bridge;
  if (!want || !bridge?.vlanFiltering) return [];
  const dflt = bridge.defaultPvid ?? 1;
  const ops: Op[] = dflt && !want.some((v) => v.id === dflt) ? [{ op: 'bridge-vlan.del', dev, vid: dflt }] : [];
  return [...ops, ...want.map((v): Op => ({ op: 'bridge-vlan.add', dev, vid: v.id, pvid: v.pvid, untagged: v.untagged }))];
}

/** `dev` into `master`: the kernel enslaves a bond member only while it is down. */
export function enslave(facts: Facts, dev: string, master: string): Op[] {
  return facts.links[master]?.kind === 'bond' ? intoBond(dev, master) : [{ op: 'link.master', name: dev, master }];
}

/** `dev` into the bond `bond` (one the facts may not hold yet: a bond created in the same plan): down, enslaved, up. */
export function intoBond(dev: string, bond: string): Op[] {
  return [
    { op: 'link.up', name: dev, up: false },
    { op: 'link.master', name: dev, master: bond },
    { op: 'link.up', name: dev, up: true },
  ];
}

/** The settings of a VXLAN in one line, as compared and reported. */
export const vxlanText = (v: VxlanSettings): string =>
  `vni ${v.vni}${v.local ? ` local ${v.local}` : ''}${v.group ? ` group ${v.group}` : ''}${v.dev ? ` dev ${v.dev}` : ''} dstport ${v.dstport}${v.learning ? ' learning' : ' nolearning'}`;

/** A link's new master (null: none), with what the kernel does to its VLANs and bond state. */
function setMaster(f: Facts, l: LinkFact, master: string | null): void {
  delete l.bondMember;
  // A port's bridge VLANs go with it; a VLAN-aware bridge gives a new port its default PVID, untagged.
  if (l.master !== master) {
    const br = master === null ? undefined : f.links[master]?.bridge;
    const pvid = br?.vlanFiltering ? (br.defaultPvid ?? 1) : 0;
    if (pvid) l.vlans = [{ id: pvid, pvid: true, untagged: true }];
    else delete l.vlans;
  }
  if (master === null) delete l.master;
  else {
    l.master = master;
    if (f.links[master]?.kind === 'bond') l.bondMember = { state: 'BACKUP', mii: 'UP' };
  }
}

const linkTouch = (name: string, op: Extract<Touch, { kind: 'link' }>['op']): Touch => ({ kind: 'link', name, op });
const q = (argv: string[]) => [shellJoin(argv)];
const differs = (what: string, want: unknown, got: unknown) =>
  want === got
    ? undefined
    : `${what} is ${got === undefined || got === null ? 'unset' : shown(got)}, expected ${want === undefined || want === null ? 'unset' : shown(want)}`;

/** Compares one aspect of a link in the expected and the read-back facts; undefined when they agree or the link is expected gone. */
function checkLink(name: string, expected: Facts, actual: Facts, aspect: (l: LinkFact) => unknown, what: string): string | undefined {
  const want = expected.links[name];
  const got = actual.links[name];
  if (!want) return got ? `${name} still exists` : undefined;
  if (!got) return `${name} does not exist`;
  return differs(`${name} ${what}`, aspect(want), aspect(got));
}

export const linkOps: { [K in LinkOp['op']]: OpKind<Of<K>> } = {
  'link.add': {
    lines: (op) => q(addArgv(op)),
    touches: (op) => [linkTouch(op.name, 'create')],
    effect: (op, f) => {
      const base = { name: op.name, up: false, operstate: 'DOWN', mtu: 1500 };
      if (op.kind === 'bridge') {
        const stp = op.bridge.stp ?? false;
        const b = op.bridge;
        f.links[op.name] = {
          ...base,
          kind: 'bridge',
          bridge: {
            stp,
            forwardDelay: effectiveForwardDelay(b.forwardDelayS ?? KERNEL_DEFAULT_FORWARD_DELAY, stp),
            ...(b.vlanFiltering !== undefined ? { vlanFiltering: b.vlanFiltering, defaultPvid: b.defaultPvid ?? 1 } : {}),
          },
        };
      } else if (op.kind === 'bond') {
        const b = op.bond;
        f.links[op.name] = {
          ...base,
          kind: 'bond',
          bond: {
            mode: b.mode ?? 'balance-rr',
            miimon: b.miimon ?? 0,
            lacpRate: b.lacpRate ?? 'slow',
            xmitHashPolicy: b.xmitHashPolicy ?? 'layer2',
            ...(b.primary ? { primary: b.primary } : {}),
          },
        };
      } else if (op.kind === 'vlan') {
        f.links[op.name] = { ...base, kind: 'vlan', lower: op.parent, mtu: f.links[op.parent]?.mtu ?? 1500, vlan: { id: op.id, protocol: '802.1Q' } };
      } else if (op.kind === 'vxlan') {
        // The kernel takes the overhead off the underlay device's MTU; without one it keeps 1500.
        const under = op.vxlan.dev ? f.links[op.vxlan.dev]?.mtu : undefined;
        f.links[op.name] = {
          ...base,
          kind: 'vxlan',
          mtu: under !== undefined ? under - vxlanOverhead(op.vxlan) : 1500,
          vxlan: { ...op.vxlan },
          fdbRemotes: op.vxlan.group ? [op.vxlan.group] : [],
        };
        // (The kernel floods a multicast VXLAN through an all-zero entry to its group.)
      } else f.links[op.name] = { ...base, kind: 'dummy' };
    },
    inverse: (op) => [{ op: 'link.del', name: op.name }],
    check: (op, expected, actual) => {
      const got = actual.links[op.name];
      if (!expected.links[op.name]) return undefined;
      if (!got) return `${op.name} was not created`;
      if (got.kind !== op.kind) return `${op.name} is ${got.kind ? `a ${got.kind}` : 'not a virtual link'}, expected a ${op.kind}`;
      if (op.kind === 'vlan') return differs(`${op.name} VLAN`, `${op.id} on ${op.parent}`, `${got.vlan?.id} on ${got.lower}`);
      if (op.kind === 'vxlan' && got.vxlan) return differs(`${op.name} VXLAN`, vxlanText(op.vxlan), vxlanText(got.vxlan));
      if (op.kind === 'bond' && got.bond && op.bond.mode) return differs(`${op.name} mode`, op.bond.mode, got.bond.mode);
      if (op.kind === 'bridge') {
        const want = expected.links[op.name]!.bridge;
        return (
          differs(`${op.name} stp`, want?.stp ? 'on' : 'off', got.bridge?.stp ? 'on' : 'off') ??
          differs(`${op.name} forward delay`, want?.forwardDelay, got.bridge?.forwardDelay)
        );
      }
      return undefined;
    },
  },
  'link.del': {
    lines: (op) => q(['ip', 'link', 'del', op.name]),
    touches: (op, f) => [
      linkTouch(op.name, 'delete'),
      ...Object.values(f.links)
        .filter((l) => l.lower === op.name && l.kind === 'vlan')
        .map((l) => linkTouch(l.name, 'delete')),
      ...Object.values(f.links)
        .filter((l) => l.master === op.name)
        .map((l) => linkTouch(l.name, 'nomaster')),
    ],
    effect: (op, f) => followingBridgeMtu(f, [f.links[op.name]?.master], () => removeLink(f, op.name)),
    inverse: (op, before) => recreateLink(before, op.name),
    check: (op, expected, actual) => (!expected.links[op.name] && actual.links[op.name] ? `${op.name} still exists` : undefined),
  },
  'link.up': {
    lines: (op) => q(['ip', 'link', 'set', op.name, op.up ? 'up' : 'down']),
    touches: (op) => [linkTouch(op.name, op.up ? 'up' : 'down')],
    effect: (op, f) => {
      const l = f.links[op.name];
      if (!l) return;
      // Only a change of the admin state moves routes and addresses (link-updown.ts).
      if (l.up && !op.up) linkDownEffect(f, op.name);
      else if (!l.up && op.up) linkUpEffect(f, op.name);
      l.up = op.up;
    },
    inverse: (op, before) => {
      const was = before.links[op.name];
      if (!was) return [];
      const back: Op[] = [{ op: 'link.up', name: op.name, up: was.up }];
      if (op.up || !was.up) return back;
      // Down, the kernel drops the routes through the link and its IPv6 addresses (keep_addr_on_down
      // is off by default); up brings back only its own routes. Put the others back, addresses first.
      for (const a of before.addrs.filter((x) => x.dev === op.name && x.scope === 'global'))
        back.push({ op: 'addr.add', dev: op.name, address: a.address, prefix: a.prefix, family: a.family, replace: true });
      for (const r of before.routes.filter((x) => x.dev === op.name && x.protocol !== 'kernel'))
        back.push({ op: 'route.replace', route: { ...r, dev: op.name } });
      return back;
    },
    check: (op, expected, actual) => checkLink(op.name, expected, actual, (l) => (l.up ? 'up' : 'down'), 'state'),
  },
  'link.master': {
    lines: (op) => q(op.master === null ? ['ip', 'link', 'set', op.name, 'nomaster'] : ['ip', 'link', 'set', op.name, 'master', op.master]),
    touches: (op) => [linkTouch(op.name, op.master === null ? 'nomaster' : 'master')],
    effect: (op, f) => {
      const l = f.links[op.name];
      if (!l) return;
      followingBridgeMtu(f, [l.master, op.master ?? undefined], () => setMaster(f, l, op.master));
    },
    inverse: (op, before) => {
      const was = before.links[op.name]?.master;
      if (!before.links[op.name]) return [];
      return was ? [...enslave(before, op.name, was), ...portVlansBack(before, op.name, was)] : [{ op: 'link.master', name: op.name, master: null }];
    },
    check: (op, expected, actual) => checkLink(op.name, expected, actual, (l) => l.master ?? 'none', 'master'),
  },
  'link.mtu': {
    lines: (op) => q(['ip', 'link', 'set', op.name, 'mtu', String(op.mtu)]),
    touches: (op) => [linkTouch(op.name, 'mtu')],
    effect: (op, f) => {
      const l = f.links[op.name];
      if (!l) return;
      followingBridgeMtu(f, [l.master], () => {
        l.mtu = op.mtu;
        // A bond's MTU is its members'.
        if (l.kind === 'bond') for (const m of Object.values(f.links)) if (m.master === op.name) m.mtu = op.mtu;
      });
    },
    inverse: (op, before) => (before.links[op.name] ? [{ op: 'link.mtu', name: op.name, mtu: before.links[op.name]!.mtu }] : []),
    check: (op, expected, actual) => checkLink(op.name, expected, actual, (l) => l.mtu, 'mtu'),
  },
  'link.mac': {
    lines: (op) => q(['ip', 'link', 'set', op.name, 'address', op.mac]),
    touches: (op) => [linkTouch(op.name, 'mac')],
    effect: (op, f) => {
      const l = f.links[op.name];
      if (l) l.mac = op.mac;
    },
    inverse: (op, before) => (before.links[op.name]?.mac ? [{ op: 'link.mac', name: op.name, mac: before.links[op.name]!.mac! }] : []),
    check: (op, expected, actual) => checkLink(op.name, expected, actual, (l) => l.mac?.toLowerCase(), 'MAC'),
  },
  'link.bridge': {
    lines: (op) => q(['ip', 'link', 'set', op.name, 'type', 'bridge', ...bridgeOptions(op.bridge, false)]),
    touches: (op) => [linkTouch(op.name, 'settings')],
    effect: (op, f) => {
      const l = f.links[op.name];
      if (!l) return;
      const cur = l.bridge ?? { stp: false, forwardDelay: KERNEL_DEFAULT_FORWARD_DELAY };
      const s = op.bridge;
      const stp = s.stp ?? cur.stp;
      // Turning STP on or off re-clamps the delay the bridge already has.
      const forwardDelay =
        s.forwardDelayS !== undefined
          ? effectiveForwardDelay(s.forwardDelayS, stp)
          : stp !== cur.stp
            ? effectiveForwardDelay(cur.forwardDelay, stp)
            : cur.forwardDelay;
      l.bridge = { ...cur, stp, forwardDelay };
      if (s.vlanFiltering !== undefined) l.bridge.vlanFiltering = s.vlanFiltering;
      if (s.defaultPvid !== undefined) l.bridge.defaultPvid = s.defaultPvid;
    },
    inverse: (op, before) => {
      const b = before.links[op.name]?.bridge;
      if (!b) return [];
      const s = op.bridge;
      const back: BridgeSettings = {};
      if (s.stp !== undefined) back.stp = b.stp;
      if (s.forwardDelayS !== undefined || s.stp !== undefined) back.forwardDelayS = b.forwardDelay;
      if (s.vlanFiltering !== undefined) back.vlanFiltering = b.vlanFiltering ?? false;
      if (s.defaultPvid !== undefined && b.defaultPvid !== undefined) back.defaultPvid = b.defaultPvid;
      return [{ op: 'link.bridge', name: op.name, bridge: back }];
    },
    check: (op, expected, actual) => {
      const s = op.bridge;
      const aspects: Array<[string, (l: LinkFact) => unknown]> = [];
      if (s.stp !== undefined) aspects.push(['stp', (l) => (l.bridge?.stp ? 'on' : 'off')]);
      if (s.forwardDelayS !== undefined || s.stp !== undefined) aspects.push(['forward delay', (l) => l.bridge?.forwardDelay]);
      if (s.vlanFiltering !== undefined) aspects.push(['VLAN filtering', (l) => (l.bridge?.vlanFiltering ? 'on' : 'off')]);
      if (s.defaultPvid !== undefined) aspects.push(['default pvid', (l) => l.bridge?.defaultPvid]);
      for (const [what, aspect] of aspects) {
        const problem = checkLink(op.name, expected, actual, aspect, what);
        if (problem) return problem;
      }
      return undefined;
    },
  },
  'link.bond': {
    lines: (op) => {
      const argv = bondOptions(op.bond);
      // `ip link` names a primary by its index: clearing it goes through sysfs (an empty line).
      const clear = op.bond.primary === '' ? [`echo > ${shellQuote(`/sys/class/net/${op.name}/bonding/primary`)}`] : [];
      return [...clear, ...(argv.length ? q(['ip', 'link', 'set', op.name, 'type', 'bond', ...argv]) : [])];
    },
    touches: (op) => [linkTouch(op.name, 'settings')],
    effect: (op, f) => {
      const l = f.links[op.name];
      if (!l) return;
      const s = op.bond;
      const b = { ...(l.bond ?? { mode: 'unknown', miimon: 0 }) };
      if (s.mode !== undefined && s.mode !== b.mode) {
        b.mode = s.mode;
        delete b.aggregator;
      }
      if (s.miimon !== undefined) b.miimon = s.miimon;
      if (s.lacpRate !== undefined) b.lacpRate = s.lacpRate;
      if (s.xmitHashPolicy !== undefined) b.xmitHashPolicy = s.xmitHashPolicy;
      if (s.primary) b.primary = s.primary;
      else if (s.primary === '') delete b.primary;
      if (s.activeMember !== undefined) b.activeMember = s.activeMember;
      l.bond = b;
    },
    inverse: (op, before) => {
      const b = before.links[op.name]?.bond;
      if (!b) return [];
      const s = op.bond;
      const back: BondSettings = {};
      // A mode goes back only on a downed bond without members: the rollback's snapshot re-creates it in place.
      if (s.miimon !== undefined) back.miimon = b.miimon;
      if (s.lacpRate !== undefined && b.mode === '802.3ad' && s.mode === undefined) back.lacpRate = b.lacpRate;
      if (s.xmitHashPolicy !== undefined && b.xmitHashPolicy) back.xmitHashPolicy = b.xmitHashPolicy;
      // (Only a mode with a primary can clear one: the kernel refuses the option in the others.)
      if (s.primary !== undefined && (b.primary || PRIMARY_MODES.has(b.mode))) {
        back.primary = b.primary ?? '';
        // Without a primary (or with the old one) the kernel keeps the member the new one made active.
        if (PRIMARY_MODES.has(b.mode) && b.activeMember) back.activeMember = b.activeMember;
      }
      if (s.activeMember !== undefined && b.activeMember) back.activeMember = b.activeMember;
      return Object.keys(back).length ? [{ op: 'link.bond', name: op.name, bond: back }] : [];
    },
    check: (op, expected, actual) => {
      const fields: Array<keyof BondSettings> = ['mode', 'miimon', 'lacpRate', 'xmitHashPolicy', 'primary', 'activeMember'];
      for (const k of fields.filter((x) => op.bond[x] !== undefined)) {
        // The bond's details come from /proc/net/bonding; without them there is nothing to compare.
        if (actual.links[op.name] && !actual.links[op.name]!.bond) return undefined;
        const problem = checkLink(op.name, expected, actual, (l) => l.bond?.[k], k);
        if (problem) return problem;
      }
      return undefined;
    },
  },
};
