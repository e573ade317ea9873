// What ensure_port_forward puts on a host, and how it reads it back (pure), for both of libvirt's
// firewall backends (the one the host's libvirt uses, from the facts).
//
// iptables (libvirt ≤ 10.3, or firewall_backend = "iptables"): kvmnet's forwards live in kvmnet's
// OWN chains, nat KVMNET_DNAT (jumped to first from PREROUTING) and filter KVMNET_FWD (jumped to
// first from FORWARD, above libvirt's LIBVIRT_FWI, whose REJECT would stop the DNATed connection),
// every rule tagged with a comment naming the forward. libvirt re-creates its own rules, and then
// its jumps can land above kvmnet's (measured with libvirt 9: at libvirtd start, after a firewall
// flush, it inserts its FORWARD jumps at the top and calls no network hook).
//
// nftables (libvirt ≥ 10.4's default): the DNAT lives in kvmnet's OWN table, `ip kvmnet_pf`
// (chain prerouting, hook prerouting, priority dstnat). The accept cannot: libvirt's table
// `ip libvirt_network` ends its chain guest_input with `oif BRIDGE reject`, and in nftables an
// accept in another table's base chain does not stop that reject (every base chain on the hook
// sees the packet). So kvmnet inserts its tagged accepts (`ct status dnat`: only what its DNAT
// sent) at the top of libvirt's base chain `forward`, above libvirt's jumps to guest_*, and
// removes exactly those (by handle) again. Not in guest_input: libvirt re-creates the rules of
// guest_* at every network start and libvirtd start (measured with 11.3: it deletes its own by
// handle and inserts them again, on top), while it only adds a jump to `forward` when it is
// missing; kvmnet's accepts there stay first through network restarts and libvirtd restarts.
// The hook still re-applies them when libvirt re-creates its table (a flushed ruleset, a reboot).
//
// One script, installed as a network hook AND a daemon hook, rebuilds kvmnet's rules from one
// rules file per forward (which holds the rules for the backend the host used when kvmnet wrote
// it). libvirtd finds hook scripts when it starts: until its next start, the rules kvmnet applied
// itself stay (a network restart leaves kvmnet's chains, table and accepts alone or re-applies them).
import type { Facts, FirewallBackendFact, PortForwardFacts } from '../model/facts.js';
import { shellProgram } from '../shell/program.js';
import type { FactsFragment } from '../facts/fragment.js';
import { libvirtVersionFacts } from './libvirt-version.js';

export const HOOKS_DIR = '/etc/libvirt/hooks';
export const RULES_DIR = `${HOOKS_DIR}/kvmnet-port-forwards`;
export const NETWORK_HOOK = `${HOOKS_DIR}/network.d/kvmnet-port-forwards`;
export const DAEMON_HOOK = `${HOOKS_DIR}/daemon.d/kvmnet-port-forwards`;
export const DNAT_CHAIN = 'KVMNET_DNAT';
export const FWD_CHAIN = 'KVMNET_FWD';
/** kvmnet's nftables table (family ip) and its one chain. */
export const NFT_TABLE = 'kvmnet_pf';
export const NFT_CHAIN = 'prerouting';
/** libvirt's nftables table (family ip) and its forward-hook base chain, where kvmnet's accepts go above libvirt's jumps. */
export const LIBVIRT_NFT_TABLE = 'libvirt_network';
export const LIBVIRT_NFT_FORWARD = 'forward';

export type Backend = 'iptables' | 'nftables';

/**
 * The hook (network.d and daemon.d) and kvmnet's own way to apply the rules files (`sh -s - - apply`).
 * It names the paths, chains and tables above literally (the file as installed is what hosts compare).
 */
export const HOOK_SCRIPT = shellProgram(new URL('./port-forward-hook.sh', import.meta.url));

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

const guestPortsOf = (f: ForwardSpec): [number, number] =>
  f.guestPort === undefined ? f.hostPorts : [f.guestPort, f.guestPort + f.hostPorts[1] - f.hostPorts[0]];

