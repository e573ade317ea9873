// ensure_port_forward: a service of a guest on a libvirt NAT network reachable from outside the
// host (libvirt's "Forwarding Incoming Connections", made first-class). See port-forward-rules.ts
// for what is installed and why; here: arguments, the plan, and the facts view.
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseCidr } from '../config/validators.js';
import { LibvirtUnavailableError, RefusedError } from '../errors.js';
import type { Facts, PortForwardFacts } from '../model/facts.js';
import { noop, type Change, type Plan } from '../model/plan.js';
import type { Op } from '../ops/types.js';
import { ip, mac, networkName, presence } from './common-args.js';
import type { ArgProblem, FactsSection, PlannedTaskModule } from './contract.js';
import { dhcpFacts, dhcpState, inSubnet, ipv4Subnet } from './dhcp-hosts.js';
import {
  DAEMON_HOOK,
  describeForward,
  forwardRules,
  forwardTag,
  HOOK_SCRIPT,
  installedForwards,
  NETWORK_HOOK,
  portForwardFacts,
  rulesFile,
  rulesFileContent,
  rulesWithTag,
  type ForwardSpec,
} from './port-forward-rules.js';
import { shown } from '../text/shown.js';

const port = z.number().int().min(1).max(65535);
const portRange = z.string().regex(/^\d{1,5}-\d{1,5}$/, "expected a port (2222) or a range ('8000-8010')");

const schema = z.strictObject({
  network: networkName.meta({ description: 'a libvirt network with forward mode nat' }),
  guest_ip: ip.optional().meta({ description: "the guest's address (or guest_mac)" }),
  guest_mac: mac.optional().meta({ description: "the guest's MAC, looked up in the network's DHCP reservations" }),
  proto: z.enum(['tcp', 'udp']).default('tcp'),
  host_port: z.union([port, portRange]).meta({ description: "port on the host, or a range '8000-8010'" }),
  guest_port: port.optional().meta({ description: 'port on the guest (default: the host port; a range keeps its ports)' }),
  listen: ip.optional().meta({ description: 'only connections to this host address (default: any address of the host)' }),
  source: z.string().optional().meta({ description: 'only connections from this IPv4 network (CIDR)' }),
  state: presence,
});

export type EnsurePortForwardArgs = z.output<typeof schema>;

export const ensurePortForward: PlannedTaskModule<'ensure_port_forward', typeof schema> = {
  kind: 'planned',
  type: 'ensure_port_forward',
  schema,
  defaultName: (args) =>
    `ensure_port_forward ${shown(args.proto ?? 'tcp')}/${String(args.host_port)} → ${String(args.guest_ip ?? args.guest_mac)}:${String(args.guest_port ?? args.host_port)} in ${String(args.network)}`,
  argProblems,
  // The guest's address may come from its DHCP reservation.
  facts: [portForwardFacts, dhcpFacts],
  plan: planForward,
  factsView: { json: (f) => ({ port_forwards: forwardsView(f) }), sections: forwardSections },
};

export function hostPorts(hp: number | string): [number, number] {
  if (typeof hp === 'number') return [hp, hp];
  const [a, b] = hp.split('-').map(Number) as [number, number];
  return [a, b];
}

