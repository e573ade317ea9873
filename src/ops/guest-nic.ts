// Guests' NICs: attached to, detached from and changed in a domain's live definition, its
// persistent one, or both, with `virsh attach-device|detach-device|update-device` and the
// <interface> element on stdin. The MAC is a NIC's identity (libvirt finds the device by it).
// Nothing here is ever a cut: the session never runs through a guest's tap (the SSH-path guard
// leaves taps out), so the operations touch nothing the guard or the rollback snapshot looks at;
// their own inverses undo them.
import { shellJoin, shellQuote } from '../connection/quote.js';
import type { Facts, GuestDomainFact, GuestNicFact } from '../model/facts.js';
import { shellProgram, shellTemplate } from '../shell/program.js';
import type { GuestNicOp, GuestNicSpec, Op, OpKind } from './types.js';

type Of<K extends GuestNicOp['op']> = Extract<GuestNicOp, { op: K }>;
type Side = 'live' | 'config';

const xmlAttr = (v: string) => v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** The <interface> element of a NIC, on one line, as libvirt takes it. */
export function nicXml(nic: GuestNicSpec): string {
  const source = nic.type === 'network' ? `network="${xmlAttr(nic.source)}"` : `bridge="${xmlAttr(nic.source)}"`;
  return [
    `<interface type="${nic.type}">`,
    `<mac address="${xmlAttr(nic.mac)}"/>`,
    `<source ${source}${nic.portgroup ? ` portgroup="${xmlAttr(nic.portgroup)}"` : ''}/>`,
    nic.model ? `<model type="${xmlAttr(nic.model)}"/>` : '',
    `<link state="${nic.link}"/>`,
    nic.mtu !== undefined ? `<mtu size="${nic.mtu}"/>` : '',
    '</interface>',
  ].join('');
}

const flags = (op: GuestNicOp) => [...(op.live ? ['--live'] : []), ...(op.config ? ['--config'] : [])];
const sidesOf = (op: GuestNicOp): Side[] => [...(op.live ? (['live'] as const) : []), ...(op.config ? (['config'] as const) : [])];

function virshDevice(cmd: string, op: GuestNicOp): string[] {
  return [`printf '%s' ${shellQuote(nicXml(op.nic))} | ${shellJoin(['virsh', '-q', cmd, op.domain, '/dev/stdin', ...flags(op)])} >/dev/null`];
}

// libvirt returns from a live detach after ~5 s even when the guest has not let the device go yet.
const detachLive = shellTemplate(shellProgram(new URL('./guest-nic-detach.sh', import.meta.url)));
const detachLines = (op: GuestNicOp): string[] =>
  op.live
    ? detachLive({ XML: nicXml(op.nic), DOMAIN: op.domain, FLAGS: flags(op), MAC: op.nic.mac })
        .trimEnd()
        .split('\n')
    : virshDevice('detach-device', op);

const domainOf = (f: Facts, name: string): GuestDomainFact | undefined => f.guestNics?.[name];
const sameMac = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
export const findNic = (nics: readonly GuestNicFact[] | undefined, mac: string) => nics?.find((n) => sameMac(n.mac, mac));

/** The spec of a NIC the facts hold (what re-creates it), or undefined when kvmnet does not manage its type. */
export function specOf(nic: GuestNicFact): GuestNicSpec | undefined {
  if (nic.type !== 'network' && nic.type !== 'bridge') return undefined;
  return {
    mac: nic.mac,
    type: nic.type,
    source: nic.source,
    ...(nic.portgroup ? { portgroup: nic.portgroup } : {}),
    ...(nic.model ? { model: nic.model } : {}),
    link: nic.link,
    ...(nic.mtu !== undefined ? { mtu: nic.mtu } : {}),
  };
}

/** The bridge a NIC's tap sits in: its own for type bridge, its network's otherwise. */
function bridgeOf(f: Facts, nic: GuestNicSpec): string | undefined {
  if (nic.type === 'bridge') return nic.source;
  return f.libvirt.available ? f.libvirt.networks[nic.source]?.bridge : undefined;
}

