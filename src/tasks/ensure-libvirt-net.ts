// ensure_libvirt_net: a libvirt virtual network, defined from a template, inline XML or
// structured fields, compared as a subset of what libvirt keeps, started and autostarted.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { LibvirtUnavailableError, RefusedError, RenderError } from '../errors.js';
import type { Facts, NetworkFact } from '../model/facts.js';
import { noop, type Change, type Plan } from '../model/plan.js';
import { netAddressing } from '../render/net-addressing.js';
import { isSubset, parseXml, prettyXml, project, type XmlElement } from '../render/netxml.js';
import { asLibvirtWrote, canonicalPair, describeIgnored } from '../render/netxml-canon.js';
import { renderXml } from '../render/template.js';
import { PACKAGE_TEMPLATES } from '../render/templates-dir.js';
import { interfaceName, ip, mac, networkName } from './common-args.js';
import type { ArgProblem, PlannedTaskModule, PrepareContext } from './contract.js';
import { libvirtVersionFacts } from './libvirt-version.js';
import { classifyNetworkChange, describeOp, netUpdateOp, type LiveOp } from './libvirt-net-live.js';
import { isTemplated, portgroupSchema, portgroupsXml, virtualportSchema, vlanArgProblems, vlanSchema, vlanXml } from './libvirt-net-vlans.js';
import { describeNetVlan, netVlans } from '../render/net-vlans.js';
import { shown } from '../text/shown.js';

const dhcpRange = z.strictObject({ start: ip, end: ip });
const dhcpHost = z.strictObject({
  mac: mac.optional(),
  ip,
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/)
    .optional(),
});

const schema = z.strictObject({
  name: networkName,
  state: z.enum(['active', 'inactive', 'defined', 'absent']).default('active'),
  autostart: z.boolean().optional(),
  template: z.string().min(1).optional().meta({ description: 'Handlebars XML template, looked up beside the playbook, then in templates/' }),
  vars: z.record(z.string(), z.unknown()).optional().meta({ description: 'variables for the template' }),
  xml: z.string().min(1).optional().meta({ description: 'inline network XML' }),
  forward: z.enum(['nat', 'route', 'bridge', 'isolated', 'open', 'passthrough', 'hostdev']).optional(),
  forward_interfaces: z
    .array(interfaceName)
    .min(1)
    .optional()
    .meta({ description: 'forward: passthrough: the pool of host interfaces (SR-IOV VFs) guests get one of, by macvtap passthrough' }),
  forward_pf: interfaceName.optional().meta({ description: 'forward: passthrough or hostdev: the SR-IOV physical function whose VFs make the pool' }),
  bridge: z.strictObject({ name: interfaceName, stp: z.boolean().optional(), delay: z.number().int().min(0).max(30).optional() }).optional(),
  ip: z
    .strictObject({
      address: ip,
      netmask: ip.optional(),
      prefix: z.number().int().min(0).max(128).optional(),
      dhcp: z.strictObject({ ranges: z.array(dhcpRange).optional(), hosts: z.array(dhcpHost).optional() }).optional(),
    })
    .optional(),
  nat_ports: z.strictObject({ start: z.number().int().min(1).max(65535), end: z.number().int().min(1).max(65535) }).optional(),
  virtualport: virtualportSchema.optional(),
  vlan: vlanSchema.optional(),
  portgroups: z
    .array(portgroupSchema)
    .optional()
    .meta({ description: 'libvirt <portgroup>s: guests pick one by name (<source network=… portgroup=…>); changed live with net-update' }),
});

export type EnsureLibvirtNetArgs = z.output<typeof schema>;

export type LibvirtNetInput = EnsureLibvirtNetArgs & {
  /** The rendered definition (template, xml or structured fields); undefined when the task gives none. */
  desiredXml?: string;
};