function argProblems(args: Record<string, unknown>): ArgProblem[] {
  const problems: ArgProblem[] = [];
  if ((args.guest_ip === undefined) === (args.guest_mac === undefined))
    problems.push({ field: 'guest_ip', message: 'give exactly one of guest_ip and guest_mac' });
  if (typeof args.guest_ip === 'string' && isIP(args.guest_ip) === 6)
    problems.push({ field: 'guest_ip', message: 'only IPv4 guests are supported (libvirt NATs IPv4 only)' });
  if (typeof args.listen === 'string' && isIP(args.listen) === 6) problems.push({ field: 'listen', message: 'expected an IPv4 address of the host' });
  if (typeof args.source === 'string') {
    const c = parseCidr(args.source.includes('/') ? args.source : `${args.source}/32`);
    if (!c || c.family !== 4) problems.push({ field: 'source', message: 'expected an IPv4 network like 203.0.113.0/24' });
  }
  if (typeof args.host_port === 'string' && /^\d+-\d+$/.test(args.host_port)) {
    const [a, b] = hostPorts(args.host_port);
    if (a < 1 || b > 65535 || a > b) problems.push({ field: 'host_port', message: 'expected a range low-high within 1–65535' });
    // iptables' DNAT to a port range picks any port of it, it does not map one to one: a range keeps its ports.
    else if (typeof args.guest_port === 'number' && args.guest_port !== a)
      problems.push({ field: 'guest_port', message: `a range of host ports goes to the same ports on the guest: leave guest_port out (or give ${a})` });
  }
  return problems;
}

/** `10.1.2.3/8` → `10.0.0.0/8`, as iptables prints it. */
function normaliseSource(source: string): string {
  const c = parseCidr(source.includes('/') ? source : `${source}/32`)!;
  const n = c.address.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const size = 2 ** (32 - c.prefix);
  const base = Math.floor(n / size) * size;
  return `${[24, 16, 8, 0].map((s) => Math.floor(base / 2 ** s) % 256).join('.')}/${c.prefix}`;
}

const overlaps = (a: [number, number], b: [number, number]) => a[0] <= b[1] && b[0] <= a[1];

