// Root-namespace side of a VM lab: the QEMU taps. Management taps join the lab bridge; each
// spare NIC of a host is wired point to point to a switch port by two tc redirects, not by a
// bridge: a Linux bridge never forwards 01:80:c2:00:00:02 (LACP), so the bonds would get no partner.
import { LabError } from '../errors.js';
import { run } from './exec.js';

/** Puts the management taps on the lab bridge and wires each pair of taps, in one `ip` and one `tc` process. */
export async function wireTaps(bridge: string, bridged: string[], wires: Array<[string, string]>): Promise<void> {
  const ipCmds: string[] = [];
  // addrgenmode none: the root namespace sends nothing (router solicitations, MLD) onto lab links.
  for (const tap of bridged) ipCmds.push(`link set ${tap} addrgenmode none`, `link set ${tap} master ${bridge} up`);
  for (const [a, b] of wires) for (const tap of [a, b]) ipCmds.push(`link set ${tap} addrgenmode none`, `link set ${tap} up`);
  await run(['ip', '-batch', '-'], { input: `${ipCmds.join('\n')}\n` });
  if (wires.length === 0) return;
  const tcCmds: string[] = [];
  for (const [a, b] of wires) {
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      tcCmds.push(
        `qdisc add dev ${from} ingress`,
        // u32 matching everything: this kernel has no matchall classifier.
        `filter add dev ${from} parent ffff: protocol all prio 1 u32 match u32 0 0 action mirred egress redirect dev ${to}`,
      );
    }
  }
  const r = await run(['tc', '-batch', '-'], { input: `${tcCmds.join('\n')}\n`, check: false });
  if (r.exitCode !== 0) {
    throw new LabError(`cannot wire the lab's taps with tc (ingress qdisc, u32, mirred: kernel modules sch_ingress, cls_u32, act_mirred): ${r.stderr.trim()}`);
  }
}

export async function setTapState(tap: string, state: 'up' | 'down'): Promise<void> {
  await run(['ip', 'link', 'set', tap, state]);
}
