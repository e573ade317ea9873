// ensure_guest_nic: a guest's NIC on a libvirt network or a bridge, in the domain's live
// definition (when it runs) AND its persistent one (when it has one), each compared on its own
// (`virsh dumpxml` and `dumpxml --inactive`). The MAC is the NIC's identity: a NIC moved to
// another network, portgroup or bridge, or whose link goes down, is changed in place with
// `virsh update-device`, so the guest keeps its device and its MAC; libvirt cannot change a
// running NIC's model or MTU, so there (and said so in the plan) the NIC is detached and attached
// again, with the same MAC.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { LibvirtUnavailableError, RefusedError } from '../errors.js';
import type { Facts, GuestDomainFact, GuestNicFact } from '../model/facts.js';
import { noop, type Change, type Plan } from '../model/plan.js';
import { findNic, nicLine } from '../ops/guest-nic.js';
import type { GuestNicOp, GuestNicSpec } from '../ops/types.js';
import { interfaceName, mac, networkName, presence } from './common-args.js';
import type { PlannedTaskModule } from './contract.js';
import { guestNicFacts, guestNicsView } from './guest-nics.js';

const schema = z.strictObject({
  domain: z
    .string()
    .regex(/^[A-Za-z0-9_.+-]+$/, 'expected a libvirt domain name (letters, digits, _ . + -)')
    .meta({ description: 'the guest (libvirt domain) whose NIC this is' }),
  mac: mac.optional().meta({
    description: "the NIC's MAC address, its identity (required to change or remove a NIC; without it kvmnet derives one from host, domain and network)",
  }),
  network: networkName.optional().meta({ description: 'the libvirt network the NIC is on (active on the host); or bridge' }),
  bridge: interfaceName.optional().meta({ description: 'the host bridge the NIC is in (type bridge); or network' }),
  portgroup: z
    .string()
    .regex(/^[A-Za-z0-9_.+-]+$/, 'expected a portgroup name')
    .optional()
    .meta({ description: "the network's portgroup (only with network; without it, the network's default)" }),
  model: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'expected a NIC model like virtio or e1000')
    .default('virtio')
    .meta({ description: 'the NIC model the guest sees' }),
  link: z.enum(['up', 'down']).default('up').meta({ description: "the NIC's link state as the guest sees it (down: unplugged cable)" }),
  mtu: z.number().int().min(68).max(65535).optional().meta({ description: "the NIC's MTU (libvirt's <mtu size>); without it, whatever the NIC has" }),
  state: presence,
});

export type EnsureGuestNicArgs = z.output<typeof schema>;

export const ensureGuestNic: PlannedTaskModule<'ensure_guest_nic', typeof schema> = {
  kind: 'planned',
  type: 'ensure_guest_nic',
  schema,
  defaultName: (args) =>
    args.state === 'absent'
      ? `ensure_guest_nic ${String(args.mac)} absent from ${String(args.domain)}`
      : `ensure_guest_nic ${String(args.domain)} on ${String(args.network ?? args.bridge)}`,
  argProblems: (args) => {
    const out: Array<{ field: string; message: string }> = [];
    const absent = args.state === 'absent';
    if (!absent && (args.network === undefined) === (args.bridge === undefined))
      out.push({ field: args.bridge !== undefined ? 'bridge' : 'network', message: 'give exactly one of network or bridge' });
    if (absent && args.mac === undefined) out.push({ field: 'mac', message: 'a NIC to remove is named by its mac' });
    if (args.portgroup !== undefined && args.network === undefined) out.push({ field: 'portgroup', message: 'a portgroup belongs to a network: give network' });
    return out;
  },
  facts: guestNicFacts,
  factsView: guestNicsView,
  plan: planGuestNic,
};

type Side = 'live' | 'config';

/** A MAC in QEMU's 52:54:00 range derived from host, domain and source: the same task picks the same one every run. */
export function derivedMac(host: string, domain: string, source: string): string {
  const h = createHash('sha256').update(`${host}\0${domain}\0${source}`).digest();
  return ['52', '54', '00', ...[0, 1, 2].map((i) => h[i]!.toString(16).padStart(2, '0'))].join(':');
}

/** The domain that already uses this MAC on the host, other than `domain`. */
function macOwner(facts: Facts, domain: string, mac: string): string | undefined {
  for (const d of Object.values(facts.guestNics ?? {})) {
    if (d.name === domain) continue;
    if (findNic(d.live, mac) || findNic(d.config, mac)) return d.name;
  }
  return undefined;
}

