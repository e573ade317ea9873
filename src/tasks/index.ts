// The registry of planners: a mapped type, so adding a task type without its planner fails to compile.
import type { PlannedTaskType, TaskArgs } from '../config/task-schemas.js';
import type { Facts } from '../model/facts.js';
import type { Plan } from '../model/plan.js';
import { planEnsureBridge } from './ensure-bridge.js';
import { planEnsureIp } from './ensure-ip.js';
import { planEnsureLibvirtNet, type LibvirtNetInput } from './ensure-libvirt-net.js';
import { planEnsurePort } from './ensure-port.js';

export type PlannerInput = Omit<TaskArgs, 'ensure_libvirt_net' | 'command'> & { ensure_libvirt_net: LibvirtNetInput };

export type Planner<K extends PlannedTaskType> = (args: PlannerInput[K], facts: Facts, host: string) => Plan;

export const planners: { [K in PlannedTaskType]: Planner<K> } = {
  ensure_bridge: planEnsureBridge,
  ensure_port: planEnsurePort,
  ensure_ip: planEnsureIp,
  ensure_libvirt_net: planEnsureLibvirtNet,
};

/** Tasks that need libvirt on the host. */
export const needsLibvirt = (type: PlannedTaskType): boolean => type === 'ensure_libvirt_net';

export function plan<K extends PlannedTaskType>(type: K, args: PlannerInput[K], facts: Facts, host: string): Plan {
  return (planners[type] as Planner<K>)(args, facts, host);
}
