// Persistence of bonds and VLANs (`persist: networkd | ifupdown`), and where those files and the
// running state disagree. Pure.
//
// networkd (systemd.netdev(5), systemd.network(5)):
//   10-kvmnet-BOND.netdev          [NetDev] Kind=bond (+ MTUBytes), [Bond] Mode, MIIMonitorSec, LACPTransmitRate, TransmitHashPolicy
//   10-kvmnet-MEMBER.network       [Match] Name=MEMBER, [Network] Bond=BOND (+ PrimarySlave=yes)
//   10-kvmnet-VLAN.netdev          [NetDev] Kind=vlan (+ MTUBytes), [VLAN] Id
//   10-kvmnet-PARENT.network.d/vlan-VLAN.conf   [Network] VLAN=VLAN (networkd creates a VLAN from its parent's .network)
//   10-kvmnet-DEV.network          [Match] Name=DEV, [Network] ConfigureWithoutCarrier=yes — for the bond, the
//                                  VLAN and a NIC parent, unless ensure_port's file (Bridge=) is there: a bond or a
//                                  VLAN that is a bridge port gets its .network from ensure_port, and the drop-ins
//                                  (VLAN=, Address=) attach to whichever file it is.
// ifupdown (ifenslave, vlan):
//   kvmnet-BOND     auto BOND / iface BOND inet manual / bond-slaves … / bond-mode / bond-miimon / bond-lacp-rate / …
//   kvmnet-VLAN     auto VLAN / iface VLAN inet manual / vlan-raw-device PARENT (PARENT.ID names), or
//                   pre-up/post-down `ip link add/del` for other names (the vlan package only knows those names)
import { RefusedError } from '../errors.js';
import type { Facts } from '../model/facts.js';
import type { PersistFormat } from '../model/persist-kinds.js';
import { classifyPath, ifupdownPaths, networkdPaths } from '../persist/paths.js';
import { iniValue, iniValues, ifupdownStanzas } from '../persist/render.js';
import type { FileWant } from '../persist/persistence.js';

const HEADER = 'Written by kvmnet; changes made here are overwritten on its next run.';
const lines = (...ls: Array<string | false | undefined>) => `${ls.filter((l): l is string => typeof l === 'string').join('\n')}\n`;

export interface BondPersistArgs {
  name: string;
  state: 'present' | 'absent';
  mode?: string;
  members?: string[];
  miimon: number;
  lacp_rate?: string;
  xmit_hash_policy?: string;
  primary?: string;
  mtu?: number;
  up: boolean;
}

export interface VlanPersistArgs {
  name: string;
  parent: string;
  id: number;
  state: 'present' | 'absent';
  mtu?: number;
  up: boolean;
}

const files = (facts: Facts) => facts.persisted ?? {};
export const vlanDropIn = (parent: string, vlan: string) => `${networkdPaths.dropIns(parent)}/vlan-${vlan}.conf`;

/** A device's own .network, unless ensure_port's (Bridge=) is there: then that one is the device's and stays. */
function deviceNetwork(facts: Facts, dev: string, up: boolean, what: string): FileWant[] {
  const path = networkdPaths.network(dev);
  const current = files(facts)[path];
  if (current !== undefined && iniValue(current, 'Bridge') !== undefined) return [];
  return [
    {
      path,
      content: lines(
        `# ${HEADER}`,
        `# ${what}; its VLANs (ensure_vlan) and addresses (ensure_ip) are drop-ins in 10-kvmnet-${dev}.network.d/`,
        '[Match]',
        `Name=${dev}`,
        '',
        !up && '[Link]',
        !up && 'ActivationPolicy=down',
        !up && '',
        '[Network]',
        'ConfigureWithoutCarrier=yes',
      ),
    },
  ];
}

/** kvmnet's networkd member files of BOND (Bond=BOND), by member name. */
function networkdMembers(all: Record<string, string>, bond: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [path, content] of Object.entries(all)) {
    const c = classifyPath(path);
    if (c?.format === 'networkd' && c.role === 'network' && iniValue(content, 'Bond') === bond) out[iniValue(content, 'Name') ?? c.name] = path;
  }
  return out;
}