export const ensureLibvirtNet: PlannedTaskModule<'ensure_libvirt_net', typeof schema, LibvirtNetInput> = {
  kind: 'planned',
  type: 'ensure_libvirt_net',
  schema,
  defaultName: (args) => `ensure_libvirt_net ${String(args.name)}`,
  argProblems: sourceProblems,
  fileArg: 'template',
  prepare: (args, ctx) => ({ ...args, desiredXml: networkXml(args, ctx) }),
  plan: planNetwork,
  facts: libvirtVersionFacts,
  factsView: {
    json: (f) => ({
      libvirt: f.libvirt.available ? 'available' : f.libvirt.reason,
      libvirt_version: f.libvirt.available ? (f.libvirt.version ?? null) : null,
      networks: f.libvirt.available
        ? Object.values(f.libvirt.networks).map((n) => ({
            name: n.name,
            state: n.active ? 'active' : 'inactive',
            autostart: n.autostart,
            persistent: n.persistent,
            bridge: n.bridge ?? null,
            forward: n.forwardMode ?? null,
            ...netAddressing(n.xml),
            ...netVlans(n.xml),
          }))
        : null,
      guest_interfaces: f.libvirt.available ? f.libvirt.guests : [],
    }),
    sections: (f) => {
      if (!f.libvirt.available) return [{ title: 'libvirt networks', columns: [], rows: [], warning: `libvirt unavailable: ${f.libvirt.reason}` }];
      const yes = (b: boolean) => (b ? 'yes' : 'no');
      return [
        {
          title: 'libvirt networks',
          columns: ['name', 'state', 'autostart', 'persistent', 'bridge', 'forward'],
          rows: Object.values(f.libvirt.networks).map((n) => [
            n.name,
            n.active ? 'active' : 'inactive',
            yes(n.autostart),
            yes(n.persistent),
            n.bridge ?? '-',
            n.forwardMode ?? '-',
          ]),
          empty: '(none)',
        },
        {
          title: 'network vlans and portgroups',
          columns: ['network', 'portgroup', 'default', 'vlan'],
          rows: Object.values(f.libvirt.networks).flatMap((n) => vlanRows(n)),
        },
        {
          title: 'guest interfaces',
          columns: ['guest', 'interface', 'type', 'source', 'model', 'mac'],
          rows: f.libvirt.guests.map((g) => [g.guest, g.interface, g.type, g.source, g.model, g.mac]),
        },
      ];
    },
  },
};

/** One row for the network's own <vlan>, one per portgroup; none for a network with neither. */
function vlanRows(n: NetworkFact): string[][] {
  const { vlan, portgroups } = netVlans(n.xml);
  const rows = vlan ? [[n.name, '-', '-', describeNetVlan(vlan)]] : [];
  for (const p of portgroups) rows.push([n.name, p.name, p.default ? 'yes' : 'no', p.vlan ? describeNetVlan(p.vlan) : '-']);
  return rows;
}

const STRUCTURED = ['forward', 'forward_interfaces', 'forward_pf', 'bridge', 'ip', 'nat_ports', 'virtualport', 'vlan', 'portgroups'] as const;

/** Cross-field rules zod's object schemas don't express. */
function sourceProblems(args: Record<string, unknown>): ArgProblem[] {
  const structured = STRUCTURED.filter((k) => args[k] !== undefined);
  const sources = [args.template !== undefined && 'template', args.xml !== undefined && 'xml', structured.length > 0 && 'structured fields'].filter(Boolean);
  const problems: ArgProblem[] = [];
  const second = [args.template !== undefined && 'template', args.xml !== undefined && 'xml', ...structured].filter((x): x is string => Boolean(x))[1];
  if (sources.length > 1)
    problems.push({
      field: second ?? 'name',
      message: `give exactly one definition source (template, xml, or structured fields), found ${sources.join(' and ')}`,
    });
  if (args.vars !== undefined && args.template === undefined) problems.push({ field: 'vars', message: 'vars are only used with template' });
  const ipArg = args.ip as { netmask?: unknown; prefix?: unknown } | undefined;
  if (ipArg && ipArg.netmask !== undefined && ipArg.prefix !== undefined) problems.push({ field: 'ip', message: 'give netmask or prefix, not both' });
  if (ipArg && ipArg.netmask === undefined && ipArg.prefix === undefined) problems.push({ field: 'ip', message: 'ip needs netmask or prefix' });
  const ports = args.nat_ports as { start?: number; end?: number } | undefined;
  if (ports && typeof ports.start === 'number' && typeof ports.end === 'number' && ports.start > ports.end)
    problems.push({ field: 'nat_ports', message: 'nat_ports.start must not exceed nat_ports.end' });
  if (ports && args.forward !== undefined && args.forward !== 'nat') problems.push({ field: 'nat_ports', message: 'nat_ports only applies to forward: nat' });
  problems.push(...poolProblems(args));
  if (args.forward === 'bridge' && !args.bridge)
    problems.push({ field: 'forward', message: 'forward: bridge needs bridge: {name: …}, the host bridge to attach guests to' });
  problems.push(...vlanArgProblems(args));
  return problems;
}

