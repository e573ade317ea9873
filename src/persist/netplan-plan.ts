// `persist: netplan` in a task's plan: its runtime changes, then the netplan files of the devices it
// is about (netplan-files.ts), then `netplan generate` (validation + the backend's files for the
// next boot; no `netplan apply`). Pure.
import type { Facts } from '../model/facts.js';
import { changeOps, changeTouches, factsAfter, type Plan, type Touch } from '../model/plan.js';
import { fileChanges, withPersistence } from './plan.js';
import { netplanWants } from './netplan-files.js';
import { taskDevices } from './nm-profiles.js';
import { routingDevices, ruleArgDevice } from './routing-devices.js';

const deviceOf = (t: Touch): string | undefined => (t.kind === 'link' ? t.name : t.kind === 'addr' ? t.dev : undefined);

export function withNetplanFiles(runtime: Plan, args: Record<string, unknown>, facts: Facts, host: string): Plan {
  const after = factsAfter(runtime.changes, facts);
  // Routes and rules live in their device's configuration: that device's file is rendered again too.
  const touched = [
    ...changeTouches(runtime.changes, facts).flatMap((t) => deviceOf(t) ?? []),
    ...routingDevices(changeOps(runtime.changes), facts, after),
    ...[ruleArgDevice(args, after) ?? []].flat(),
  ];
  const wants = netplanWants(after, taskDevices(touched, args), host, facts);
  const plan = withPersistence(runtime, 'netplan', wants, facts);
  if (fileChanges(wants, facts).length === 0) return plan;
  return {
    ...plan,
    changes: [...plan.changes, { summary: 'netplan generate (validates; the backend files for the next boot)', ops: [{ op: 'netplan.generate' }] }],
  };
}
