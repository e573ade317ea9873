// The argument schemas of every task type. Types are derived from them (principle 6), and
// `kvmnet schema` turns them into the JSON Schema that editors use.
import { z } from 'zod';
import { PERSIST_KINDS } from '../persist/paths.js';
import { cidrProblem, interfaceNameProblem, ipProblem, macProblem, networkNameProblem } from './validators.js';

const check = (problem: (v: string) => string | undefined) =>
  z.string().check((ctx) => {
    const p = problem(ctx.value);
    if (p) ctx.issues.push({ code: 'custom', message: p, input: ctx.value });
  });

export const interfaceName = check(interfaceNameProblem).meta({ description: 'Linux interface name (1–15 bytes; no whitespace, /, :, %)' });
const networkName = check(networkNameProblem).meta({ description: 'libvirt network name' });
const cidr = check(cidrProblem).meta({ description: 'address/prefix, IPv4 or IPv6' });
const ip = check(ipProblem);
const mac = check(macProblem);
const vars = z.record(z.string(), z.unknown());

// Also written as a play keyword (the default of the play's ensure_bridge/port/ip tasks).
export const persist = z
  .enum(PERSIST_KINDS)
  .optional()
  .meta({ description: "also write the change to systemd-networkd files or ifupdown stanzas, so it survives a reboot (default: the play's persist, else none)" });

export const ensureBridgeArgs = z.strictObject({
  name: interfaceName,
  state: z.enum(['present', 'absent']).default('present'),
  stp: z.boolean().optional().meta({ description: 'Spanning Tree Protocol on the bridge' }),
  forward_delay: z.number().min(0).max(30).optional().meta({ description: 'seconds (0–30); with STP on the kernel enforces 2–30' }),
  mtu: z.number().int().min(68).max(65535).optional(),
  up: z.boolean().default(true),
  persist,
});

export const ensurePortArgs = z.strictObject({
  bridge: interfaceName,
  interface: interfaceName,
  state: z.enum(['present', 'absent']).default('present'),
  migrate: z.boolean().default(false).meta({ description: "move the interface's addresses and routes to the bridge in the same step (safe for the interface that carries SSH)" }),
  force: z.boolean().default(false).meta({ description: 'add the interface even if it carries the SSH session, without migrating (guarded by an automatic rollback)' }),
  persist,
});

export const ensureIpArgs = z.strictObject({
  dev: interfaceName,
  address: cidr,
  state: z.enum(['present', 'absent']).default('present'),
  exclusive: z.boolean().default(false).meta({ description: 'remove the other global addresses of this family from dev' }),
  persist,
});

const dhcpRange = z.strictObject({ start: ip, end: ip });
const dhcpHost = z.strictObject({ mac: mac.optional(), ip, name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/).optional() });

export const ensureLibvirtNetArgs = z
  .strictObject({
    name: networkName,
    state: z.enum(['active', 'inactive', 'defined', 'absent']).default('active'),
    autostart: z.boolean().optional(),
    template: z.string().min(1).optional().meta({ description: 'Handlebars XML template, looked up beside the playbook, then in templates/' }),
    vars: vars.optional().meta({ description: 'variables for the template' }),
    xml: z.string().min(1).optional().meta({ description: 'inline network XML' }),
    forward: z.enum(['nat', 'route', 'bridge', 'isolated', 'open']).optional(),
    bridge: z
      .strictObject({ name: interfaceName, stp: z.boolean().optional(), delay: z.number().int().min(0).max(30).optional() })
      .optional(),
    ip: z
      .strictObject({
        address: ip,
        netmask: ip.optional(),
        prefix: z.number().int().min(0).max(128).optional(),
        dhcp: z.strictObject({ ranges: z.array(dhcpRange).optional(), hosts: z.array(dhcpHost).optional() }).optional(),
      })
      .optional(),
    nat_ports: z.strictObject({ start: z.number().int().min(1).max(65535), end: z.number().int().min(1).max(65535) }).optional(),
  });