export function bondFiles(kind: PersistFormat, args: BondPersistArgs, facts: Facts): FileWant[] {
  const { name } = args;
  const all = files(facts);
  const running = Object.values(facts.links)
    .filter((l) => l.master === name)
    .map((l) => l.name)
    .sort();
  if (kind === 'networkd') {
    const existing = networkdMembers(all, name);
    if (args.state === 'absent') {
      // Deleting the bond deletes its VLANs and releases its members: so do their files.
      const dropIns = Object.keys(all).filter((p) => p.startsWith(`${networkdPaths.dropIns(name)}/`));
      const vlans = dropIns
        .flatMap((p) => iniValues(all[p]!, 'VLAN'))
        .flatMap((v) => [networkdPaths.netdev(v), networkdPaths.network(v)])
        .filter((p) => all[p] !== undefined);
      return [networkdPaths.netdev(name), networkdPaths.network(name), ...dropIns, ...vlans, ...Object.values(existing)].map((path) => ({
        path,
        content: null,
      }));
    }
    const mode = args.mode ?? facts.links[name]?.bond?.mode ?? 'balance-rr';
    const netdev = lines(
      `# ${HEADER}`,
      `# ensure_bond ${name}`,
      '[NetDev]',
      `Name=${name}`,
      'Kind=bond',
      args.mtu !== undefined && `MTUBytes=${args.mtu}`,
      '',
      '[Bond]',
      `Mode=${mode}`,
      `MIIMonitorSec=${args.miimon}ms`,
      args.lacp_rate !== undefined && mode === '802.3ad' && `LACPTransmitRate=${args.lacp_rate}`,
      args.xmit_hash_policy !== undefined && `TransmitHashPolicy=${args.xmit_hash_policy}`,
    );
    const wants: FileWant[] = [{ path: networkdPaths.netdev(name), content: netdev }, ...deviceNetwork(facts, name, args.up, `ensure_bond ${name}`)];
    const members = args.members ?? (Object.keys(existing).length ? Object.keys(existing) : running);
    for (const m of members) {
      wants.push({
        path: networkdPaths.network(m),
        content: lines(
          `# ${HEADER}`,
          `# ensure_bond ${name}: member ${m}`,
          '[Match]',
          `Name=${m}`,
          '',
          '[Network]',
          `Bond=${name}`,
          args.primary === m && 'PrimarySlave=yes',
        ),
      });
    }
    for (const [m, path] of Object.entries(existing)) if (!members.includes(m)) wants.push({ path, content: null });
    return wants;
  }
  const main = ifupdownPaths.main(name);
  if (args.state === 'absent') return [main, ...Object.keys(all).filter((p) => p.startsWith(`${main}__`))].map((path) => ({ path, content: null }));
  const current = all[main];
  const slaves =
    args.members ??
    (current !== undefined
      ? ifupdownOption(current, 'bond-slaves')
          ?.split(/\s+/)
          .filter((s) => s && s !== 'none')
      : undefined) ??
    running;
  const mode = args.mode ?? facts.links[name]?.bond?.mode ?? 'balance-rr';
  return [
    {
      path: main,
      content: lines(
        `# ${HEADER}`,
        `# ensure_bond ${name} (needs the ifenslave package); addresses (ensure_ip) are in their own files`,
        `auto ${name}`,
        `iface ${name} inet manual`,
        `    bond-slaves ${slaves.length ? slaves.join(' ') : 'none'}`,
        `    bond-mode ${mode}`,
        `    bond-miimon ${args.miimon}`,
        args.lacp_rate !== undefined && mode === '802.3ad' && `    bond-lacp-rate ${args.lacp_rate}`,
        args.xmit_hash_policy !== undefined && `    bond-xmit-hash-policy ${args.xmit_hash_policy}`,
        args.primary !== undefined && `    bond-primary ${args.primary}`,
        args.mtu !== undefined && `    mtu ${args.mtu}`,
        !args.up && `    post-up ip link set dev ${name} down`,
      ),
    },
  ];
}

