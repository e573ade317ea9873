// `persist: networkmanager` in a task's plan: its runtime changes, then the keyfile profiles of
// the devices it is about (rendered from the state those changes leave), then `nmcli connection
// load` of what changed, so NetworkManager knows the profiles now and activates them at boot.
// Loading does not re-activate the running devices (no link bounce); NetworkManager sees them as
// already configured. Pure.
import { shellJoin } from '../connection/quote.js';
import type { Facts } from '../model/facts.js';
import type { Plan, Touch } from '../model/plan.js';
import { fileChanges, withPersistence } from './plan.js';
import { nmProfileWants, taskDevices } from './nm-profiles.js';

const deviceOf = (t: Touch): string | undefined => (t.kind === 'link' ? t.name : t.kind === 'addr' ? t.dev : undefined);

export function withNmProfiles(runtime: Plan, args: Record<string, unknown>, facts: Facts): Plan {
  const after = structuredClone(facts);
  for (const c of runtime.changes) c.effect(after);
  const touched = runtime.changes.flatMap((c) => c.touches.flatMap((t) => deviceOf(t) ?? []));
  const wants = nmProfileWants(after, taskDevices(touched, args));
  const plan = withPersistence(runtime, 'networkmanager', wants, facts);
  const written = fileChanges(wants, facts).map((c) => c.touches[0]).flatMap((t) => (t?.kind === 'file' ? [t.path] : []));
  if (written.length === 0) return plan;
  const load = wants.filter((w) => w.content !== null && written.includes(w.path)).map((w) => w.path);
  const commands = [...(load.length ? [shellJoin(['nmcli', 'connection', 'load', ...load])] : []), ...(load.length < written.length ? ['nmcli connection reload'] : [])];
  return {
    ...plan,
    changes: [...plan.changes, { summary: `NetworkManager: load ${written.length} kvmnet profile(s)`, commands, touches: [], effect: () => {} }],
  };
}
