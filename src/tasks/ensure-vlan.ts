// ensure_vlan: an 802.1Q sub-interface of a NIC, bond or bridge (`ip link add link PARENT name
// NAME type vlan id ID`), its MTU and up state. A VLAN's id and parent cannot change in place:
// a different one is a planned re-create (its addresses go with it, and say so).
import { z } from 'zod';
import { RefusedError } from '../errors.js';
import { describeDevices } from '../facts/describe.js';
import { interfaceNameProblem } from '../config/validators.js';
import type { Facts } from '../model/facts.js';
import { factsAfter, noop, type Change, type Plan } from '../model/plan.js';
import { interfaceName, persist, presence } from './common-args.js';
import type { ArgProblem, PlannedTaskModule } from './contract.js';
import { linkMtuChange, linkUpChange } from './link-changes.js';
import { addrsFrom, addrsTo, movedText, routesTo } from './migrate.js';
import { applyVlanDetails, linkDetails } from './link-details.js';
import { vlanDrift, vlanFiles } from './link-persist.js';

const schema = z.strictObject({
  parent: interfaceName.meta({ description: 'the device the VLAN sits on (a NIC, a bond, a bridge)' }),
  id: z.number().int().min(1).max(4094).meta({ description: '802.1Q VLAN id, 1–4094' }),
  name: interfaceName.optional().meta({ description: 'default <parent>.<id>' }),
  state: presence,
  mtu: z.number().int().min(68).max(65535).optional().meta({ description: "at most the parent's MTU" }),
  up: z.boolean().default(true),
  migrate: z
    .boolean()
    .default(false)
    .meta({ description: "the parent's addresses and routes (the management address on a NIC or bond) move onto the VLAN in the same step" }),
  persist,
});

export type EnsureVlanArgs = z.output<typeof schema>;

export const vlanName = (args: { parent: string; id: number; name?: string }) => args.name ?? `${args.parent}.${args.id}`;

function vlanProblems(args: Record<string, unknown>): ArgProblem[] {
  // The default name must be a valid interface name too (15 bytes: `enp129s0f0np0.100` is not).
  if (args.name !== undefined || typeof args.parent !== 'string' || args.parent.includes('{{') || typeof args.id !== 'number') return [];
  const problem = interfaceNameProblem(`${args.parent}.${args.id}`);
  return problem ? [{ field: 'parent', message: `the default name ${args.parent}.${args.id} is not usable (${problem}): give a name` }] : [];
}

export const ensureVlan: PlannedTaskModule<'ensure_vlan', typeof schema> = {
  kind: 'planned',
  type: 'ensure_vlan',
  schema,
  defaultName: (args) => `ensure_vlan ${typeof args.name === 'string' ? args.name : `${String(args.parent)}.${String(args.id)}`}`,
  argProblems: vlanProblems,
  plan: planVlan,
  persistence: { files: (kind, args, facts, host) => vlanFiles(kind, { ...args, name: vlanName(args) }, facts, host), drift: vlanDrift },
  facts: {
    id: 'vlan-details',
    parse: (sections, facts) => applyVlanDetails(linkDetails(sections), facts),
  },
  factsView: {
    json: (f) => ({ vlans: vlansOf(f) }),
    sections: (f) => [
      {
        title: 'vlans',
        columns: ['name', 'parent', 'id', 'state', 'mtu', 'master', 'addresses'],
        rows: vlansOf(f).map((v) => [
          v.name,
          v.parent ?? '-',
          String(v.id ?? '?'),
          v.up ? 'up' : 'down',
          String(v.mtu),
          v.master ?? '-',
          v.addresses.join(' ') || '-',
        ]),
      },
    ],
  },
};

export function vlansOf(f: Facts) {
  return Object.values(f.links)
    .filter((l) => l.kind === 'vlan')
    .map((l) => ({
      name: l.name,
      parent: l.lower ?? null,
      id: l.vlan?.id ?? null,
      protocol: l.vlan?.protocol ?? null,
      up: l.up,
      operstate: l.operstate,
      mtu: l.mtu,
      master: l.master ?? null,
      addresses: f.addrs.filter((a) => a.dev === l.name && a.scope === 'global').map((a) => `${a.address}/${a.prefix}`),
    }));
}