/** The forward's rules for the host's backend, exactly as the facts read them back. */
export function forwardRules(f: ForwardSpec, backend: Backend = 'iptables'): string[] {
  return backend === 'nftables' ? nftRules(f) : iptablesRules(f);
}

/**
 * As `iptables-save` prints them (matches in the order given, addresses with their prefix), so
 * that the ones read back compare equal: `nat -A KVMNET_DNAT …`, `filter -A KVMNET_FWD …`.
 */
function iptablesRules(f: ForwardSpec): string[] {
  const tag = forwardTag(f);
  const src = f.source ? ['-s', f.source] : [];
  const guestPorts = guestPortsOf(f);
  const dnat = [
    '-A',
    DNAT_CHAIN,
    ...src,
    ...(f.listen ? ['-d', `${f.listen}/32`] : []),
    '-p',
    f.proto,
    // Without a listen address: only connections to the host's own addresses, never traffic passing through.
    ...(f.listen ? [] : ['-m', 'addrtype', '--dst-type', 'LOCAL']),
    '-m',
    f.proto,
    '--dport',
    ports(f.hostPorts, ':'),
    '-m',
    'comment',
    commentMatch(tag),
    '-j',
    'DNAT',
    '--to-destination',
    f.guestPort === undefined ? f.guestIp : `${f.guestIp}:${ports(guestPorts, '-')}`,
  ];
  const accept = [
    '-A',
    FWD_CHAIN,
    ...src,
    '-d',
    `${f.guestIp}/32`,
    '-o',
    f.bridge,
    '-p',
    f.proto,
    '-m',
    f.proto,
    '--dport',
    ports(guestPorts, ':'),
    // Only what kvmnet's DNAT sent: the guest's port stays closed to anything else.
    '-m',
    'conntrack',
    '--ctstate',
    'DNAT',
    '-m',
    'comment',
    commentMatch(tag),
    '-j',
    'ACCEPT',
  ];
  return [`nat ${dnat.join(' ')}`, `filter ${accept.join(' ')}`];
}

/**
 * As `nft list` prints them (nft 1.0: the order given, a /32 without its prefix):
 * `nft-dnat …` goes into kvmnet's table, `nft-accept …` on top of libvirt's forward chain.
 */
function nftRules(f: ForwardSpec): string[] {
  const tag = `comment "${forwardTag(f)}"`;
  const src = f.source ? `ip saddr ${f.source.endsWith('/32') ? f.source.slice(0, -3) : f.source} ` : '';
  const guestPorts = guestPortsOf(f);
  // Without a listen address: only connections to the host's own addresses, never traffic passing through.
  const dst = f.listen ? `ip daddr ${f.listen} ` : 'fib daddr type local ';
  const to = f.guestPort === undefined ? f.guestIp : `${f.guestIp}:${ports(guestPorts, '-')}`;
  return [
    `nft-dnat ${src}${dst}${f.proto} dport ${ports(f.hostPorts, '-')} dnat to ${to} ${tag}`,
    // oifname, not oif: the bridge may not exist yet (or again) when the hook applies it.
    `nft-accept ${src}ip daddr ${f.guestIp} oifname "${f.bridge}" ${f.proto} dport ${ports(guestPorts, '-')} ct status dnat accept ${tag}`,
  ];
}

/** The rules file of a forward: a header the planner reads back, then its rules for the host's backend. */
export function rulesFileContent(f: ForwardSpec, backend: Backend = 'iptables'): string {
  const header = [
    `# kvmnet port forward (ensure_port_forward): ${describeForward(f)}`,
    `#forward network=${f.network} bridge=${f.bridge} proto=${f.proto} listen=${f.listen ?? 'any'} ports=${ports(f.hostPorts, '-')} guest=${f.guestIp}${f.guestPort === undefined ? '' : `:${f.guestPort}`} source=${f.source ?? 'any'}`,
  ];
  return `${[...header, ...forwardRules(f, backend)].join('\n')}\n`;
}

