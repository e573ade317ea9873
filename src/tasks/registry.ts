// THE list of task types. Everything else (loader, JSON Schema, facts, executor, persistence,
// views) iterates over it or looks types up in it; adding a task type is one line here.
import { command } from './command.js';
import { ensureBond } from './ensure-bond.js';
import { ensureBridge } from './ensure-bridge.js';
import { ensureDhcpHost } from './ensure-dhcp-host.js';
import { ensureDnsHost } from './ensure-dns-host.js';
import { ensureGuestNic } from './ensure-guest-nic.js';
import { ensureIp } from './ensure-ip.js';
import { ensureLibvirtNet } from './ensure-libvirt-net.js';
import { ensurePort } from './ensure-port.js';
import { ensurePortForward } from './ensure-port-forward.js';
import { ensureVlan } from './ensure-vlan.js';
import { ensureRoute } from './ensure-route.js';
import { ensureRule } from './ensure-rule.js';
import { ensureVxlan } from './ensure-vxlan.js';
import { ensureOvsBridge } from './ensure-ovs-bridge.js';
import { ensureNmUnmanaged } from './ensure-nm-unmanaged.js';

export const taskModules = [
  ensureBond,
  ensureVlan,
  ensureBridge,
  ensurePort,
  ensureIp,
  ensureLibvirtNet,
  ensureDhcpHost,
  ensureDnsHost,
  ensurePortForward,
  ensureGuestNic,
  ensureRoute,
  ensureRule,
  ensureVxlan,
  ensureOvsBridge,
  ensureNmUnmanaged,
  command,
] as const;

export type AnyTaskModule = (typeof taskModules)[number];
export type TaskType = AnyTaskModule['type'];
export type TaskModuleOf<K extends TaskType> = Extract<AnyTaskModule, { type: K }>;

export const taskTypes: TaskType[] = taskModules.map((m) => m.type);

const byType = new Map<string, AnyTaskModule>(taskModules.map((m) => [m.type, m]));

export function taskModule<K extends TaskType>(type: K): TaskModuleOf<K> {
  return byType.get(type) as TaskModuleOf<K>;
}

export const isTaskType = (name: string): name is TaskType => byType.has(name);
