// `persist: netplan` in a task's plan: its runtime changes, then the netplan files of the devices it
// is about (netplan-files.ts), then `netplan generate` (validation + the backend's files for the
// next boot; no `netplan apply`). Pure.
import type { Facts } from '../model/facts.js';
import { factsAfter, type Plan } from '../model/plan.js';
import { fileChanges, withPersistence } from './plan.js';
import { netplanWants } from './netplan-files.js';
import { renderedDevices } from './task-devices.js';

export function withNetplanFiles(runtime: Plan, args: Record<string, unknown>, facts: Facts, host: string): Plan {
  const after = factsAfter(runtime.changes, facts);
  const wants = netplanWants(after, renderedDevices(runtime, args, facts, after), host, facts);
  const plan = withPersistence(runtime, 'netplan', wants, facts);
  if (fileChanges(wants, facts).length === 0) return plan;
  return {
    ...plan,
    changes: [...plan.changes, { summary: 'netplan generate (validates; the backend files for the next boot)', ops: [{ op: 'netplan.generate' }] }],
  };
}
