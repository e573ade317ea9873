// `persist: ifupdown2` in a task's plan: its runtime changes, then the stanza files of the devices
// it is about (ifupdown2-files.ts), then `ifupdown2.check`: ifupdown2 parses and syntax-checks the
// whole configuration (`ifup -a -s`) and compares the written devices with the kernel (`ifquery
// --check`). Never `ifreload -a`: kvmnet already made the change at runtime, and ifreload downs
// (deletes) every logical interface whose stanza changed since its last run, and takes ports it was
// not told about out of bridges (ifupdownmain.py _reload_default, bridge.py _add_ports). Pure.
import { RefusedError } from '../errors.js';
import type { Facts } from '../model/facts.js';
import { factsAfter, type Plan } from '../model/plan.js';
import { fileChanges, withPersistence } from './plan.js';
import { ifupdown2Device, ifupdown2Wants } from './ifupdown2-files.js';
import { renderedDevices } from './task-devices.js';

// The stanzas say links (VXLANs with their flooding entries too), addresses, and (as `post-up` lines) routes and rules.
const LINK_TASKS = ['ensure_bond', 'ensure_vlan', 'ensure_vxlan', 'ensure_bridge', 'ensure_port', 'ensure_ip', 'ensure_route', 'ensure_rule'];

/** Throws RefusedError for a task type whose state the stanzas do not carry. */
export function withIfupdown2Files(runtime: Plan, args: Record<string, unknown>, facts: Facts, host: string, type: string): Plan {
  if (!LINK_TASKS.includes(type))
    throw new RefusedError(
      `persist: ifupdown2 on ${host}: kvmnet writes ifupdown2 stanzas of links, VXLANs, addresses, routes and rules only, not what ${type} makes; use persist: none (and configure it in ifupdown2 yourself) or another format`,
    );
  const after = factsAfter(runtime.changes, facts);
  const wants = ifupdown2Wants(after, renderedDevices(runtime, args, facts, after), host, facts);
  const plan = withPersistence(runtime, 'ifupdown2', wants, facts);
  if (fileChanges(wants, facts).length === 0) return plan;
  const devs = wants.filter((w) => w.content !== null).map((w) => ifupdown2Device(w.path));
  return {
    ...plan,
    changes: [
      ...plan.changes,
      {
        summary: `ifupdown2: check the configuration${devs.length ? ` and that ${devs.join(', ')} run as written` : ''}`,
        ops: [{ op: 'ifupdown2.check', devs }],
      },
    ],
  };
}