/** SR-IOV pools: passthrough takes VFs listed or a PF, hostdev a PF (PCI addresses: give the XML). */
function poolProblems(args: Record<string, unknown>): ArgProblem[] {
  const pooled = args.forward === 'passthrough' || args.forward === 'hostdev';
  const out: ArgProblem[] = [];
  if (isTemplated(args.forward)) return out;
  for (const field of ['forward_interfaces', 'forward_pf'] as const) {
    if (args[field] !== undefined && !pooled)
      out.push({ field, message: `${field} only applies to forward: passthrough or hostdev, found forward: ${shown(args.forward ?? '(none)')}` });
  }
  if (args.forward === 'passthrough' && (args.forward_interfaces === undefined) === (args.forward_pf === undefined)) {
    out.push({
      field: 'forward',
      message: 'forward: passthrough needs one of forward_interfaces (the VFs) or forward_pf (the physical function whose VFs libvirt pools)',
    });
  }
  if (args.forward === 'hostdev' && args.forward_pf === undefined)
    out.push({
      field: 'forward',
      message: 'forward: hostdev needs forward_pf (the physical function whose VFs libvirt assigns to guests); a pool of PCI addresses needs a template or xml',
    });
  if (args.forward === 'hostdev' && args.forward_interfaces !== undefined)
    out.push({ field: 'forward_interfaces', message: 'forward: hostdev assigns PCI devices, not interfaces: use forward_pf' });
  if (pooled)
    for (const field of ['bridge', 'ip', 'nat_ports'] as const)
      if (args[field] !== undefined) out.push({ field, message: `forward: ${String(args.forward)} gives guests host devices directly: no ${field}` });
  return out;
}

const templateCache = new Map<string, string>();
function readTemplate(file: string): string {
  let text = templateCache.get(file);
  if (text === undefined) {
    text = readFileSync(file, 'utf8');
    templateCache.set(file, text);
  }
  return text;
}

/** The definition the task gives, rendered for this host (XML-escaped values), if any. */
function networkXml(net: EnsureLibvirtNetArgs, ctx: PrepareContext): string | undefined {
  if (net.xml !== undefined) return net.xml;
  if (net.template !== undefined) {
    if (!ctx.file) throw new RenderError(`template file not found: '${net.template}', in ${ctx.where}`);
    return renderXml(readTemplate(ctx.file), { ...ctx.vars, ...(net.vars ?? {}), name: net.name }, `template ${ctx.file} of ${ctx.where}`);
  }
  if (STRUCTURED.some((k) => net[k] !== undefined)) {
    const fields = { ...net, vlan: net.vlan && vlanXml(net.vlan), portgroups: net.portgroups && portgroupsXml(net.portgroups) };
    return renderXml(readTemplate(resolve(PACKAGE_TEMPLATES, 'network.xml.hbs')), fields, `the structured definition of ${ctx.where}`);
  }
  return undefined;
}

