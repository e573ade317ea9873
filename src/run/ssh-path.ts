// Which planned changes touch the path this SSH session takes, decided from the facts and what
// each change says it touches, never from the task type: the device holding the session's local
// address, everything above it (its master, and theirs), everything below it (its ports, except
// guests' taps; the devices a VLAN or bond sits on), the session's address and the routes on
// those devices. A new task type is covered by declaring its touches.
import type { Facts } from '../model/facts.js';
import { sameAddress } from '../model/ip-address.js';
import { changeTouches, type Change, type Touch } from '../model/plan.js';

export interface SshPath {
  /** The links the session's packets cross on this host. */
  links: Set<string>;
  dev: string;
  address: string;
}

export function sshPath(facts: Facts): SshPath | undefined {
  const session = facts.session;
  if (!session?.dev) return undefined;
  const links = new Set<string>();
  // Above: the master chain (a port of a bridge, a bond in a bridge).
  for (let d: string | undefined = session.dev; d && !links.has(d); d = facts.links[d]?.master) links.add(d);
  // Below: ports and lower devices, recursively. A guest's tap never carries the host's session.
  const below = [session.dev];
  while (below.length) {
    const d = below.pop()!;
    const lower = facts.links[d]?.lower;
    const next = Object.values(facts.links)
      .filter((l) => l.master === d && l.kind !== 'tun')
      .map((l) => l.name);
    if (lower && facts.links[lower]) next.push(lower);
    for (const n of next) {
      if (links.has(n)) continue;
      links.add(n);
      below.push(n);
    }
  }
  return { links, dev: session.dev, address: session.serverAddress };
}

// What cuts or can cut a session: removing, downing, re-parenting, a new MAC, bridge settings
// (turning STP on stops forwarding for twice the forward delay). MTU, up and create do not.
const CUTTING_LINK_OPS = new Set(['delete', 'down', 'master', 'nomaster', 'settings', 'mac']);

function touchReason(t: Touch, path: SshPath): string | undefined {
  const where = `the SSH session runs over ${[...path.links].join(', ')} (${path.address} on ${path.dev})`;
  if (t.kind === 'link' && path.links.has(t.name) && CUTTING_LINK_OPS.has(t.op))
    return `${t.op === 'delete' ? 'deletes' : t.op === 'down' ? 'takes down' : t.op === 'master' || t.op === 'nomaster' ? 're-parents' : 'reconfigures'} ${t.name}, and ${where}`;
  if (t.kind === 'addr' && t.op === 'del' && sameAddress(t.address, path.address))
    return `removes ${t.address} from ${t.dev}, the address the SSH session uses`;
  if (t.kind === 'route' && path.links.has(t.dev)) return `changes route ${t.dst} on ${t.dev}, and ${where}`;
  return undefined;
}

/** Why these changes touch the SSH path (the first reason found), or undefined when they do not. */
export function sshPathTouch(changes: readonly Change[], facts: Facts): string | undefined {
  const path = sshPath(facts);
  if (!path) return undefined;
  for (const t of changeTouches(changes, facts)) {
    const reason = touchReason(t, path);
    if (reason) return reason;
  }
  return undefined;
}
