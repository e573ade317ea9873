// ensure_ip: an address on a device (and with `exclusive`, no other global address of its
// family there); persisted as a networkd drop-in or an ifupdown stanza per address.
import { z } from 'zod';
import { parseCidr } from '../config/validators.js';
import { RefusedError } from '../errors.js';
import type { AddrFact, Facts } from '../model/facts.js';
import { canonicalAddress, sameAddress } from '../model/ip-address.js';
import { noop, type Change, type Plan } from '../model/plan.js';
import type { PersistFormat } from '../model/persist-kinds.js';
import { classifyPath, ifupdownPaths, networkdPaths } from '../persist/paths.js';
import { iniValues, ifupdownAddress, ifupdownPorts, ifupdownStanzas, networkdAddress } from '../persist/render.js';
import { cidr, interfaceName, persist, presence } from './common-args.js';
import type { FileWant } from '../persist/persistence.js';
import type { PlannedTaskModule } from './contract.js';

const schema = z.strictObject({
  dev: interfaceName,
  address: cidr,
  state: presence,
  exclusive: z.boolean().default(false).meta({ description: 'remove the other global addresses of this family from dev' }),
  persist,
});

export type EnsureIpArgs = z.output<typeof schema>;

export const ensureIp: PlannedTaskModule<'ensure_ip', typeof schema> = {
  kind: 'planned',
  type: 'ensure_ip',
  schema,
  defaultName: (args) => `ensure_ip ${String(args.address)} on ${String(args.dev)}`,
  plan: planIp,
  persistence: { files: addressFiles, drift: addressDrift },
  factsView: {
    json: (f) => ({ addresses: globalAddresses(f) }),
    sections: (f) => [{ title: 'addresses', columns: ['dev', 'address'], rows: globalAddresses(f).map((a) => [a.dev, a.address]), empty: '(none)' }],
  },
};

const globalAddresses = (f: Facts) => f.addrs.filter((a) => a.scope === 'global').map((a) => ({ dev: a.dev, address: `${a.address}/${a.prefix}` }));

const addrText = (a: { address: string; prefix: number }) => `${a.address}/${a.prefix}`;

function planIp(args: EnsureIpArgs, facts: Facts, host: string): Plan {
  const want = parseCidr(args.address)!;
  const { dev } = args;
  const onDev = facts.addrs.filter((a) => a.dev === dev && a.family === want.family);
  const same = onDev.find((a) => sameAddress(a.address, want.address));
  const changes: Change[] = [];
  const removeAddr = (a: AddrFact, why: string): Change => {
    refuseSessionAddress(a, facts, host);
    return {
      summary: `remove ${addrText(a)} from ${dev}${why}`,
      ops: [{ op: 'addr.del', dev, address: a.address, prefix: a.prefix, family: a.family }],
    };
  };

  if (args.state === 'absent') {
    if (!same) return noop(`${args.address} is not on ${dev}`);
    changes.push(removeAddr(same, ''));
    return { changes, devices: [dev] };
  }

  if (!facts.links[dev]) throw new RefusedError(`device ${dev} does not exist on ${host}; create it first (e.g. ensure_bridge)`);
  if (same && same.prefix !== want.prefix) changes.push(removeAddr(same, ` (prefix /${same.prefix} → /${want.prefix})`));
  if (!same || same.prefix !== want.prefix) {
    changes.push({
      summary: `add ${addrText(want)} to ${dev}`,
      ops: [{ op: 'addr.add', dev, address: want.address, prefix: want.prefix, family: want.family }],
    });
  }
  if (args.exclusive) {
    for (const other of onDev) {
      if (other === same || other.scope !== 'global') continue;
      changes.push(removeAddr(other, ' (exclusive)'));
    }
  }
  if (changes.length === 0) return noop(`${args.address} is already on ${dev}${args.exclusive ? ', and no other global address' : ''}`);
  return { changes, devices: [dev] };
}

function refuseSessionAddress(a: AddrFact, facts: Facts, host: string): void {
  if (facts.session && sameAddress(facts.session.serverAddress, a.address)) {
    throw new RefusedError(`${addrText(a)} on ${a.dev} is the address this SSH session uses on ${host}; removing it would cut the host off`);
  }
}

const persisted = (facts: Facts) => facts.persisted ?? {};