function sidesOf(d: GuestDomainFact): Side[] {
  return [...(d.running ? (['live'] as const) : []), ...(d.persistent ? (['config'] as const) : [])];
}

const sideText = (sides: Side[], all: Side[]) => (all.length === 2 && sides.length === 1 ? ` (${sides[0]} definition only)` : '');

/** Operations per side, merged into one `--live --config` operation where both sides need the same. */
function merged(kind: GuestNicOp['op'], domain: string, nic: GuestNicSpec, sides: Side[]): GuestNicOp[] {
  return sides.length ? [{ op: kind, domain, nic, live: sides.includes('live'), config: sides.includes('config') }] : [];
}

function planGuestNic(args: EnsureGuestNicArgs, facts: Facts, host: string): Plan {
  if (!facts.libvirt.available) throw new LibvirtUnavailableError(`libvirtd is not running on ${host}: ${facts.libvirt.reason}`);
  if (!facts.guestNics) throw new RefusedError(`the facts of ${host} do not include its guests' NICs`);
  const dom = facts.guestNics[args.domain];
  if (!dom) throw new RefusedError(`domain ${args.domain} does not exist on ${host}`);
  const sides = sidesOf(dom);
  const nicIn = (side: Side, m: string) => findNic(dom[side], m);

  if (args.state === 'absent') {
    const m = args.mac!.toLowerCase();
    const present = sides.filter((s) => nicIn(s, m));
    const data = { domain: args.domain, mac: m, state: 'absent' };
    if (!present.length) return noop(`${args.domain} has no NIC ${m}`, data);
    const nic = specOfFact(nicIn(present[0]!, m)!);
    const ops = sameNic(present.map((s) => nicIn(s, m)!))
      ? merged('guest-nic.detach', args.domain, nic, present)
      : present.flatMap((s) => merged('guest-nic.detach', args.domain, specOfFact(nicIn(s, m)!), [s]));
    const changes: Change[] = [{ summary: `detach NIC ${m} (${nicLine(nic)}) from ${args.domain}${sideText(present, sides)}`, ops }];
    return {
      changes,
      data,
      diff: diffOf(
        present,
        (s) => nicIn(s, m),
        () => undefined,
      ),
    };
  }

  const type = args.network !== undefined ? 'network' : 'bridge';
  const source = (args.network ?? args.bridge)!;
  if (type === 'network') {
    const net = facts.libvirt.networks[source];
    if (!net) throw new RefusedError(`network ${source} is not defined on ${host}`);
    if (!net.active) throw new RefusedError(`network ${source} is not active on ${host}: a guest's NIC cannot join it`);
    if (args.portgroup !== undefined && !new RegExp(`<portgroup\\b[^>]*\\bname=['"]${args.portgroup.replace(/[.+]/g, '\\$&')}['"]`).test(net.xml ?? '')) {
      throw new RefusedError(`network ${source} has no portgroup ${args.portgroup} on ${host}`);
    }
  } else if (facts.links[source]?.kind !== 'bridge') {
    throw new RefusedError(`bridge ${source} does not exist on ${host}`);
  }
  // Without a MAC: the NIC this domain has on that source, or a new one with a derived MAC.
  const m = (
    args.mac ??
    [...(dom.live ?? []), ...(dom.config ?? [])].find((n) => n.type === type && n.source === source)?.mac ??
    derivedMac(host, args.domain, source)
  ).toLowerCase();
  const owner = macOwner(facts, args.domain, m);
  if (owner) throw new RefusedError(`MAC ${m} is already used by guest ${owner} on ${host}`);

  const want: GuestNicSpec = {
    mac: m,
    type,
    source,
    ...(args.portgroup ? { portgroup: args.portgroup } : {}),
    model: args.model,
    link: args.link,
  };
  const data = { domain: args.domain, mac: m, type, source, portgroup: args.portgroup ?? null, model: args.model, link: args.link, mtu: args.mtu ?? null };
  // Without mtu, the NIC keeps its own.
  const wantOn = (s: Side): GuestNicSpec => {
    const mtu = args.mtu ?? nicIn(s, m)?.mtu;
    return mtu !== undefined ? { ...want, mtu } : want;
  };
  for (const s of sides) {
    const cur = nicIn(s, m);
    if (cur && cur.type !== 'network' && cur.type !== 'bridge')
      throw new RefusedError(`${args.domain}'s NIC ${m} is of type ${cur.type} (${s} definition): kvmnet changes NICs on networks and bridges only`);
  }
  const toAttach = sides.filter((s) => !nicIn(s, m));
  const changed = sides.filter((s) => nicIn(s, m) && nicLine(nicIn(s, m)) !== nicLine(wantOn(s)));
  // libvirt changes a running NIC's source, portgroup and link in place, not its model or MTU.
  const replugged = changed.filter((s) => s === 'live' && (nicIn(s, m)!.model !== wantOn(s).model || nicIn(s, m)!.mtu !== wantOn(s).mtu));
  const updated = changed.filter((s) => !replugged.includes(s));
  if (!toAttach.length && !changed.length)
    return noop(`${args.domain} has NIC ${m} ${nicLine(wantOn(sides[0] ?? 'config'))}${sides.length === 2 ? ' (live and persistent definitions)' : ''}`, data);

  const changes: Change[] = [];
  const specFor = (ss: Side[]) => wantOn(ss[0]!);
  const group = (ss: Side[]) => (ss.length === 2 && nicLine(wantOn('live')) !== nicLine(wantOn('config')) ? ss.map((s) => [s]) : [ss]);
  for (const ss of group(toAttach).filter((g) => g.length)) {
    changes.push({
      summary: `attach NIC ${m} (${nicLine(specFor(ss))}) to ${args.domain}${sideText(ss, sides)}`,
      ops: merged('guest-nic.attach', args.domain, specFor(ss), ss),
    });
  }
  for (const ss of group(updated).filter((g) => g.length)) {
    const before = nicIn(ss[0]!, m)!;
    changes.push({
      summary: `update NIC ${m} of ${args.domain} in place: ${changeText(before, specFor(ss))}${sideText(ss, sides)}`,
      ops: merged('guest-nic.update', args.domain, specFor(ss), ss),
    });
  }
  if (replugged.length) {
    const before = nicIn('live', m)!;
    changes.push({
      summary: `replug NIC ${m} of running ${args.domain}: ${changeText(before, wantOn('live'))} — libvirt cannot change a running NIC's model or MTU, so it is detached and attached again with the same MAC (the guest sees the device unplugged and plugged)`,
      ops: [
        { op: 'guest-nic.detach', domain: args.domain, nic: specOfFact(before), live: true, config: false },
        { op: 'guest-nic.attach', domain: args.domain, nic: wantOn('live'), live: true, config: false },
      ],
    });
  }
  return { changes, data, diff: diffOf(sides, (s) => nicIn(s, m), wantOn) };
}

