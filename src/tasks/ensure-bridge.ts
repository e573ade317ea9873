import { shellJoin } from '../connection/quote.js';
import type { EnsureBridgeArgs } from '../config/task-schemas.js';
import { RefusedError } from '../errors.js';
import type { Facts, LinkFact } from '../model/facts.js';
import { noop, type Change, type Plan } from '../model/plan.js';
import { describeLink, networksUsingBridge } from './describe.js';
import { persistedFiles } from '../persist/desired.js';
import { withPersistence } from '../persist/plan.js';

const KERNEL_DEFAULT_FORWARD_DELAY = 15;

/** With STP on, the kernel clamps forward_delay to 2–30 s: compare what it will actually read back. */
export function effectiveForwardDelay(seconds: number, stp: boolean): number {
  return stp ? Math.min(30, Math.max(2, seconds)) : seconds;
}

const centiseconds = (s: number) => String(Math.round(s * 100));

export function planEnsureBridge(args: EnsureBridgeArgs, facts: Facts, host: string): Plan {
  // The persisted files last: planned against the same facts (runtime effects never touch them).
  const runtime = planBridgeRuntime(args, facts, host);
  return withPersistence(runtime, args.persist ?? 'none', persistedFiles(args.persist, { type: 'ensure_bridge', args }, facts, host), facts);
}

function planBridgeRuntime(args: EnsureBridgeArgs, facts: Facts, host: string): Plan {
  const { name } = args;
  const link = facts.links[name];
  if (args.state === 'absent') return planAbsent(name, link, facts, host);
  if (link && link.kind !== 'bridge') throw new RefusedError(`${name} exists on ${host} but is ${link.kind ? `a ${link.kind}` : 'not a bridge'}; refusing to replace it`);

  const changes: Change[] = [];
  if (!link) {
    const stp = args.stp ?? false;
    const delay = effectiveForwardDelay(args.forward_delay ?? KERNEL_DEFAULT_FORWARD_DELAY, stp);
    const argv = ['ip', 'link', 'add', name, 'type', 'bridge', 'stp_state', stp ? '1' : '0'];
    if (args.forward_delay !== undefined) argv.push('forward_delay', centiseconds(args.forward_delay));
    const commands = [shellJoin(argv)];
    if (args.mtu !== undefined) commands.push(shellJoin(['ip', 'link', 'set', name, 'mtu', String(args.mtu)]));
    if (args.up) commands.push(shellJoin(['ip', 'link', 'set', name, 'up']));
    changes.push({
      summary: `create bridge ${name} (stp ${stp ? 'on' : 'off'}, forward delay ${delay} s${args.mtu ? `, mtu ${args.mtu}` : ''}${args.up ? ', up' : ''})`,
      commands,
      effect: (f) => {
        f.links[name] = { name, kind: 'bridge', up: args.up, operstate: args.up ? 'UNKNOWN' : 'DOWN', mtu: args.mtu ?? 1500, bridge: { stp, forwardDelay: delay } };
      },
    });
  } else {
    const current = link.bridge ?? { stp: false, forwardDelay: KERNEL_DEFAULT_FORWARD_DELAY };
    const stp = args.stp ?? current.stp;
    const wantDelay = args.forward_delay !== undefined ? effectiveForwardDelay(args.forward_delay, stp) : stp !== current.stp ? effectiveForwardDelay(current.forwardDelay, stp) : current.forwardDelay;
    if (stp !== current.stp || wantDelay !== current.forwardDelay) {
      const argv = ['ip', 'link', 'set', name, 'type', 'bridge'];
      if (stp !== current.stp) argv.push('stp_state', stp ? '1' : '0');
      if (args.forward_delay !== undefined && wantDelay !== current.forwardDelay) argv.push('forward_delay', centiseconds(args.forward_delay));
      const what = [stp !== current.stp && `stp ${current.stp ? 'on' : 'off'} → ${stp ? 'on' : 'off'}`, wantDelay !== current.forwardDelay && `forward delay ${current.forwardDelay} s → ${wantDelay} s`].filter(Boolean);
      changes.push({
        summary: `set ${name} ${what.join(', ')}`,
        commands: [shellJoin(argv)],
        effect: (f) => {
          f.links[name]!.bridge = { stp, forwardDelay: wantDelay };
        },
      });
    }
    if (args.mtu !== undefined && args.mtu !== link.mtu) {
      changes.push({
        summary: `set ${name} mtu ${link.mtu} → ${args.mtu}`,
        commands: [shellJoin(['ip', 'link', 'set', name, 'mtu', String(args.mtu)])],
        effect: (f) => {
          f.links[name]!.mtu = args.mtu!;
        },
      });
    }
    if (args.up !== link.up) {
      changes.push({
        summary: `bring ${name} ${args.up ? 'up' : 'down'}`,
        commands: [shellJoin(['ip', 'link', 'set', name, args.up ? 'up' : 'down'])],
        effect: (f) => {
          f.links[name]!.up = args.up;
        },
      });
    }
  }
  const data = { name, exists: true };
  if (changes.length === 0) return noop(`bridge ${name} exists as wanted (${describeLink(link, name).slice(name.length + 2)})`, data);
  const managementPath = facts.session?.dev === name ? `${name} carries this SSH session (${facts.session.serverAddress})` : undefined;
  return { changes, data, devices: [name], managementPath };
}

function planAbsent(name: string, link: LinkFact | undefined, facts: Facts, host: string): Plan {
  if (!link) return noop(`bridge ${name} does not exist`, { name, exists: false });
  if (link.kind !== 'bridge') throw new RefusedError(`${name} on ${host} is ${link.kind ? `a ${link.kind}` : 'not a bridge'}; ensure_bridge will not delete it`);
  const users = networksUsingBridge(facts, name);
  if (users.length) throw new RefusedError(`bridge ${name} is used by libvirt network ${users.join(', ')} on ${host}; remove the network first (ensure_libvirt_net state: absent)`);
  if (facts.session?.dev === name) throw new RefusedError(`bridge ${name} carries this SSH session on ${host} (${facts.session.serverAddress}); deleting it would cut the host off`);
  return {
    changes: [
      {
        summary: `delete bridge ${name}`,
        commands: [shellJoin(['ip', 'link', 'del', name])],
        effect: (f) => removeLink(f, name),
      },
    ],
    data: { name, exists: false },
    devices: [name],
  };
}

/** What the kernel does when a link is deleted: its ports are released, its addresses and routes go. */
export function removeLink(f: Facts, name: string): void {
  delete f.links[name];
  for (const l of Object.values(f.links)) if (l.master === name) delete l.master;
  f.addrs = f.addrs.filter((a) => a.dev !== name);
  f.routes = f.routes.filter((r) => r.dev !== name);
}