const expression = z.union([z.string().min(1), z.boolean()]);

/** The escape hatch: a command run as is. Not planned (its effect is unknown), only executed. */
export const commandArgs = z.strictObject({
  cmd: z.union([z.string().min(1), z.array(z.string()).min(1)]).meta({ description: 'a shell command line, or an argv list (each item quoted)' }),
  creates: z.string().min(1).optional().meta({ description: 'skip when this path exists on the host' }),
  removes: z.string().min(1).optional().meta({ description: 'skip unless this path exists on the host' }),
  changed_when: expression.optional().meta({ description: 'expression over rc, stdout, stderr; default: always changed' }),
  failed_when: expression.optional().meta({ description: 'expression over rc, stdout, stderr; default: rc != 0' }),
});

export const taskArgSchemas = {
  ensure_bridge: ensureBridgeArgs,
  ensure_port: ensurePortArgs,
  ensure_ip: ensureIpArgs,
  ensure_libvirt_net: ensureLibvirtNetArgs,
  command: commandArgs,
} as const;

export type TaskType = keyof typeof taskArgSchemas;
export const taskTypes = Object.keys(taskArgSchemas) as TaskType[];

export type EnsureBridgeArgs = z.output<typeof ensureBridgeArgs>;
export type EnsurePortArgs = z.output<typeof ensurePortArgs>;
export type EnsureIpArgs = z.output<typeof ensureIpArgs>;
export type CommandArgs = z.output<typeof commandArgs>;
/** Task types with a pure planner (all but `command`). */
export type PlannedTaskType = Exclude<TaskType, 'command'>;
export type EnsureLibvirtNetArgs = z.output<typeof ensureLibvirtNetArgs>;

export type TaskArgs = { [K in TaskType]: z.output<(typeof taskArgSchemas)[K]> };

/** Cross-field rules zod's object schemas don't express; return messages keyed by field. */
export function libvirtNetSourceProblems(args: Record<string, unknown>): Array<{ field: string; message: string }> {
  const structured = ['forward', 'bridge', 'ip', 'nat_ports'].filter((k) => args[k] !== undefined);
  const sources = [args.template !== undefined && 'template', args.xml !== undefined && 'xml', structured.length > 0 && 'structured fields'].filter(Boolean);
  const problems: Array<{ field: string; message: string }> = [];
  const second = [args.template !== undefined && 'template', args.xml !== undefined && 'xml', ...structured].filter((x): x is string => Boolean(x))[1];
  if (sources.length > 1) problems.push({ field: second ?? 'name', message: `give exactly one definition source (template, xml, or structured fields), found ${sources.join(' and ')}` });
  if (args.vars !== undefined && args.template === undefined) problems.push({ field: 'vars', message: 'vars are only used with template' });
  const ip = args.ip as { netmask?: unknown; prefix?: unknown } | undefined;
  if (ip && ip.netmask !== undefined && ip.prefix !== undefined) problems.push({ field: 'ip', message: 'give netmask or prefix, not both' });
  if (ip && ip.netmask === undefined && ip.prefix === undefined) problems.push({ field: 'ip', message: 'ip needs netmask or prefix' });
  const ports = args.nat_ports as { start?: number; end?: number } | undefined;
  if (ports && typeof ports.start === 'number' && typeof ports.end === 'number' && ports.start > ports.end) problems.push({ field: 'nat_ports', message: 'nat_ports.start must not exceed nat_ports.end' });
  if (ports && args.forward !== undefined && args.forward !== 'nat') problems.push({ field: 'nat_ports', message: 'nat_ports only applies to forward: nat' });
  if (args.forward === 'bridge' && !args.bridge) problems.push({ field: 'forward', message: "forward: bridge needs bridge: {name: …}, the host bridge to attach guests to" });
  return problems;
}