function planNetwork(args: LibvirtNetInput, facts: Facts, host: string): Plan {
  if (!facts.libvirt.available) throw new LibvirtUnavailableError(`libvirtd is not running on ${host}: ${facts.libvirt.reason}`);
  const { name } = args;
  const net = facts.libvirt.networks[name];
  const data: Record<string, unknown> = { name, xml: args.desiredXml };

  if (args.state === 'absent') {
    if (!net) return noop(`network ${name} is not defined`, data);
    const changes: Change[] = [];
    if (net.active) changes.push(stopNetwork(name, attachedGuests(facts, net), '', !net.persistent));
    if (net.persistent) changes.push({ summary: `undefine network ${name}`, ops: [{ op: 'net.undefine', name }] });
    return { changes, data, diff: { before: net.xml ? prettyXml(parseXml(net.xml)) : `network ${name}`, after: '(absent)' } };
  }

  const changes: Change[] = [];
  let diff: Plan['diff'];
  let ignored: string | undefined;
  let current: NetworkFact | undefined = net;
  if (args.desiredXml !== undefined) {
    const written = parseXml(args.desiredXml);
    const desiredName = written.children.find((c) => c.tag === 'name')?.text;
    if (written.tag !== 'network') throw new RefusedError(`the definition of ${name} must have <network> as its root element, found <${written.tag}>`);
    if (desiredName !== name) throw new RefusedError(`the definition's <name> is '${desiredName ?? ''}', but the task manages network '${name}'`);
    // Compared as libvirt keeps them (lower-case MACs, defaults, what this libvirt drops), or a
    // definition written another way than libvirt writes it back would be redefined every run.
    const canon = canonicalPair(written, net?.xml ? parseXml(net.xml) : undefined, facts.libvirt.version);
    const { desired, actual } = canon;
    ignored = describeIgnored(canon.ignored, facts.libvirt.version, host);
    // A running persistent network that stays running: change it live when libvirt can.
    const running = net?.active === true && net.persistent && actual !== undefined && args.state === 'active';
    const classified = running ? classifyNetworkChange(desired, actual, facts.libvirt.version) : undefined;
    // A deletion names the current element as libvirt wrote it (not with the defaults the comparison filled in).
    const how =
      classified?.way === 'live'
        ? { ...classified, ops: classified.ops.map((op) => (op.command === 'delete' ? { ...op, element: asLibvirtWrote(op.element) } : op)) }
        : classified;
    const guests = net ? attachedGuests(facts, net) : [];
    if (how?.way === 'live') {
      diff = {
        before: prettyXml(project(actual!, desired)),
        after: prettyXml(desired),
        notes: [`live update, guests keep their link (virsh net-update --live --config: ${how.ops.map(describeOp).join('; ')})`],
      };
      changes.push(liveUpdate(name, how.ops));
    } else if (how?.way !== 'same' && (!net || !net.persistent || !actual || !isSubset(desired, actual))) {
      // An active network keeps running its old definition: restart it, unless the user asked for
      // 'defined' (then the new definition applies at the next start) or 'inactive' (stopped below).
      const restart = running;
      // A network on an Open vSwitch bridge does not own it: a restart leaves the bridge and its
      // guests' ports as they are, and `ip link set master` cannot plug a tap into one anyway.
      const ovs = actual?.children.find((c) => c.tag === 'virtualport')?.attrs.type === 'openvswitch';
      // Nor is there a bridge to plug into for a network without one (passthrough, hostdev: macvtap and VFs).
      const taps = restart && !ovs && net.bridge !== undefined ? attachedTaps(facts, net) : [];
      diff = {
        before: actual ? prettyXml(project(actual, desired)) : `(network ${name} not defined)`,
        after: prettyXml(desired),
        notes: restart
          ? [
              `restart: ${name} is active and ${how?.way === 'restart' ? how.why : 'its definition cannot change live'}; ` +
                (taps.length
                  ? `guests attached are cut off briefly and re-attached after the restart: ${guests.join(', ')}`
                  : ovs && guests.length
                    ? `the Open vSwitch bridge keeps the guests' ports (${guests.join(', ')}); what changed applies to guest interfaces started afterwards`
                    : guests.length
                      ? `guests attached lose connectivity until then: ${guests.join(', ')}`
                      : 'no running guests attached'),
            ]
          : undefined,
      };
      const defineXml = withCurrentUuid(written, actual, args.desiredXml);
      changes.push({ summary: net ? `redefine network ${name}` : `define network ${name}`, ops: [{ op: 'net.define', name, xml: defineXml }] });
      if (restart) {
        const change = restartNetwork(name, taps);
        changes.push(ovs ? { ...change, summary: `network ${name} restarted (its Open vSwitch bridge keeps the guests' ports)` } : change);
      }
      current = { ...(net ?? { name, autostart: false }), active: net?.active ?? false, persistent: true };
    }
  } else if (!net) {
    throw new RefusedError(`network ${name} is not defined on ${host}, and the task gives no definition (template, xml, or forward/bridge/ip)`);
  }

  const active = current!.active;
  if (args.state === 'active' && !active) {
    changes.push({ summary: `start network ${name}`, ops: [{ op: 'net.start', name }] });
  } else if (args.state === 'inactive' && active) {
    changes.push(stopNetwork(name, attachedGuests(facts, current!)));
  }
  if (args.autostart !== undefined && args.autostart !== current!.autostart) {
    if (args.autostart && !current!.persistent) throw new RefusedError(`network ${name} is transient on ${host}; autostart needs a persistent definition`);
    changes.push({
      summary: `${args.autostart ? 'enable' : 'disable'} autostart of network ${name}`,
      ops: [{ op: 'net.autostart', name, on: args.autostart }],
    });
  }
  if (changes.length === 0) {
    const state = [net!.active ? 'active' : 'inactive', net!.autostart ? 'autostarted' : 'not autostarted'].join(', ');
    return noop(`network ${name} is defined as wanted (${state})${ignored ? `; ${ignored}` : ''}`, data);
  }
  if (ignored) diff = diff ? { ...diff, notes: [...(diff.notes ?? []), ignored] } : undefined;
  if (ignored && changes[0]) changes[0] = { ...changes[0], summary: `${changes[0].summary} (${ignored})` };
  return { changes, data, diff };
}

