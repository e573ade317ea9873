// What ensure_port_forward puts on a host, and how it reads it back (pure).
//
// kvmnet's forwards live in kvmnet's OWN iptables chains, nat KVMNET_DNAT (jumped to first from
// PREROUTING) and filter KVMNET_FWD (jumped to first from FORWARD, above libvirt's LIBVIRT_FWI,
// whose REJECT would stop the DNATed connection), every rule tagged with a comment naming the
// forward. libvirt never touches these chains; it does re-create its own rules, and then its
// jumps can land above kvmnet's (measured with libvirt 9: at libvirtd start, after a firewall
// flush, it inserts its FORWARD jumps at the top and calls no network hook). So one script,
// installed as a network hook AND a daemon hook, rebuilds kvmnet's chains from one rules file
// per forward and puts the jumps back on top. libvirtd finds hook scripts when it starts: until
// its next start, the rules kvmnet applied itself stay (a network restart leaves kvmnet's
// chains and jumps alone).
import type { Facts, FirewallBackendFact, PortForwardFacts } from '../model/facts.js';
import type { FactsFragment } from './contract.js';

export const HOOKS_DIR = '/etc/libvirt/hooks';
export const RULES_DIR = `${HOOKS_DIR}/kvmnet-port-forwards`;
export const NETWORK_HOOK = `${HOOKS_DIR}/network.d/kvmnet-port-forwards`;
export const DAEMON_HOOK = `${HOOKS_DIR}/daemon.d/kvmnet-port-forwards`;
export const DNAT_CHAIN = 'KVMNET_DNAT';
export const FWD_CHAIN = 'KVMNET_FWD';

/** The hook (network.d and daemon.d) and kvmnet's own way to apply the rules files (`sh -s - - apply`). */
export const HOOK_SCRIPT = `#!/bin/sh
# Written by kvmnet (ensure_port_forward); kvmnet overwrites changes.
# libvirt runs it on network events (network.d: $1 network, $2 started|stopped|...) and daemon
# events (daemon.d: $2 start|reload|shutdown). It rebuilds kvmnet's chains (nat ${DNAT_CHAIN},
# filter ${FWD_CHAIN}) from ${RULES_DIR}/*.rules and jumps to them first.
# It never calls libvirt (libvirtd waits for its hooks: calling back could deadlock) and exits 0
# (a failing network hook would stop the network from starting).
PATH=/usr/sbin:/usr/bin:/sbin:/bin
D=${RULES_DIR}
first() { iptables -w -t "$1" -S "$2" 2>/dev/null | sed -n 2p; }
jump() {
  [ "$(first "$1" "$2")" = "-A $2 -j $3" ] && return 0
  while iptables -w -t "$1" -D "$2" -j "$3" 2>/dev/null; do :; done
  iptables -w -t "$1" -I "$2" 1 -j "$3"
}
unjump() {
  while iptables -w -t "$1" -D "$2" -j "$3" 2>/dev/null; do :; done
  iptables -w -t "$1" -F "$3" 2>/dev/null; iptables -w -t "$1" -X "$3" 2>/dev/null; return 0
}
apply() {
  set -- "$D"/*.rules
  if [ ! -e "$1" ]; then unjump nat PREROUTING ${DNAT_CHAIN}; unjump filter FORWARD ${FWD_CHAIN}; return 0; fi
  { echo '*nat'; echo ':${DNAT_CHAIN} - [0:0]'; sed -n 's/^nat //p' "$@"; echo COMMIT
    echo '*filter'; echo ':${FWD_CHAIN} - [0:0]'; sed -n 's/^filter //p' "$@"; echo COMMIT
  } | iptables-restore -w --noflush || return 1
  jump nat PREROUTING ${DNAT_CHAIN} && jump filter FORWARD ${FWD_CHAIN}
}
# At its start (and reload) libvirtd runs this hook BEFORE it re-creates its own rules: wait in
# the background (the hook must return) until libvirt's jumps are there, then apply, twice.
later() {
  i=0
  while [ $i -lt 120 ]; do
    iptables -w -S FORWARD 2>/dev/null | grep -q -- '-j LIBVIRT_FW' && break
    sleep 0.5; i=$((i + 1))
  done
  apply; sleep 2; apply
}
case "$2" in
  apply) apply; exit $? ;;
  started|stopped) apply >/dev/null 2>&1 ;;
  start|reload) ( later ) </dev/null >/dev/null 2>&1 & ;;
esac
exit 0
`;

export type Proto = 'tcp' | 'udp';

export interface ForwardSpec {
  network: string;
  bridge: string;
  proto: Proto;
  /** Host address the forward listens on; undefined: every local address of the host. */
  listen?: string;
  hostPorts: [number, number];
  guestIp: string;
  /** Where the first host port goes; undefined with a range: the same ports. */
  guestPort?: number;
  /** Source network allowed (normalised CIDR); undefined: anyone. */
  source?: string;
}

const ports = ([a, b]: [number, number], sep: string) => (a === b ? String(a) : `${a}${sep}${b}`);

