import { shellJoin } from '../connection/quote.js';
import type { EnsureLibvirtNetArgs } from '../config/task-schemas.js';
import { RefusedError } from '../errors.js';
import type { Facts, NetworkFact } from '../model/facts.js';
import { noop, type Change, type Plan } from '../model/plan.js';
import { parseXml, prettyXml, project, isSubset, type XmlElement } from '../render/netxml.js';
import { networkXmlSummary } from '../facts/parse-virsh.js';

export type LibvirtNetInput = EnsureLibvirtNetArgs & {
  /** The rendered definition (template, xml or structured fields); undefined when the task gives none. */
  desiredXml?: string;
};

const virsh = (...args: string[]) => shellJoin(['virsh', '-q', ...args]);

export class LibvirtUnavailableError extends RefusedError {}

export function planEnsureLibvirtNet(args: LibvirtNetInput, facts: Facts, host: string): Plan {
  if (!facts.libvirt.available) throw new LibvirtUnavailableError(`libvirtd is not running on ${host}: ${facts.libvirt.reason}`);
  const { name } = args;
  const net = facts.libvirt.networks[name];
  const data: Record<string, unknown> = { name, xml: args.desiredXml };

  if (args.state === 'absent') {
    if (!net) return noop(`network ${name} is not defined`, data);
    const changes: Change[] = [];
    if (net.active) changes.push(stopNetwork(name, attachedGuests(facts, net), '', !net.persistent));
    if (net.persistent) changes.push({ summary: `undefine network ${name}`, commands: [virsh('net-undefine', name)], effect: (f) => forget(f, name) });
    return { changes, data, diff: { before: net.xml ? prettyXml(parseXml(net.xml)) : `network ${name}`, after: '(absent)' } };
  }

  const changes: Change[] = [];
  let diff: Plan['diff'];
  let current: NetworkFact | undefined = net;
  if (args.desiredXml !== undefined) {
    const desired = parseXml(args.desiredXml);
    const desiredName = desired.children.find((c) => c.tag === 'name')?.text;
    if (desired.tag !== 'network') throw new RefusedError(`the definition of ${name} must have <network> as its root element, found <${desired.tag}>`);
    if (desiredName !== name) throw new RefusedError(`the definition's <name> is '${desiredName ?? ''}', but the task manages network '${name}'`);
    const actual = net?.xml ? parseXml(net.xml) : undefined;
    const needsDefine = !net || !net.persistent || !actual || !isSubset(desired, actual);
    if (needsDefine) {
      const summary = networkXmlSummary(args.desiredXml);
      // An active network keeps running its old definition: restart it, unless the user asked for
      // 'defined' (then the new definition applies at the next start) or 'inactive' (stopped below).
      const restart = net?.active === true && net.persistent && actual !== undefined && args.state === 'active';
      const guests = net ? attachedGuests(facts, net) : [];
      diff = {
        before: actual ? prettyXml(project(actual, desired)) : `(network ${name} not defined)`,
        after: prettyXml(desired),
        notes: restart
          ? [`${name} is active: the new definition takes effect by destroying and restarting it${guests.length ? `; guests attached lose connectivity until then: ${guests.join(', ')}` : ' (no running guests attached)'}`]
          : undefined,
      };
      const defineXml = withCurrentUuid(desired, actual, args.desiredXml);
      changes.push({
        summary: net ? `redefine network ${name}` : `define network ${name}`,
        commands: ['virsh -q net-define /dev/stdin >/dev/null'],
        stdin: defineXml,
        effect: (f) => {
          const libvirt = f.libvirt as Extract<Facts['libvirt'], { available: true }>;
          const prev = libvirt.networks[name];
          libvirt.networks[name] = { name, active: prev?.active ?? false, autostart: prev?.autostart ?? false, persistent: true, bridge: summary.bridge, forwardMode: summary.forwardMode, xml: defineXml };
        },
      });
      if (restart) changes.push(stopNetwork(name, guests, 'to apply the new definition'));
      current = { ...(net ?? { name, autostart: false }), active: restart ? false : net?.active ?? false, persistent: true } as NetworkFact;
    }
  } else if (!net) {
    throw new RefusedError(`network ${name} is not defined on ${host}, and the task gives no definition (template, xml, or forward/bridge/ip)`);
  }

  const active = current!.active;
  if (args.state === 'active' && !active) {
    changes.push({ summary: `start network ${name}`, commands: [virsh('net-start', name)], effect: (f) => setNet(f, name, { active: true }) });
  } else if (args.state === 'inactive' && active) {
    changes.push(stopNetwork(name, attachedGuests(facts, current!)));
  }
  if (args.autostart !== undefined && args.autostart !== current!.autostart) {
    if (args.autostart && !current!.persistent) throw new RefusedError(`network ${name} is transient on ${host}; autostart needs a persistent definition`);
    changes.push({
      summary: `${args.autostart ? 'enable' : 'disable'} autostart of network ${name}`,
      commands: [args.autostart ? virsh('net-autostart', name) : virsh('net-autostart', '--disable', name)],
      effect: (f) => setNet(f, name, { autostart: args.autostart! }),
    });
  }
  if (changes.length === 0) {
    const state = [net!.active ? 'active' : 'inactive', net!.autostart ? 'autostarted' : 'not autostarted'].join(', ');
    return noop(`network ${name} is defined as wanted (${state})`, data);
  }
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

function stopNetwork(name: string, guests: string[], why = '', transient = false): Change {
  const extra = [why, guests.length ? `guests lose connectivity: ${guests.join(', ')}` : ''].filter(Boolean).join('; ');
  return {
    summary: `stop network ${name}${extra ? ` (${extra})` : ''}`,
    commands: [virsh('net-destroy', name)],
    // Destroying a transient network removes it altogether.
    effect: (f) => (transient ? forget(f, name) : setNet(f, name, { active: false })),
  };
}

function attachedGuests(facts: Facts, net: NetworkFact): string[] {
  if (!facts.libvirt.available) return [];
  const names = facts.libvirt.guests
    .filter((g) => (g.type === 'network' && g.source === net.name) || (g.type === 'bridge' && net.bridge !== undefined && g.source === net.bridge))
    .map((g) => `${g.guest} (${g.interface})`);
  return [...new Set(names)];
}

function setNet(f: Facts, name: string, patch: Partial<NetworkFact>): void {
  if (!f.libvirt.available) return;
  const n = f.libvirt.networks[name];
  if (n) Object.assign(n, patch);
}

function forget(f: Facts, name: string): void {
  if (f.libvirt.available) delete f.libvirt.networks[name];
}