function addressFiles(kind: PersistFormat, args: EnsureIpArgs, facts: Facts, host: string): FileWant[] {
  const want = parseCidr(args.address)!;
  const address = canonicalAddress(want.address);
  const cidrText = `${address}/${want.prefix}`;
  const { dev } = args;
  const path = kind === 'networkd' ? networkdPaths.address(dev, address) : ifupdownPaths.address(dev, address);
  if (args.state === 'absent') return [{ path, content: null }];

  const main = kind === 'networkd' ? networkdPaths.network(dev) : ifupdownPaths.main(dev);
  if (persisted(facts)[main] === undefined) {
    const why =
      kind === 'networkd'
        ? `networkd applies only the first .network file that matches an interface, so kvmnet adds addresses only to the .network files it writes itself (for bridges and ports)`
        : `kvmnet adds address stanzas only to interfaces whose stanza it writes itself (bridges)`;
    throw new RefusedError(
      `persist: ${kind}: ${main} does not exist on ${host}; ${why}. Persist ${dev} first (ensure_bridge with persist: ${kind}, before this task), or set persist: none here`,
    );
  }
  const wants: FileWant[] = [{ path, content: kind === 'networkd' ? networkdAddress(dev, cidrText) : ifupdownAddress(dev, want.family, cidrText) }];
  if (args.exclusive) {
    // As at runtime: the other addresses of this family on dev go.
    for (const [other, content] of Object.entries(persisted(facts))) {
      if (other === path) continue;
      const theirs =
        kind === 'networkd'
          ? other.startsWith(`${networkdPaths.dropIns(dev)}/`)
            ? iniValues(content, 'Address')
            : []
          : other.startsWith(`${main}__`)
            ? ifupdownAddresses(content)
            : [];
      if (theirs.some((a) => parseCidr(a)?.family === want.family)) wants.push({ path: other, content: null });
    }
  }
  return wants;
}

function ifupdownAddresses(content: string): string[] {
  return ifupdownStanzas(content).flatMap((s) => s.options.filter(([k]) => k === 'address').map(([, v]) => v));
}

/** The addresses kvmnet's files give, and the devices whose own file kvmnet writes. */
function persistedAddresses(files: Record<string, string>): { addresses: Array<{ dev: string; cidr: string; format: PersistFormat }>; devs: Set<string> } {
  const addresses: Array<{ dev: string; cidr: string; format: PersistFormat }> = [];
  const devs = new Set<string>();
  const add = (dev: string, text: string, format: PersistFormat) => {
    const c = parseCidr(text);
    if (c) addresses.push({ dev, cidr: `${canonicalAddress(c.address)}/${c.prefix}`, format });
  };
  for (const [path, content] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
    const c = classifyPath(path);
    if (c?.format === 'networkd') {
      if (c.role === 'netdev' || c.role === 'network') devs.add(c.name);
      // A drop-in counts only with its .network file: without it networkd never reads it.
      else if (files[path.replace(/\.d\/[^/]+$/, '')] !== undefined) for (const a of iniValues(content, 'Address')) add(c.name, a, 'networkd');
    } else if (c?.format === 'ifupdown') {
      for (const s of ifupdownStanzas(content)) {
        // Bridges and their ports (listed in the bridge's stanza) are devices kvmnet persists.
        if (c.role === 'main') for (const d of [s.iface, ...ifupdownPorts(content)]) devs.add(d);
        if (s.method === 'static') for (const [k, v] of s.options) if (k === 'address') add(s.iface, v, 'ifupdown');
      }
    }
  }
  return { addresses, devs };
}

function addressDrift(facts: Facts, files: Record<string, string>): string[] {
  const { addresses, devs } = persistedAddresses(files);
  const out: string[] = [];
  for (const a of addresses) {
    const here = facts.addrs.some((x) => x.dev === a.dev && `${canonicalAddress(x.address)}/${x.prefix}` === a.cidr);
    if (!here) out.push(`${a.dev}: address ${a.cidr} persisted (${a.format}) but not present at runtime`);
  }
  const known = new Set(addresses.map((a) => `${a.dev} ${a.cidr}`));
  for (const x of facts.addrs) {
    const cidrText = `${canonicalAddress(x.address)}/${x.prefix}`;
    if (x.scope !== 'global' || !devs.has(x.dev) || known.has(`${x.dev} ${cidrText}`)) continue;
    out.push(`${x.dev}: address ${cidrText} at runtime but not persisted`);
  }
  return out;
}