function ifupdownOption(content: string, key: string): string | undefined {
  for (const s of ifupdownStanzas(content)) for (const [k, v] of s.options) if (k === key) return v;
  return undefined;
}

export function vlanFiles(kind: PersistFormat, args: VlanPersistArgs, facts: Facts, host: string): FileWant[] {
  const { name, parent, id } = args;
  const all = files(facts);
  if (kind === 'networkd') {
    if (args.state === 'absent') {
      const dropIns = Object.keys(all).filter((p) => p.startsWith(`${networkdPaths.dropIns(name)}/`));
      const parents = Object.keys(all).filter((p) => p.endsWith(`/vlan-${name}.conf`));
      return [networkdPaths.netdev(name), networkdPaths.network(name), ...dropIns, ...parents].map((path) => ({ path, content: null }));
    }
    const wants: FileWant[] = [
      {
        path: networkdPaths.netdev(name),
        content: lines(
          `# ${HEADER}`,
          `# ensure_vlan ${name}`,
          '[NetDev]',
          `Name=${name}`,
          'Kind=vlan',
          args.mtu !== undefined && `MTUBytes=${args.mtu}`,
          '',
          '[VLAN]',
          `Id=${id}`,
        ),
      },
      ...deviceNetwork(facts, name, args.up, `ensure_vlan ${name}`),
      { path: vlanDropIn(parent, name), content: lines(`# ${HEADER}`, `# ensure_vlan ${name}: VLAN ${id} on ${parent}`, '[Network]', `VLAN=${name}`) },
    ];
    // networkd reads the VLAN= drop-in only with a .network of the parent to attach it to.
    if (all[networkdPaths.network(parent)] === undefined) {
      const kindOf = facts.links[parent]?.kind;
      if (kindOf === 'bond' || kindOf === 'bridge') {
        throw new RefusedError(
          `persist: networkd creates a VLAN from its parent's .network, and ${networkdPaths.network(parent)} does not exist on ${host}: persist the ${kindOf} first (ensure_${kindOf} ${parent} with persist: networkd, before this task)`,
        );
      }
      wants.push(...deviceNetwork(facts, parent, true, `ensure_vlan ${name}: the parent ${parent}`));
    }
    // A VLAN moved to another parent leaves the old parent's drop-in.
    for (const p of Object.keys(all)) if (p.endsWith(`/vlan-${name}.conf`) && p !== vlanDropIn(parent, name)) wants.push({ path: p, content: null });
    return wants;
  }
  const main = ifupdownPaths.main(name);
  if (args.state === 'absent') return [main, ...Object.keys(all).filter((p) => p.startsWith(`${main}__`))].map((path) => ({ path, content: null }));
  const dotted = name === `${parent}.${id}`;
  return [
    {
      path: main,
      content: lines(
        `# ${HEADER}`,
        `# ensure_vlan ${name}: VLAN ${id} on ${parent}${dotted ? ' (needs the vlan package)' : ''}; addresses (ensure_ip) are in their own files`,
        `auto ${name}`,
        `iface ${name} inet manual`,
        dotted && `    vlan-raw-device ${parent}`,
        !dotted && `    pre-up ip link add link ${parent} name ${name} type vlan id ${id}`,
        !dotted && `    post-down ip link del ${name}`,
        args.mtu !== undefined && `    mtu ${args.mtu}`,
        !args.up && `    post-up ip link set dev ${name} down`,
      ),
    },
  ];
}

interface PersistedLink {
  name: string;
  format: PersistFormat;
  kind: 'bond' | 'vlan';
  mode?: string;
  members?: string[];
  id?: number;
  parent?: string;
}

