// `persist: networkmanager` in a task's plan: its runtime changes, then the keyfile profiles of
// the devices it is about (rendered from the state those changes leave), then `nmcli connection
// load` of what changed, so NetworkManager knows the profiles now and activates them at boot,
// and `nmcli connection up` of those it does not run yet (it then owns the device). Pure.
import type { Facts } from '../model/facts.js';
import { changeOps, factsAfter, type Plan } from '../model/plan.js';
import type { Op } from '../ops/types.js';
import { fileChanges, withPersistence } from './plan.js';
import { nmProfileWants } from './nm-profiles.js';
import { renderedDevices } from './task-devices.js';

export function withNmProfiles(runtime: Plan, args: Record<string, unknown>, facts: Facts): Plan {
  const after = factsAfter(runtime.changes, facts);
  const wants = nmProfileWants(after, renderedDevices(runtime, args, facts, after));
  const plan = withPersistence(runtime, 'networkmanager', wants, facts);
  const written = changeOps(fileChanges(wants, facts)).flatMap((o) => (o.op === 'file.write' || o.op === 'file.remove' ? [o.path] : []));
  if (written.length === 0) return plan;
  const load = wants.filter((w) => w.content !== null && written.includes(w.path));
  const ops: Op[] = [{ op: 'nm.load', paths: load.map((w) => w.path), reload: load.length < written.length }];
  // A loaded profile is only used at the next activation: activate it now where NetworkManager
  // runs the device with another (or no) connection, so that what it runs is what it will boot.
  // Measured: left alone, NetworkManager auto-activated a just-loaded VLAN profile later on its
  // own and took the VLAN out of the bridge a later task had put it in.
  for (const w of load) {
    const dev = w.path.slice(w.path.lastIndexOf('/kvmnet-') + 8, -'.nmconnection'.length);
    if (facts.managers?.nmDevices[dev]?.connection === `kvmnet-${dev}`) continue;
    ops.push({ op: 'nm.up', dev, profile: `kvmnet-${dev}` });
  }
  return {
    ...plan,
    changes: [...plan.changes, { summary: `NetworkManager: load ${written.length} kvmnet profile(s)`, ops }],
  };
}