function specOfFact(n: GuestNicFact): GuestNicSpec {
  return {
    mac: n.mac,
    type: n.type === 'bridge' ? 'bridge' : 'network',
    source: n.source,
    ...(n.portgroup ? { portgroup: n.portgroup } : {}),
    ...(n.model ? { model: n.model } : {}),
    link: n.link,
    ...(n.mtu !== undefined ? { mtu: n.mtu } : {}),
  };
}

const sameNic = (nics: GuestNicFact[]) => new Set(nics.map((n) => nicLine(n))).size === 1;

function changeText(a: GuestNicFact, b: GuestNicSpec): string {
  const parts: string[] = [];
  if (a.type !== b.type || a.source !== b.source) parts.push(`${a.type} ${a.source} → ${b.type} ${b.source}`);
  if ((a.portgroup ?? '') !== (b.portgroup ?? '')) parts.push(`portgroup ${a.portgroup ?? '(default)'} → ${b.portgroup ?? '(default)'}`);
  if ((a.model ?? 'default') !== (b.model ?? 'default')) parts.push(`model ${a.model ?? 'default'} → ${b.model}`);
  if (a.link !== b.link) parts.push(`link ${a.link} → ${b.link}`);
  if (a.mtu !== b.mtu) parts.push(`mtu ${a.mtu ?? 'default'} → ${b.mtu ?? 'default'}`);
  return parts.join(', ');
}

function diffOf(sides: Side[], before: (s: Side) => GuestNicFact | undefined, after: (s: Side) => GuestNicSpec | undefined): { before: string; after: string } {
  return {
    before: sides.map((s) => `${s}: ${nicLine(before(s))}`).join('\n'),
    after: sides.map((s) => `${s}: ${nicLine(after(s))}`).join('\n'),
  };
}