/** The forward's identity on the host: one per network, protocol, listen address and host ports. */
export function forwardId(f: Pick<ForwardSpec, 'network' | 'proto' | 'listen' | 'hostPorts'>): string {
  return `${f.network}:${f.proto}:${f.listen ?? 'any'}:${ports(f.hostPorts, '-')}`;
}

/** The comment every rule of the forward carries. */
export const forwardTag = (f: Pick<ForwardSpec, 'network' | 'proto' | 'listen' | 'hostPorts'>): string => `kvmnet-pf:${forwardId(f)}`;

/** The comment match as iptables-save prints it (always in double quotes). */
export const commentMatch = (tag: string): string => `--comment "${tag}"`;

export const rulesFile = (f: Pick<ForwardSpec, 'network' | 'proto' | 'listen' | 'hostPorts'>): string =>
  `${RULES_DIR}/${forwardId(f).replaceAll(':', '_')}.rules`;

export function describeForward(f: ForwardSpec): string {
  const to = f.guestPort === undefined ? f.guestIp : `${f.guestIp}:${ports([f.guestPort, f.guestPort + f.hostPorts[1] - f.hostPorts[0]], '-')}`;
  return `${f.proto} ${f.listen ?? '*'}:${ports(f.hostPorts, '-')} → ${to} (${f.network}${f.source ? `, from ${f.source}` : ''})`;
}

/**
 * The rules as `iptables-save` prints them (matches in the order given, addresses with their
 * prefix), so that the ones read back compare equal: `nat -A KVMNET_DNAT …`, `filter -A KVMNET_FWD …`.
 */
export function forwardRules(f: ForwardSpec): string[] {
  const tag = forwardTag(f);
  const src = f.source ? ['-s', f.source] : [];
  const guestPorts: [number, number] = f.guestPort === undefined ? f.hostPorts : [f.guestPort, f.guestPort + f.hostPorts[1] - f.hostPorts[0]];
  const dnat = [
    '-A', DNAT_CHAIN, ...src,
    ...(f.listen ? ['-d', `${f.listen}/32`] : []),
    '-p', f.proto,
    // Without a listen address: only connections to the host's own addresses, never traffic passing through.
    ...(f.listen ? [] : ['-m', 'addrtype', '--dst-type', 'LOCAL']),
    '-m', f.proto, '--dport', ports(f.hostPorts, ':'),
    '-m', 'comment', commentMatch(tag),
    '-j', 'DNAT', '--to-destination', f.guestPort === undefined ? f.guestIp : `${f.guestIp}:${ports(guestPorts, '-')}`,
  ];
  const accept = [
    '-A', FWD_CHAIN, ...src, '-d', `${f.guestIp}/32`, '-o', f.bridge, '-p', f.proto,
    '-m', f.proto, '--dport', ports(guestPorts, ':'),
    // Only what kvmnet's DNAT sent: the guest's port stays closed to anything else.
    '-m', 'conntrack', '--ctstate', 'DNAT',
    '-m', 'comment', commentMatch(tag),
    '-j', 'ACCEPT',
  ];
  return [`nat ${dnat.join(' ')}`, `filter ${accept.join(' ')}`];
}

/** The rules file of a forward: a header the planner reads back, then its rules. */
export function rulesFileContent(f: ForwardSpec): string {
  const header = [
    `# kvmnet port forward (ensure_port_forward): ${describeForward(f)}`,
    `#forward network=${f.network} bridge=${f.bridge} proto=${f.proto} listen=${f.listen ?? 'any'} ports=${ports(f.hostPorts, '-')} guest=${f.guestIp}${f.guestPort === undefined ? '' : `:${f.guestPort}`} source=${f.source ?? 'any'}`,
  ];
  return `${[...header, ...forwardRules(f)].join('\n')}\n`;
}