function setNic(f: Facts, op: GuestNicOp, side: Side, nic: GuestNicSpec | null): void {
  const dom = domainOf(f, op.domain);
  if (!dom) return;
  const list = (dom[side] ??= []);
  const i = list.findIndex((n) => sameMac(n.mac, op.nic.mac));
  const old = i >= 0 ? list[i] : undefined;
  if (nic === null) {
    if (i >= 0) list.splice(i, 1);
    if (side === 'live' && old?.tap) delete f.links[old.tap];
    return;
  }
  // The tap stays the same across an update; a new NIC's tap is named by libvirt when it is attached.
  const next: GuestNicFact = { ...nic, ...(old?.tap ? { tap: old.tap } : {}) };
  if (i >= 0) list[i] = next;
  else list.push(next);
  const link = side === 'live' && old?.tap ? f.links[old.tap] : undefined;
  if (link) Object.assign(link, { master: bridgeOf(f, nic) });
}

/** The aspects of a NIC kvmnet sets, as one comparable line. */
export const nicLine = (n: GuestNicSpec | GuestNicFact | undefined): string =>
  n
    ? `${n.type} ${n.source}${n.portgroup ? ` portgroup ${n.portgroup}` : ''} model ${n.model ?? 'default'} link ${n.link}${n.mtu !== undefined ? ` mtu ${n.mtu}` : ''}`
    : 'absent';

function checkSides(op: GuestNicOp, expected: Facts, actual: Facts): string | undefined {
  const got = domainOf(actual, op.domain);
  if (!actual.guestNics) return undefined;
  if (!got) return `domain ${op.domain} does not exist`;
  for (const side of sidesOf(op)) {
    // A side the domain does not have (a stopped domain's live one) is not read back.
    if (got[side] === undefined) continue;
    const want = findNic(domainOf(expected, op.domain)?.[side], op.nic.mac);
    const have = findNic(got[side], op.nic.mac);
    const w = nicLine(want);
    const h = nicLine(have);
    if (w !== h) return `${op.domain}'s ${side} definition has NIC ${op.nic.mac} ${h}, expected ${w}`;
  }
  return undefined;
}

/** The operations that put each side's NIC back as `before` has it. */
function restore(op: GuestNicOp, before: Facts): Op[] {
  const dom = domainOf(before, op.domain);
  const out: Op[] = [];
  for (const side of sidesOf(op)) {
    const old = findNic(dom?.[side], op.nic.mac);
    const spec = old && specOf(old);
    const one = { domain: op.domain, live: side === 'live', config: side === 'config' };
    if (!old) out.push({ op: 'guest-nic.detach', ...one, nic: op.nic });
    else if (spec && op.op === 'guest-nic.detach') out.push({ op: 'guest-nic.attach', ...one, nic: spec });
    else if (spec) out.push({ op: 'guest-nic.update', ...one, nic: spec });
  }
  // One operation for both sides where they are the same.
  if (out.length === 2 && JSON.stringify({ ...out[0], live: 0, config: 0 }) === JSON.stringify({ ...out[1], live: 0, config: 0 }))
    return [{ ...(out[0] as GuestNicOp), live: true, config: true }];
  return out;
}

export const guestNicOps: { [K in GuestNicOp['op']]: OpKind<Of<K>> } = {
  'guest-nic.attach': {
    lines: (op) => virshDevice('attach-device', op),
    touches: () => [],
    effect: (op, f) => sidesOf(op).forEach((s) => setNic(f, op, s, op.nic)),
    inverse: restore,
    check: checkSides,
  },
  'guest-nic.detach': {
    lines: detachLines,
    touches: () => [],
    effect: (op, f) => sidesOf(op).forEach((s) => setNic(f, op, s, null)),
    inverse: restore,
    check: checkSides,
  },
  'guest-nic.update': {
    lines: (op) => virshDevice('update-device', op),
    touches: () => [],
    effect: (op, f) => sidesOf(op).forEach((s) => setNic(f, op, s, op.nic)),
    inverse: restore,
    check: checkSides,
  },
};