function planForward(args: EnsurePortForwardArgs, facts: Facts, host: string): Plan {
  if (!facts.libvirt.available) throw new LibvirtUnavailableError(`libvirtd is not running on ${host}: ${facts.libvirt.reason}`);
  const pf = facts.portForwards;
  if (!pf) throw new RefusedError(`the facts of ${host} say nothing about its firewall (no iptables-save?)`);
  const id = { network: args.network, proto: args.proto, listen: args.listen, hostPorts: hostPorts(args.host_port) };
  const path = rulesFile(id);
  const installed = installedForwards(pf);
  const data: Record<string, unknown> = { network: args.network, rules_file: path };

  if (args.state === 'absent') {
    const current = pf.files[path];
    const spec = installed.find((i) => i.path === path)?.spec;
    const tag = forwardTag(id);
    const live = rulesWithTag(facts, tag);
    if (current === undefined && live.length === 0) return noop(`no kvmnet port forward ${args.proto}/${args.host_port} in ${args.network}`, data);
    const lastOne = installed.every((i) => i.path === path);
    // The last forward gone: its directory and the hooks go too (the apply removes kvmnet's chains).
    const ops: Op[] = [
      { op: 'file.remove', path, rmdir: lastOne },
      { op: 'firewall.apply', backend: firewallBackend(pf) },
    ];
    if (lastOne) ops.push({ op: 'file.remove', path: NETWORK_HOOK }, { op: 'file.remove', path: DAEMON_HOOK });
    const change: Change = {
      summary: `remove port forward ${spec ? describeForward(spec) : tag}${lastOne ? ' and kvmnet’s libvirt hooks (no forward left)' : ''}`,
      ops,
    };
    return {
      changes: [change],
      data,
      diff: { before: [...(current ? [current.trimEnd()] : []), ...live.map((r) => `live: ${r}`)].join('\n'), after: '(no forward)' },
    };
  }

  const net = facts.libvirt.networks[args.network];
  if (!net) throw new RefusedError(`network ${args.network} is not defined on ${host}`);
  if (net.forwardMode !== 'nat')
    throw new RefusedError(
      `network ${args.network} on ${host} has forward mode '${net.forwardMode ?? 'none'}', not nat: its guests are not behind the host's NAT`,
    );
  if (!net.bridge) throw new RefusedError(`network ${args.network} on ${host} has no bridge name yet (start it, or give it a bridge)`);
  const backend = pf.firewall.backend;
  if (backend === 'unknown') {
    throw new RefusedError(
      `cannot tell which firewall backend libvirt on ${host} uses (${pf.firewall.why}); start a NAT network first, or set firewall_backend in /etc/libvirt/network.conf`,
    );
  }
  if (backend === 'nftables' && pf.nft === false) {
    throw new RefusedError(
      `libvirt on ${host} uses the nftables firewall backend (${pf.firewall.why}) but nft is not installed there (apt-get install nftables)`,
    );
  }
  // DNAT of the port this SSH session uses would send every new SSH connection to the guest.
  const session = facts.session;
  if (
    session &&
    args.proto === 'tcp' &&
    session.serverPort >= id.hostPorts[0] &&
    session.serverPort <= id.hostPorts[1] &&
    (args.listen === undefined || args.listen === session.serverAddress)
  ) {
    throw new RefusedError(
      `forwarding tcp port ${session.serverPort} of ${session.serverAddress} would send new SSH connections to ${host} (like kvmnet's next one) to the guest; use another host port, or a listen address other than ${session.serverAddress}`,
    );
  }
  let guestIp = args.guest_ip;
  if (guestIp === undefined) {
    const st = dhcpState(facts, args.network);
    const m = args.guest_mac!.toLowerCase();
    const entry = st?.config.find((h) => h.mac === m) ?? st?.live?.find((h) => h.mac === m);
    if (!entry)
      throw new RefusedError(
        `network ${args.network} on ${host} has no DHCP reservation for ${m}: reserve an address first (ensure_dhcp_host) or give guest_ip`,
      );
    guestIp = entry.ip;
  }
  const subnet = ipv4Subnet(net.xml);
  if (subnet && !inSubnet(guestIp, subnet))
    throw new RefusedError(`guest ${guestIp} is outside network ${args.network}'s subnet ${subnet.address}/${subnet.prefix}`);
  const spec: ForwardSpec = {
    network: args.network,
    bridge: net.bridge,
    proto: args.proto,
    listen: args.listen,
    hostPorts: id.hostPorts,
    guestIp,
    guestPort: args.guest_port ?? (id.hostPorts[0] === id.hostPorts[1] ? id.hostPorts[0] : undefined),
    source: args.source ? normaliseSource(args.source) : undefined,
  };
  data.forward = describeForward(spec);
  for (const other of installed) {
    if (other.path === path) continue;
    const o = other.spec;
    const listenOverlap = o.listen === undefined || spec.listen === undefined || o.listen === spec.listen;
    if (o.proto === spec.proto && listenOverlap && overlaps(o.hostPorts, spec.hostPorts)) {
      throw new RefusedError(
        `${spec.proto} port ${args.host_port} on ${host} is already forwarded by kvmnet: ${describeForward(o)} (${other.path}); remove that forward first`,
      );
    }
  }

  const wantFile = rulesFileContent(spec, backend);
  const wantRules = forwardRules(spec, backend);
  const tag = forwardTag(spec);
  const liveRules = rulesWithTag(facts, tag);
  const changes: Change[] = [];
  const hooksOk = pf.files[NETWORK_HOOK] === HOOK_SCRIPT && pf.files[DAEMON_HOOK] === HOOK_SCRIPT;
  if (!hooksOk) changes.push(installHooks(pf));
  const fileOk = pf.files[path] === wantFile;
  const rulesOk = sameRules(liveRules, wantRules) && pf.jumpsFirst;
  if (!fileOk || !rulesOk) {
    const notFirst = backend === 'nftables' ? ', kvmnet’s accepts are not above libvirt’s jumps' : ', kvmnet’s chains are not first';
    const why = fileOk
      ? ` (re-applied: ${liveRules.length ? 'its rules differ from the firewall' : 'its rules are missing from the firewall'}${pf.jumpsFirst ? '' : notFirst})`
      : '';
    changes.push({
      summary: `${pf.files[path] === undefined ? 'forward' : 'update forward'} ${describeForward(spec)}${why}`,
      ops: [
        { op: 'file.write', path, content: wantFile },
        { op: 'firewall.apply', backend },
      ],
    });
  }
  if (changes.length === 0) return noop(`${describeForward(spec)} is in place (rules, rules file and libvirt hooks)`, data);
  const before = [
    ...(pf.files[path] ? [pf.files[path].trimEnd()] : ['(no rules file)']),
    ...(fileOk || liveRules.length ? liveRules.map((r) => `live: ${r}`) : []),
    ...(hooksOk ? [] : [`hooks: ${[NETWORK_HOOK, DAEMON_HOOK].filter((h) => pf.files[h] === HOOK_SCRIPT).join(', ') || '(none)'}`]),
  ];
  const after = [wantFile.trimEnd(), ...(fileOk ? wantRules.map((r) => `live: ${r}`) : []), ...(hooksOk ? [] : [`hooks: ${NETWORK_HOOK}, ${DAEMON_HOOK}`])];
  return { changes, data, diff: { before: before.join('\n'), after: after.join('\n') } };
}

