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
import { NM_UNMANAGED_CONF, unmanagedInConf } from './nm-unmanaged.js';
import { RefusedError } from '../errors.js';

const profileDevice = (path: string) => path.slice(path.lastIndexOf('/kvmnet-') + 8, -'.nmconnection'.length);

/** Throws RefusedError when a device handed over to kvmnet (ensure_nm_unmanaged) would get a profile NetworkManager never brings up. */
export function withNmProfiles(runtime: Plan, args: Record<string, unknown>, facts: Facts, host: string): Plan {
  const after = factsAfter(runtime.changes, facts);
  const wants = nmProfileWants(after, renderedDevices(runtime, args, facts, after));
  const handedOver = unmanagedInConf(after.persisted?.[NM_UNMANAGED_CONF]);
  const refused = wants
    .filter((w) => w.content !== null)
    .map((w) => profileDevice(w.path))
    .filter((d) => handedOver.includes(d));
  if (refused.length)
    throw new RefusedError(
      `persist: networkmanager on ${host}: ${refused.join(', ')} ${refused.length > 1 ? 'were' : 'was'} handed to kvmnet (ensure_nm_unmanaged, ${NM_UNMANAGED_CONF}): NetworkManager does not manage ${refused.length > 1 ? 'them' : 'it'} and would never bring a profile of ${refused.length > 1 ? 'them' : 'it'} up; use persist: networkd or none for this task`,
    );
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
    const dev = profileDevice(w.path);
    if (facts.managers?.nmDevices[dev]?.connection === `kvmnet-${dev}`) continue;
    // NetworkManager takes over an existing VXLAN only if its default destination is the profile's
    // remote, and kvmnet floods through forwarding entries instead (measured: "Failed to find a
    // compatible device for this connection"). It runs as kvmnet made it until the boot, when
    // NetworkManager creates it from the profile, its remote then a default destination that reads
    // back as the same flooding entry.
    if (after.links[dev]?.kind === 'vxlan') continue;
    ops.push({ op: 'nm.up', dev, profile: `kvmnet-${dev}` });
  }
  return {
    ...plan,
    changes: [...plan.changes, { summary: `NetworkManager: load ${written.length} kvmnet profile(s)`, ops }],
  };
}
