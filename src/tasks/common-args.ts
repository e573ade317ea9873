// Argument schemas shared by several task types.
import { z } from 'zod';
import { PERSIST_KINDS } from '../model/persist-kinds.js';
import { cidrProblem, interfaceNameProblem, ipProblem, macProblem, networkNameProblem } from '../config/validators.js';

const check = (problem: (v: string) => string | undefined) =>
  z.string().check((ctx) => {
    const p = problem(ctx.value);
    if (p) ctx.issues.push({ code: 'custom', message: p, input: ctx.value });
  });

export const interfaceName = check(interfaceNameProblem).meta({ description: 'Linux interface name (1–15 bytes; no whitespace, /, :, %)' });
export const networkName = check(networkNameProblem).meta({ description: 'libvirt network name' });
export const cidr = check(cidrProblem).meta({ description: 'address/prefix, IPv4 or IPv6' });
export const ip = check(ipProblem);
export const mac = check(macProblem);
export const presence = z.enum(['present', 'absent']).default('present');

// Also written as a play keyword (the default of the play's tasks that persist).
export const persist = z.enum(PERSIST_KINDS).optional().meta({
  description:
    "also write the change to systemd-networkd files or ifupdown stanzas, so it survives a reboot; auto: the format of the manager the host runs (default: the play's persist, else none)",
});