/** The `#forward` header of a rules file back as a spec (undefined if it is not one of kvmnet's). */
export function parseRulesFile(content: string): ForwardSpec | undefined {
  const line = content.split('\n').find((l) => l.startsWith('#forward '));
  if (!line) return undefined;
  const kv = Object.fromEntries(
    line
      .slice(9)
      .trim()
      .split(/\s+/)
      .map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]),
  );
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

// The facts: kvmnet's chains and the first rule of PREROUTING/FORWARD from iptables-save; kvmnet's
// nftables table and libvirt's forward chain from `nft list`; whether libvirt's chains or table
// are there, how libvirt is configured, and kvmnet's files under the hooks dir.
const SHELL = `echo '@@kvmnet:pf-rules@@'
pf_ipt=
if command -v iptables-save >/dev/null 2>&1; then
  # One iptables-save for both tables (each one costs a few ms on a fleet's every facts exec).
  pf_ipt=$(iptables-save 2>/dev/null | awk 'substr($0, 1, 1) == "*" { t = substr($0, 2); next } t != "nat" && t != "filter" { next } /^-A (PREROUTING|FORWARD) / { if (!seen[t $2]++) print t " first " $0 } /KVMNET/ { print t " " $0 } /LIBVIRT_/ { l[t] = 1 } END { for (x in l) print x " libvirt-chains" }')
  printf '%s\\n' "$pf_ipt"
fi
echo '@@kvmnet:pf-nft@@'
pf_nft=
if command -v nft >/dev/null 2>&1; then
  echo nft
  # Which of the two tables exist first: on an iptables host (neither) that is one nft instead of two.
  pf_tables=$(nft list tables ip 2>/dev/null)
  # Rules without their counters: libvirt's forward chain in order, kvmnet's table's one chain.
  case "$pf_tables" in *"table ip ${LIBVIRT_NFT_TABLE}"*) pf_nft=$(nft list table ip ${LIBVIRT_NFT_TABLE} 2>/dev/null);; esac
  [ -n "$pf_nft" ] && printf '%s\\n' "$pf_nft" | awk '/^\\tchain / { c = $2; next } c == "${LIBVIRT_NFT_FORWARD}" && /^\\t\\t/ && !/^\\t\\ttype / { sub(/^\\t\\t/, ""); gsub(/counter packets [0-9]+ bytes [0-9]+ /, ""); print "forward " $0 }'
  case "$pf_tables" in *"table ip ${NFT_TABLE}"*) nft list table ip ${NFT_TABLE} 2>/dev/null | awk '/^\\tchain / { c = $2; next } c == "${NFT_CHAIN}" && /^\\t\\t/ && !/^\\t\\ttype / { sub(/^\\t\\t/, ""); print "dnat " $0 }';; esac
fi
echo '@@kvmnet:pf-backend@@'
[ -r /etc/libvirt/network.conf ] && sed -n 's/^[[:space:]]*firewall_backend[[:space:]]*=[[:space:]]*"\\{0,1\\}\\([a-z]*\\).*/conf \\1/p' /etc/libvirt/network.conf
[ -n "$pf_nft" ] && echo nft-table
pf_files=; for f in ${NETWORK_HOOK} ${DAEMON_HOOK} ${RULES_DIR}/*.rules; do [ -f "$f" ] && pf_files="$pf_files $f"; done
# One awk for all of kvmnet's files (paths without spaces: kvmnet names them).
[ -n "$pf_files" ] && awk 'FNR == 1 { printf "@@kvmnet:pf-file:%s@@\\n", FILENAME } { print "|" $0 }' $pf_files
`;

