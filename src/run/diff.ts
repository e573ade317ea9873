// Before/after text for link and address changes (shown by --diff through src/text/line-diff.ts).
import type { Facts } from '../model/facts.js';
import type { TaskDiff } from '../model/plan.js';
import { describeDevices } from '../facts/describe.js';

export function deviceDiff(before: Facts, after: Facts, devices: string[]): TaskDiff {
  return { before: describeDevices(before, devices), after: describeDevices(after, devices) };
}