const sameRules = (a: string[], b: string[]) => a.length === b.length && [...a].sort().every((r, i) => r === [...b].sort()[i]);

function installHooks(pf: PortForwardFacts): Change {
  return {
    summary: `install kvmnet's libvirt network and daemon hooks (re-apply port forwards when libvirt re-creates its rules; libvirtd uses new hooks from its next start)`,
    ops: [NETWORK_HOOK, DAEMON_HOOK]
      .filter((hook) => pf.files[hook] !== HOOK_SCRIPT)
      .map((path): Op => ({ op: 'file.write', path, content: HOOK_SCRIPT, mode: '755' })),
  };
}

/** The backend the rules files were written for (a removal on a host whose backend is unknown re-applies with the files' own). */
const firewallBackend = (pf: PortForwardFacts): 'iptables' | 'nftables' => (pf.firewall.backend === 'nftables' ? 'nftables' : 'iptables');

interface ForwardRow {
  network: string;
  proto: string;
  listen: string;
  host_ports: string;
  guest: string;
  guest_name: string | null;
  source: string;
  /** Both rules of the forward are in the firewall, and kvmnet's chains are jumped to first. */
  active: boolean;
}

function forwardsView(f: Facts): ForwardRow[] | null {
  if (!f.portForwards) return null;
  const pf = f.portForwards;
  return installedForwards(pf).map(({ spec }) => {
    const reservation = f.dhcp?.[spec.network]?.config.find((h) => h.ip === spec.guestIp);
    const domain = reservation?.mac && f.libvirt.available ? f.libvirt.guests.find((g) => g.mac.toLowerCase() === reservation.mac) : undefined;
    return {
      network: spec.network,
      proto: spec.proto,
      listen: spec.listen ?? '*',
      host_ports: spec.hostPorts[0] === spec.hostPorts[1] ? String(spec.hostPorts[0]) : spec.hostPorts.join('-'),
      guest: spec.guestPort === undefined ? spec.guestIp : `${spec.guestIp}:${spec.guestPort}`,
      guest_name: domain?.guest ?? reservation?.name ?? null,
      source: spec.source ?? 'any',
      active:
        pf.jumpsFirst &&
        (pf.firewall.backend === 'iptables' || pf.firewall.backend === 'nftables') &&
        sameRules(rulesWithTag(f, forwardTag(spec)), forwardRules(spec, pf.firewall.backend)),
    };
  });
}

function forwardSections(f: Facts): FactsSection[] {
  const rows = forwardsView(f);
  if (!rows) return [];
  const pf = f.portForwards!;
  return [
    {
      title: `port forwards (libvirt firewall: ${pf.firewall.backend}, ${pf.firewall.why})`,
      columns: ['network', 'proto', 'host', 'guest', 'name', 'source', 'in firewall'],
      rows: rows.map((r) => [
        r.network,
        r.proto,
        `${r.listen}:${r.host_ports}`,
        r.guest,
        r.guest_name ?? '-',
        r.source,
        r.active ? 'yes' : 'NO (run kvmnet again)',
      ]),
    },
  ];
}