/**
 * libvirt refuses to redefine an existing network under another UUID ("network 'x' already exists
 * with uuid …"), and it gives a definition without <uuid> a random one: a redefinition must carry
 * the current UUID over, unless the user wrote one (then libvirt's error is the right answer).
 */
export function withCurrentUuid(desired: XmlElement, actual: XmlElement | undefined, desiredXml: string): string {
  if (!actual || desired.children.some((c) => c.tag === 'uuid')) return desiredXml;
  const uuid = actual.children.find((c) => c.tag === 'uuid')?.text;
  if (!uuid) return desiredXml;
  const children = [...desired.children];
  children.splice(children.findIndex((c) => c.tag === 'name') + 1, 0, { tag: 'uuid', attrs: {}, text: uuid, children: [] });
  return `${prettyXml({ ...desired, children })}\n`;
}

/** net-update operations (applied to the running network and its persistent definition). */
function liveUpdate(name: string, ops: LiveOp[]): Change {
  return { summary: `update network ${name} live, guests keep their link: ${ops.map(describeOp).join('; ')}`, ops: ops.map((op) => netUpdateOp(name, op)) };
}

/**
 * Exported for the other guest-facing task types (DHCP reservations, port forwards): a restart they
 * cannot avoid must leave no running guest detached either.
 * Destroy + start, then every guest tap that was in the network's bridge is plugged back into the
 * new bridge and checked (master and UP), as libvirtd does for its guests when it reconnects.
 */
export function restartNetwork(name: string, taps: Array<{ tap: string; guest: string }>): Change {
  const n = taps.length;
  return {
    summary:
      n === 0
        ? `network ${name} restarted (no running guests attached)`
        : `network ${name} restarted; ${n} guest interface${n === 1 ? '' : 's'} re-attached (${taps.map((t) => `${t.guest} ${t.tap}`).join(', ')})`,
    ops: [{ op: 'net.destroy', name }, { op: 'net.start', name }, ...(n ? [{ op: 'guest.reattach' as const, network: name, taps }] : [])],
  };
}

/** The tap devices of running guests in the network's bridge (domiflist names the tap). */
export function attachedTaps(facts: Facts, net: NetworkFact): Array<{ tap: string; guest: string }> {
  if (!facts.libvirt.available) return [];
  const seen = new Set<string>();
  return facts.libvirt.guests
    .filter((g) => (g.type === 'network' && g.source === net.name) || (g.type === 'bridge' && net.bridge !== undefined && g.source === net.bridge))
    .filter((g) => g.interface !== '-' && !seen.has(g.interface) && seen.add(g.interface))
    .map((g) => ({ tap: g.interface, guest: g.guest }));
}

function stopNetwork(name: string, guests: string[], why = '', transient = false): Change {
  const extra = [why, guests.length ? `guests lose connectivity: ${guests.join(', ')}` : ''].filter(Boolean).join('; ');
  return { summary: `stop network ${name}${extra ? ` (${extra})` : ''}`, ops: [{ op: 'net.destroy', name, ...(transient ? { transient } : {}) }] };
}

function attachedGuests(facts: Facts, net: NetworkFact): string[] {
  if (!facts.libvirt.available) return [];
  const names = facts.libvirt.guests
    .filter((g) => (g.type === 'network' && g.source === net.name) || (g.type === 'bridge' && net.bridge !== undefined && g.source === net.bridge))
    .map((g) => `${g.guest} (${g.interface})`);
  return [...new Set(names)];
}
