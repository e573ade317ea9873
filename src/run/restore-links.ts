// The rollback's half that puts virtual links back as the facts had them: links a change deleted
// are created again (a bond with its mode and settings, a VLAN on its parent with its id, a
// bridge, a dummy), a bond whose mode or LACP rate changed is re-created in place, and members go
// back into their bond (downed first: the kernel enslaves only a downed interface). Each step
// checks the host first, so a link that is as it was is left alone. Pure, like restore-script.ts.
import { shellJoin, shellQuote } from '../connection/quote.js';
import type { Facts, LinkFact } from '../model/facts.js';
import { opsLines } from '../ops/index.js';
import { addArgv, bondOptions, HASH_MODES, linkAddFromFact, PRIMARY_MODES } from '../ops/link.js';
import { shellProgram, shellTemplate } from '../shell/program.js';

// A bond made again, or re-created in place when its mode or LACP rate changed.
const restoreBond = shellTemplate(shellProgram(new URL('./restore-bond.sh', import.meta.url)));

/** A rollback step that must not stop the ones after it. */
export const orTrue = (cmd: string) => `${cmd} 2>/dev/null || true`;
const sys = (name: string, file = '') => shellQuote(`/sys/class/net/${name}${file}`);
// Asked of `ip`, not /sys: a lab host in a network namespace sees the root namespace's /sys/class/net.
const exists = (name: string) => `ip link show dev ${shellQuote(name)} >/dev/null 2>&1`;

/** The `ip link add` line that makes this link again, or undefined for links kvmnet cannot make (NICs, taps, veths). */
function addLine(link: LinkFact): string | undefined {
  const add = linkAddFromFact(link);
  return add && opsLines([add])[0];
}

/** A bond's mode and the settings the kernel accepts in that mode (lacp_rate only in 802.3ad). */
function bondSettings(link: LinkFact): string[] {
  const add = linkAddFromFact(link);
  return add?.kind === 'bond' ? bondOptions(add.bond) : [];
}

/** Bonds, bridges and dummies before VLANs (a VLAN's parent may be one of them), VLANs on VLANs last. */
function creationOrder(links: LinkFact[]): LinkFact[] {
  const rank = (l: LinkFact) => (l.kind !== 'vlan' ? 0 : l.lower && links.some((x) => x.name === l.lower && x.kind === 'vlan') ? 2 : 1);
  return [...links].sort((a, b) => rank(a) - rank(b));
}

/**
 * Lines that bring back the virtual links among `existed` (names the facts before the change
 * knew). Bridges of libvirt networks are left to `virsh net-start`, which refuses an existing one.
 */
export function recreateLinkLines(before: Facts, existed: string[]): string[] {
  const libvirtBridges = new Set(before.libvirt.available ? Object.values(before.libvirt.networks).map((n) => n.bridge) : []);
  const links = creationOrder(existed.map((d) => before.links[d]!).filter((l) => !libvirtBridges.has(l.name) && addLine(l)));
  const lines: string[] = [];
  for (const link of links) {
    const add = addLine(link)!;
    const mtu = orTrue(shellJoin(['ip', 'link', 'set', link.name, 'mtu', String(link.mtu)]));
    if (link.kind === 'vlan') {
      // A VLAN with another id or parent under this name is replaced (its id is fixed at creation).
      const same =
        `ip -d -o link show dev ${shellQuote(link.name)} 2>/dev/null | grep -q ${shellQuote(` ${link.name}@${link.lower}: `)}` +
        ` && ip -d -o link show dev ${shellQuote(link.name)} | grep -q ${shellQuote(`vlan protocol ${link.vlan!.protocol} id ${link.vlan!.id} `)}`;
      lines.push(`if ! { ${same}; }; then ip link del ${shellQuote(link.name)} 2>/dev/null; ${add} && ${mtu}; fi`);
      continue;
    }
    if (link.kind === 'bond') {
      const b = link.bond!;
      const wanted = `${b.mode} ${b.mode === '802.3ad' ? (b.lacpRate ?? 'slow') : '-'}`;
      lines.push(
        restoreBond({
          NAME: link.name,
          ADD: addArgv(linkAddFromFact(link)!),
          MTU: link.mtu,
          SYS: `/sys/class/net/${link.name}`,
          WANTED: wanted,
          SETTINGS: bondSettings(link),
        }).trimEnd(),
      );
      // Settings the kernel changes on a running bond.
      lines.push(
        orTrue(
          shellJoin([
            'ip',
            'link',
            'set',
            link.name,
            'type',
            'bond',
            'miimon',
            String(b.miimon),
            ...(HASH_MODES.has(b.mode) && b.xmitHashPolicy ? ['xmit_hash_policy', b.xmitHashPolicy] : []),
          ]),
        ),
      );
      continue;
    }
    lines.push(`${exists(link.name)} || { ${add} && ${mtu}; } 2>/dev/null || true`);
  }
  return lines;
}

/** Puts `dev` back into `master`; into a bond only when it is not there already, and downed first. */
export function masterLine(before: Facts, dev: string, master: string | undefined): string {
  if (!master) return orTrue(shellJoin(['ip', 'link', 'set', dev, 'nomaster']));
  if (before.links[master]?.kind !== 'bond') return orTrue(shellJoin(['ip', 'link', 'set', dev, 'master', master]));
  return `m=$(readlink ${sys(dev, '/master')} 2>/dev/null); [ "\${m##*/}" = ${shellQuote(master)} ] || { ip link set ${shellQuote(dev)} down; ip link set ${shellQuote(dev)} master ${shellQuote(master)}; } 2>/dev/null || true`;
}

/** A bond's primary member, set once its members are back. */
export function primaryLines(before: Facts, existed: string[]): string[] {
  return existed
    .map((d) => before.links[d]!)
    .filter((l) => l.kind === 'bond' && l.bond?.primary && PRIMARY_MODES.has(l.bond.mode))
    .map((l) => orTrue(shellJoin(['ip', 'link', 'set', l.name, 'type', 'bond', 'primary', l.bond!.primary!])));
}