/** The bonds and VLANs kvmnet's files define. */
export function persistedLinks(all: Record<string, string>): PersistedLink[] {
  const out: PersistedLink[] = [];
  for (const [path, content] of Object.entries(all).sort(([a], [b]) => a.localeCompare(b))) {
    const c = classifyPath(path);
    if (c?.format === 'networkd' && c.role === 'netdev') {
      const name = iniValue(content, 'Name') ?? c.name;
      const kind = iniValue(content, 'Kind');
      if (kind === 'bond')
        out.push({ name, format: 'networkd', kind, mode: iniValue(content, 'Mode'), members: Object.keys(networkdMembers(all, name)).sort() });
      if (kind === 'vlan') {
        const parentFile = Object.keys(all).find((p) => p.endsWith(`/vlan-${name}.conf`));
        const parent = parentFile
          ? classifyPath(parentFile)?.format === 'networkd'
            ? (classifyPath(parentFile) as { name: string }).name
            : undefined
          : undefined;
        out.push({ name, format: 'networkd', kind, id: Number(iniValue(content, 'Id')), parent });
      }
    } else if (c?.format === 'ifupdown' && c.role === 'main') {
      for (const s of ifupdownStanzas(content)) {
        const opt = (k: string) => s.options.find(([key]) => key === k)?.[1];
        if (opt('bond-mode') !== undefined)
          out.push({
            name: s.iface,
            format: 'ifupdown',
            kind: 'bond',
            mode: opt('bond-mode'),
            members: (opt('bond-slaves') ?? '')
              .split(/\s+/)
              .filter((m) => m && m !== 'none')
              .sort(),
          });
        const raw = opt('vlan-raw-device');
        const pre = /ip link add link (\S+) name \S+ type vlan id (\d+)/.exec(opt('pre-up') ?? '');
        if (raw !== undefined) out.push({ name: s.iface, format: 'ifupdown', kind: 'vlan', parent: raw, id: Number(s.iface.slice(raw.length + 1)) });
        else if (pre) out.push({ name: s.iface, format: 'ifupdown', kind: 'vlan', parent: pre[1], id: Number(pre[2]) });
      }
    }
  }
  return out;
}

function linkDrift(kind: 'bond' | 'vlan', facts: Facts, all: Record<string, string>): string[] {
  const persisted = persistedLinks(all).filter((l) => l.kind === kind);
  const out: string[] = [];
  for (const p of persisted) {
    const link = facts.links[p.name];
    if (!link) out.push(`${p.name}: persisted (${p.format}) as a ${kind} but not present at runtime`);
    else if (link.kind !== kind) out.push(`${p.name}: persisted (${p.format}) as a ${kind}, but ${link.kind ? `a ${link.kind}` : 'not a ' + kind} at runtime`);
    else if (kind === 'bond') {
      if (p.mode && link.bond && p.mode !== link.bond.mode) out.push(`${p.name}: mode ${p.mode} persisted (${p.format}), ${link.bond.mode} at runtime`);
      const running = Object.values(facts.links)
        .filter((l) => l.master === p.name)
        .map((l) => l.name)
        .sort();
      if (p.members && p.members.join(',') !== running.join(','))
        out.push(`${p.name}: members ${p.members.join(', ') || 'none'} persisted (${p.format}), ${running.join(', ') || 'none'} at runtime`);
    } else {
      if (p.id !== undefined && link.vlan && p.id !== link.vlan.id) out.push(`${p.name}: VLAN id ${p.id} persisted (${p.format}), ${link.vlan.id} at runtime`);
      if (p.parent && link.lower && p.parent !== link.lower) out.push(`${p.name}: parent ${p.parent} persisted (${p.format}), ${link.lower} at runtime`);
    }
  }
  const names = new Set(persisted.map((p) => p.name));
  for (const l of Object.values(facts.links))
    if (l.kind === kind && !names.has(l.name)) out.push(`${l.name}: ${kind === 'bond' ? 'bond' : 'VLAN'} at runtime but not persisted by kvmnet`);
  return out;
}

export const bondDrift = (facts: Facts, all: Record<string, string>) => linkDrift('bond', facts, all);
export const vlanDrift = (facts: Facts, all: Record<string, string>) => linkDrift('vlan', facts, all);