/** The `#forward` header of a rules file back as a spec (undefined if it is not one of kvmnet's). */
export function parseRulesFile(content: string): ForwardSpec | undefined {
  const line = content.split('\n').find((l) => l.startsWith('#forward '));
  if (!line) return undefined;
  const kv = Object.fromEntries(line.slice(9).trim().split(/\s+/).map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
  const [a, b] = (kv.ports ?? '').split('-').map(Number);
  const [gip, gport] = (kv.guest ?? '').split(':');
  if (!kv.network || !kv.proto || a === undefined || Number.isNaN(a) || !gip) return undefined;
  return {
    network: kv.network,
    bridge: kv.bridge ?? '',
    proto: kv.proto as Proto,
    listen: kv.listen && kv.listen !== 'any' ? kv.listen : undefined,
    hostPorts: [a, b ?? a],
    guestIp: gip,
    guestPort: gport ? Number(gport) : undefined,
    source: kv.source && kv.source !== 'any' ? kv.source : undefined,
  };
}

/** kvmnet's forwards on the host, from its rules files. */
export function installedForwards(pf: PortForwardFacts): Array<{ path: string; spec: ForwardSpec }> {
  return Object.entries(pf.files)
    .filter(([p]) => p.startsWith(`${RULES_DIR}/`) && p.endsWith('.rules'))
    .flatMap(([path, content]) => {
      const spec = parseRulesFile(content);
      return spec ? [{ path, spec }] : [];
    });
}

// The facts: kvmnet's chains and the first rule of PREROUTING/FORWARD from iptables-save, whether
// libvirt's chains are there, how libvirt is configured, and kvmnet's files under the hooks dir.
const SHELL = `echo '@@kvmnet:pf-rules@@'
pf_ipt=
if command -v iptables-save >/dev/null 2>&1; then
  # One iptables-save for both tables (each one costs a few ms on a fleet's every facts exec).
  pf_ipt=$(iptables-save 2>/dev/null | awk 'substr($0, 1, 1) == "*" { t = substr($0, 2); next } t != "nat" && t != "filter" { next } /^-A (PREROUTING|FORWARD) / { if (!seen[t $2]++) print t " first " $0 } /KVMNET/ { print t " " $0 } /LIBVIRT_/ { l[t] = 1 } END { for (x in l) print x " libvirt-chains" }')
  printf '%s\\n' "$pf_ipt"
fi
echo '@@kvmnet:pf-backend@@'
[ -r /etc/libvirt/network.conf ] && sed -n 's/^[[:space:]]*firewall_backend[[:space:]]*=[[:space:]]*"\\{0,1\\}\\([a-z]*\\).*/conf \\1/p' /etc/libvirt/network.conf
if command -v nft >/dev/null 2>&1 && nft list table ip libvirt_network >/dev/null 2>&1; then echo nft-table; fi
case "$pf_ipt" in *libvirt-chains*) ;; *) command -v libvirtd >/dev/null 2>&1 && libvirtd --version 2>/dev/null | sed 's/^/version /';; esac
pf_files=; for f in ${NETWORK_HOOK} ${DAEMON_HOOK} ${RULES_DIR}/*.rules; do [ -f "$f" ] && pf_files="$pf_files $f"; done
# One awk for all of kvmnet's files (paths without spaces: kvmnet names them).
[ -n "$pf_files" ] && awk 'FNR == 1 { printf "@@kvmnet:pf-file:%s@@\\n", FILENAME } { print "|" $0 }' $pf_files
`;

export const portForwardFacts: FactsFragment = {
  shell: SHELL,
  parse(sections, facts) {
    const rulesText = sections.find((s) => s.key === 'pf-rules')?.body;
    if (rulesText === undefined) return;
    facts.portForwards = parsePortForwardSections(rulesText, sections.find((s) => s.key === 'pf-backend')?.body ?? '', sections.filter((s) => s.key.startsWith('pf-file:')).map((s) => ({ path: s.key.slice(8), body: s.body })));
  },
};

export function parsePortForwardSections(rulesText: string, backendText: string, files: Array<{ path: string; body: string }>): PortForwardFacts {
  const lines = rulesText.split('\n').map((l) => l.trimEnd()).filter(Boolean);
  const rules = lines.filter((l) => /^(nat|filter) -A KVMNET_/.test(l));
  const firstOf = (t: string) => lines.find((l) => l.startsWith(`${t} first `))?.slice(t.length + 7);
  const jumpsFirst = firstOf('nat') === `-A PREROUTING -j ${DNAT_CHAIN}` && firstOf('filter') === `-A FORWARD -j ${FWD_CHAIN}`;
  const libvirtChains = lines.some((l) => l.endsWith(' libvirt-chains'));
  const fileMap: Record<string, string> = {};
  for (const f of files) {
    const content = f.body.split('\n').filter((l) => l.startsWith('|')).map((l) => l.slice(1));
    fileMap[f.path] = content.length ? `${content.join('\n')}\n` : '';
  }
  return { firewall: firewallBackend(backendText, libvirtChains), rules, jumpsFirst, files: fileMap };
}

/** What libvirt uses: what is there now first, then its configuration, then its version's default. */
export function firewallBackend(backendText: string, libvirtChains: boolean): FirewallBackendFact {
  const lines = backendText.split('\n').map((l) => l.trim());
  if (lines.includes('nft-table')) return { backend: 'nftables', why: "libvirt's nftables table (ip libvirt_network) exists" };
  if (libvirtChains) return { backend: 'iptables', why: "libvirt's LIBVIRT_* iptables chains exist" };
  const conf = lines.find((l) => l.startsWith('conf '))?.slice(5);
  if (conf === 'iptables' || conf === 'nftables') return { backend: conf, why: `firewall_backend = ${conf} in /etc/libvirt/network.conf` };
  const version = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(lines.find((l) => l.startsWith('version ')) ?? '');
  if (version) {
    const [maj, min] = [Number(version[1]), Number(version[2])];
    const v = version[0];
    return maj > 10 || (maj === 10 && min >= 4) ? { backend: 'nftables', why: `libvirt ${v} defaults to nftables` } : { backend: 'iptables', why: `libvirt ${v} has only the iptables backend` };
  }
  return { backend: 'unknown', why: 'no libvirt firewall rules, no firewall_backend setting and no libvirtd version found' };
}

/** The forwards' live rules, by tag. */
export function rulesWithTag(facts: Facts, tag: string): string[] {
  return (facts.portForwards?.rules ?? []).filter((r) => r.includes(` ${commentMatch(tag)} `));
}
