// NetworkManager undoes what it was not told about: a link, address or route change made with
// `ip` on a device it manages lasts until NetworkManager next reconciles that device (a carrier
// change, a reconnect, a restart — or at once). So a plan that changes such a device at runtime
// is refused, naming the device, unless the task persists through NetworkManager. Pure.
import { RefusedError } from '../errors.js';
import type { Facts } from '../model/facts.js';
import { changeTouches, type Plan, type Touch } from '../model/plan.js';
import { nmManages } from './managers.js';

const deviceOf = (t: Touch): string | undefined => (t.kind === 'link' ? t.name : t.kind === 'addr' || t.kind === 'route' ? t.dev : undefined);

/** Throws RefusedError when PLAN changes a device NetworkManager manages (and `persist` is not NetworkManager's). */
export function refuseNmManaged(plan: Plan, facts: Facts, host: string, persist: string | undefined): void {
  if (persist === 'networkmanager' || !facts.managers?.active.networkmanager) return;
  for (const change of plan.changes) {
    // Handing a device over (ensure_nm_unmanaged) is the way out of this refusal, not a change behind NetworkManager's back.
    const ops = change.ops.filter((o) => o.op !== 'nm.managed');
    for (const t of changeTouches([{ ...change, ops }], facts)) {
      const dev = deviceOf(t);
      if (dev === undefined || !nmManages(facts.managers, dev)) continue;
      const nm = facts.managers.nmDevices[dev]!;
      throw new RefusedError(
        `${dev} is managed by NetworkManager on ${host} (${nm.state}${nm.connection ? `, profile ${nm.connection}` : ''}): ` +
          `\`${change.summary}\` made behind its back would be undone by NetworkManager. Hand the device to kvmnet first ` +
          `(a task \`ensure_nm_unmanaged: { devices: [${dev}] }\` before this one: \`nmcli device set ${dev} managed no\`, and unmanaged-devices in a NetworkManager conf.d file so it stays so after a reboot), ` +
          `or let NetworkManager make the change (persist: networkmanager or auto)`,
      );
    }
  }
}