function planVlan(args: EnsureVlanArgs, facts: Facts, host: string): Plan {
  const name = vlanName(args);
  const { parent, id } = args;
  const link = facts.links[name];
  const data = { name, parent, id };
  if (args.state === 'absent') {
    if (!link) return noop(`VLAN ${name} does not exist`, { ...data, exists: false });
    if (link.kind !== 'vlan') throw new RefusedError(`${name} on ${host} is ${link.kind ? `a ${link.kind}` : 'not a VLAN'}; ensure_vlan will not delete it`);
    if (facts.session?.dev === name)
      throw new RefusedError(`VLAN ${name} carries this SSH session on ${host} (${facts.session.serverAddress}); deleting it would cut the host off`);
    return {
      changes: [{ summary: `delete VLAN ${name}`, ops: [{ op: 'link.del', name }] }],
      data: { ...data, exists: false },
      devices: [name],
    };
  }
  const lower = facts.links[parent];
  if (!lower)
    throw new RefusedError(`parent ${parent} of VLAN ${name} does not exist on ${host}; create it first (ensure_bond, ensure_bridge) or fix the name`);
  if (link && link.kind !== 'vlan')
    throw new RefusedError(`${name} exists on ${host} but is ${link.kind ? `a ${link.kind}` : 'not a VLAN'}; refusing to replace it`);
  if (lower.master && facts.links[lower.master]?.kind === 'bond')
    throw new RefusedError(`${parent} is a member of bond ${lower.master} on ${host}; put the VLAN on ${lower.master} instead`);
  // A bridge port may also be a VLAN's parent (nmstate's bond-in-a-bridge-plus-VLAN layout): the
  // kernel hands a tagged frame to the VLAN device (vlan_do_receive) before the port's rx handler
  // gives the rest, untagged, to the bridge. Nothing to refuse.
  const clash = Object.values(facts.links).find((l) => l.kind === 'vlan' && l.name !== name && l.lower === parent && l.vlan?.id === id);
  if (clash)
    throw new RefusedError(`VLAN ${id} already exists on ${parent} as ${clash.name} on ${host}; the kernel allows one per parent (use name: ${clash.name})`);
  if (args.mtu !== undefined && args.mtu > lower.mtu)
    throw new RefusedError(`mtu ${args.mtu} of ${name} is above its parent ${parent}'s (${lower.mtu}); raise the parent's first`);

  const changes: Change[] = [];
  const create = (): Change => ({
    summary: `create VLAN ${name} (id ${id} on ${parent}${args.mtu ? `, mtu ${args.mtu}` : ''}${args.up ? ', up' : ''})`,
    ops: [
      { op: 'link.add', name, kind: 'vlan', parent, id },
      ...(args.mtu !== undefined ? [{ op: 'link.mtu' as const, name, mtu: args.mtu }] : []),
      ...(args.up ? [{ op: 'link.up' as const, name, up: true }] : []),
    ],
  });
  if (!link) {
    changes.push(create());
  } else if (link.lower !== parent || link.vlan?.id !== id) {
    // id and parent are fixed at creation: delete and add again.
    const addrs = facts.addrs.filter((a) => a.dev === name && a.scope === 'global').map((a) => `${a.address}/${a.prefix}`);
    changes.push({
      summary: `re-create VLAN ${name}: it is id ${link.vlan?.id ?? '?'} on ${link.lower ?? '?'}, wanted id ${id} on ${parent}${addrs.length ? ` (its addresses ${addrs.join(', ')} go with it)` : ''}${link.master ? ` (it leaves ${link.master})` : ''}`,
      ops: [{ op: 'link.del', name }],
    });
    changes.push(create());
  } else {
    if (args.mtu !== undefined && args.mtu !== link.mtu) changes.push(linkMtuChange(name, link.mtu, args.mtu));
    if (args.up !== link.up) changes.push(linkUpChange(name, args.up));
  }
  const moving = args.migrate ? migrateOntoVlan(parent, name, facts) : undefined;
  if (moving) {
    if (!args.up) throw new RefusedError(`migrate: true moves ${parent}'s addresses onto ${name}, which would be down (up: false) on ${host}`);
    changes.push(moving);
  }
  if (changes.length === 0)
    return noop(`VLAN ${name} exists as wanted (id ${id} on ${parent}, mtu ${link!.mtu}, ${link!.up ? 'up' : 'down'})`, { ...data, exists: true });
  const after = factsAfter(changes, facts);
  const describe = (f: Facts) => {
    const l = f.links[name];
    return l ? `${describeDevices(f, [name])}\n${name}: 802.1Q id ${l.vlan?.id ?? '?'} on ${l.lower ?? '?'}` : `${name}: absent`;
  };
  return {
    changes,
    data: { ...data, exists: true },
    devices: [name, ...(moving ? [parent] : [])],
    diff: { before: describe(facts), after: describe(after) },
    consent: moving ? 'migrate: true' : undefined,
  };
}

/**
 * The management address onto a VLAN: the parent's addresses go to the VLAN first, then leave the
 * parent, and its routes follow (deleting the parent's address took them). The VLAN has the
 * parent's MAC, so neighbours' ARP entries stay right. Undefined when the parent holds nothing.
 */
function migrateOntoVlan(parent: string, vlan: string, facts: Facts): Change | undefined {
  const addrs = facts.addrs.filter((a) => a.dev === parent && a.scope === 'global');
  const routes = facts.routes.filter((r) => r.dev === parent && r.protocol !== 'kernel');
  if (addrs.length === 0 && routes.length === 0) return undefined;
  return {
    summary: `migrate ${parent}'s addresses onto VLAN ${vlan}: move ${movedText(addrs, routes)} from ${parent} to ${vlan}`,
    ops: [...addrsTo(addrs, vlan), ...addrsFrom(addrs), ...routesTo(routes, vlan)],
  };
}
