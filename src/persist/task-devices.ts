// The devices whose configuration a task's plan renders again, for the formats that render a file per
// device from the running state (NetworkManager profiles, netplan files, ifupdown2 stanzas). Pure.
import type { Facts } from '../model/facts.js';
import { changeOps, changeTouches, type Plan, type Touch } from '../model/plan.js';
import { routingDevices, ruleArgDevice } from './routing-devices.js';

const deviceOf = (t: Touch): string | undefined => (t.kind === 'link' ? t.name : t.kind === 'addr' ? t.dev : undefined);

/**
 * The arguments of a task of TYPE that name devices it is about. ensure_vxlan's `dev` is the underlay
 * it sends through, not a device it configures: rendering the underlay's file (often the NIC of the
 * SSH session) would have a manager take it over.
 */
export function deviceNamingArgs(type: string, args: Record<string, unknown>): Record<string, unknown> {
  if (type !== 'ensure_vxlan') return args;
  const { dev: _underlay, ...rest } = args;
  return rest;
}

/** The devices a task is about: what its changes touch, and what its arguments name. */
export function taskDevices(touched: readonly string[], args: Record<string, unknown>): string[] {
  const named: unknown[] = [args.name, args.interface, args.dev, ...(Array.isArray(args.members) ? (args.members as unknown[]) : [])];
  if (args.name === undefined && typeof args.parent === 'string' && typeof args.id === 'number') named.push(`${args.parent}.${args.id}`);
  return [...new Set([...touched, ...named.filter((n): n is string => typeof n === 'string')])];
}

/**
 * The devices whose file RUNTIME's changes (FACTS → AFTER) make out of date: the links and addresses
 * they touch, the links whose MTU they move, the devices their routes and rules live with (those are
 * in the device's file too), and what the task's arguments name.
 */
export function renderedDevices(runtime: Plan, args: Record<string, unknown>, facts: Facts, after: Facts): string[] {
  const touched = [
    ...changeTouches(runtime.changes, facts).flatMap((t) => deviceOf(t) ?? []),
    // A bridge's MTU moves with its ports' (ops/bridge-mtu.ts), and its file says its MTU.
    ...Object.keys(after.links).filter((n) => facts.links[n] && facts.links[n].mtu !== after.links[n]!.mtu),
    ...routingDevices(changeOps(runtime.changes), facts, after),
    ...[ruleArgDevice(args, after) ?? []].flat(),
  ];
  return taskDevices(touched, args);
}