export const portForwardFacts: FactsFragment = {
  id: 'port-forwards',
  with: [libvirtVersionFacts],
  shell: SHELL,
  parse(sections, facts) {
    const rulesText = sections.find((s) => s.key === 'pf-rules')?.body;
    if (rulesText === undefined) return;
    facts.portForwards = parsePortForwardSections(
      rulesText,
      // libvirt's version comes from ensure_libvirt_net's fragment (kept between execs, not asked again here).
      // Its section starts with a newline: on one line with its tag, or a fresh host (no libvirt
      // rules yet) has no known backend until a NAT network has started.
      `${sections.find((s) => s.key === 'pf-backend')?.body ?? ''}\nversion ${(sections.find((s) => s.key === 'libvirt-version')?.body ?? '').trim().split('\n')[0] ?? ''}`,
      sections.filter((s) => s.key.startsWith('pf-file:')).map((s) => ({ path: s.key.slice(8), body: s.body })),
      sections.find((s) => s.key === 'pf-nft')?.body,
    );
  },
};

export function parsePortForwardSections(
  rulesText: string,
  backendText: string,
  files: Array<{ path: string; body: string }>,
  nftText?: string,
): PortForwardFacts {
  const lines = rulesText
    .split('\n')
    .map((l) => l.trimEnd())
    .filter(Boolean);
  const rules = lines.filter((l) => /^(nat|filter) -A KVMNET_/.test(l));
  const firstOf = (t: string) => lines.find((l) => l.startsWith(`${t} first `))?.slice(t.length + 7);
  const iptablesFirst = firstOf('nat') === `-A PREROUTING -j ${DNAT_CHAIN}` && firstOf('filter') === `-A FORWARD -j ${FWD_CHAIN}`;
  const libvirtChains = lines.some((l) => l.endsWith(' libvirt-chains'));
  const nft = parseNftSection(nftText ?? '');
  rules.push(...nft.dnat.map((r) => `nft-dnat ${r}`), ...nft.accepts.map((r) => `nft-accept ${r}`));
  const fileMap: Record<string, string> = {};
  for (const f of files) {
    const content = f.body
      .split('\n')
      .filter((l) => l.startsWith('|'))
      .map((l) => l.slice(1));
    fileMap[f.path] = content.length ? `${content.join('\n')}\n` : '';
  }
  const firewall = firewallBackend(backendText, libvirtChains);
  const jumpsFirst = firewall.backend === 'nftables' ? nft.acceptsFirst : iptablesFirst;
  return { firewall, rules, jumpsFirst, files: fileMap, ...(nftText === undefined ? {} : { nft: nft.command }) };
}

const isKvmnetNft = (rule: string) => / comment "kvmnet-pf:[^"]*"$/.test(rule);

/** The pf-nft section: kvmnet's DNAT rules, its accepts in libvirt's forward chain, and whether they precede libvirt's jumps there. */
export function parseNftSection(text: string): { command: boolean; dnat: string[]; accepts: string[]; acceptsFirst: boolean } {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const forward = lines.filter((l) => l.startsWith('forward ')).map((l) => l.slice(8));
  const firstJump = forward.findIndex((r) => / jump /.test(` ${r} `) && !isKvmnetNft(r));
  const accepts = forward.filter(isKvmnetNft);
  const lastOurs = forward.reduce((last, r, i) => (isKvmnetNft(r) ? i : last), -1);
  return {
    command: lines.includes('nft'),
    dnat: lines
      .filter((l) => l.startsWith('dnat '))
      .map((l) => l.slice(5))
      .filter(isKvmnetNft),
    accepts,
    acceptsFirst: accepts.length > 0 && (firstJump < 0 || lastOurs < firstJump),
  };
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
    return maj > 10 || (maj === 10 && min >= 4)
      ? { backend: 'nftables', why: `libvirt ${v} defaults to nftables` }
      : { backend: 'iptables', why: `libvirt ${v} has only the iptables backend` };
  }
  return { backend: 'unknown', why: 'no libvirt firewall rules, no firewall_backend setting and no libvirtd version found' };
}

/** Whether a rule (iptables-save or nft form) carries the tag. */
export const hasTag = (rule: string, tag: string): boolean => rule.includes(` ${commentMatch(tag)} `) || rule.endsWith(` comment "${tag}"`);

/** The forwards' live rules, by tag. */
export function rulesWithTag(facts: Facts, tag: string): string[] {
  return (facts.portForwards?.rules ?? []).filter((r) => hasTag(r, tag));
}
