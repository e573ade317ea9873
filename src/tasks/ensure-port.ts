import { shellJoin } from '../connection/quote.js';
import type { EnsurePortArgs } from '../config/task-schemas.js';
import { RefusedError } from '../errors.js';
import type { Facts } from '../model/facts.js';
import { noop, type Change, type Plan } from '../model/plan.js';
import { portsOf } from './describe.js';
import { persistedFiles } from '../persist/desired.js';
import { withPersistence } from '../persist/plan.js';
import { planMigration } from './migrate.js';

/** Forward modes whose bridge libvirt creates and owns (a NIC must never be plugged into those). */
const LIBVIRT_OWNED_MODES = new Set(['nat', 'route', 'isolated', 'open']);

export function planEnsurePort(args: EnsurePortArgs, facts: Facts, host: string): Plan {
  // The persisted files last: planned against the same facts (runtime effects never touch them).
  const runtime = planPortRuntime(args, facts, host);
  return withPersistence(runtime, args.persist ?? 'none', persistedFiles(args.persist, { type: 'ensure_port', args }, facts, host), facts);
}

function planPortRuntime(args: EnsurePortArgs, facts: Facts, host: string): Plan {
  const { bridge, interface: iface } = args;
  const link = facts.links[iface];
  if (args.state === 'absent') {
    if (!link) return noop(`${iface} does not exist`, { bridge, ports: portsOf(facts, bridge) });
    if (link.master !== bridge) return noop(`${iface} is not a port of ${bridge}`, { bridge, ports: portsOf(facts, bridge) });
    return {
      changes: [
        {
          summary: `release ${iface} from ${bridge}`,
          commands: [shellJoin(['ip', 'link', 'set', iface, 'nomaster'])],
          effect: (f) => {
            delete f.links[iface]!.master;
          },
        },
      ],
      devices: [iface],
      data: { bridge, ports: portsOf(facts, bridge).filter((p) => p !== iface) },
    };
  }

  refuseUnsafePort(args, facts, host);
  const ports = [...new Set([...portsOf(facts, bridge), iface])].sort();
  const carriesSession = facts.session?.dev === iface;
  const holdsAddresses = facts.addrs.some((a) => a.dev === iface && a.scope === 'global');
  if (args.migrate && link!.master !== bridge && (holdsAddresses || carriesSession)) {
    return {
      changes: [planMigration(iface, bridge, facts)],
      devices: [iface, bridge],
      data: { bridge, ports },
      managementPath: carriesSession ? `${iface} carries this SSH session (${facts.session!.serverAddress})` : undefined,
    };
  }
  const changes: Change[] = [];
  if (!link!.up) {
    changes.push({
      summary: `bring ${iface} up`,
      commands: [shellJoin(['ip', 'link', 'set', iface, 'up'])],
      effect: (f) => {
        f.links[iface]!.up = true;
      },
    });
  }
  if (link!.master !== bridge) {
    changes.push({
      summary: link!.master ? `move ${iface} from ${link!.master} to ${bridge}` : `add ${iface} to ${bridge}`,
      commands: [shellJoin(['ip', 'link', 'set', iface, 'master', bridge])],
      effect: (f) => {
        f.links[iface]!.master = bridge;
      },
    });
  }
  if (changes.length === 0) return noop(`${iface} is already a port of ${bridge} and up`, { bridge, ports });
  // force: the user asked to cut the session path; the rollback timer is what brings the host back.
  const managementPath = carriesSession ? `${iface} carries this SSH session (${facts.session!.serverAddress}) and force is set` : undefined;
  return { changes, devices: [iface], data: { bridge, ports }, managementPath };
}

function refuseUnsafePort(args: EnsurePortArgs, facts: Facts, host: string): void {
  const { bridge, interface: iface } = args;
  const link = facts.links[iface];
  if (!link) {
    const candidates = Object.values(facts.links).filter((l) => l.kind !== 'bridge' && l.name !== 'lo').map((l) => l.name);
    throw new RefusedError(`interface ${iface} does not exist on ${host} (interfaces there: ${candidates.join(', ') || 'none'})`);
  }
  const br = facts.links[bridge];
  if (!br) throw new RefusedError(`bridge ${bridge} does not exist on ${host}; add an ensure_bridge task for it before this one`);
  if (br.kind !== 'bridge') throw new RefusedError(`${bridge} on ${host} is ${br.kind ? `a ${br.kind}` : 'not a bridge'}`);
  if (link.kind === 'bridge') throw new RefusedError(`${iface} is itself a bridge; a bridge cannot be a port of another bridge`);
  if (facts.libvirt.available) {
    const owner = Object.values(facts.libvirt.networks).find((n) => n.bridge === bridge && LIBVIRT_OWNED_MODES.has(n.forwardMode ?? ''));
    if (owner) {
      throw new RefusedError(
        `${bridge} belongs to libvirt network '${owner.name}' (forward mode ${owner.forwardMode}) on ${host}; libvirt manages that bridge and a physical interface must never be plugged into it. Use a bridge of your own (ensure_bridge) and a network with forward mode bridge`,
      );
    }
  }
  if (facts.session?.dev === iface && link.master !== bridge && !args.migrate && !args.force) {
    throw new RefusedError(
      `${iface} carries this SSH session on ${host} (${facts.session.serverAddress}); adding it to ${bridge} would cut the host off, because its address stays on ${iface}. Set migrate: true to move its addresses and routes to ${bridge} in the same step`,
    );
  }
}
