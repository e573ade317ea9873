// VLANs for guests through libvirt: ensure_libvirt_net's `vlan`, `portgroups` and `virtualport`
// fields — their schema, the rules across them, and what the template renders. Pure.
//
// libvirt (formatnetwork.html, "Setting VLAN tag"): a network-level <vlan> applies to every guest
// of the network, a <portgroup>'s to the guests that name it (`<source network=… portgroup=…>`),
// the default portgroup's to guests that name none. libvirt tags guests' traffic itself only where
// it can: an Open vSwitch bridge (<virtualport type='openvswitch'>), SR-IOV `hostdev` and macvtap
// `passthrough` networks (SR-IOV VFs), and — since libvirt 11.0 — Linux host bridges. libvirt 9.0 (Debian 12)
// refuses a <vlan> on any other network at net-define (checked on a lab host, see README).
import { z } from 'zod';
import type { ArgProblem } from './contract.js';
import { shown } from '../text/shown.js';

const vlanId = z.number().int().min(1, 'a VLAN id is 1–4094').max(4094, 'a VLAN id is 1–4094');

export const vlanSchema = z
  .strictObject({
    tags: z.array(vlanId).min(1, 'a vlan needs at least one tag').meta({ description: 'VLAN ids (1–4094); more than one makes a trunk' }),
    trunk: z.boolean().optional().meta({ description: 'the guest port is a trunk (tagged); implied by more than one tag' }),
    native: vlanId.optional().meta({ description: 'on a trunk: the tag whose traffic the guest sends and receives without a tag (one of tags)' }),
    native_mode: z
      .enum(['tagged', 'untagged'])
      .optional()
      .meta({ description: "how the native VLAN leaves the guest port (libvirt's nativeMode; default untagged)" }),
  })
  .meta({ description: "libvirt <vlan>: tags applied to the guests' ports (Open vSwitch networks: forward bridge with virtualport openvswitch)" });

export const portgroupSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'a portgroup name is letters, digits, _ . - (starting with a letter or digit)'),
  default: z.boolean().optional().meta({ description: 'the portgroup of guests that name none (at most one)' }),
  vlan: vlanSchema.optional(),
});

export const virtualportSchema = z
  .enum(['openvswitch'])
  .meta({ description: "<virtualport type='openvswitch'>: the bridge is an Open vSwitch bridge (forward: bridge)" });

type Vlan = z.output<typeof vlanSchema>;
type Portgroup = z.output<typeof portgroupSchema>;

/** What network.xml.hbs renders: one entry per tag, the native one with its mode. */
export interface VlanXml {
  trunk: boolean;
  tags: Array<{ id: number; native_mode?: 'tagged' | 'untagged' }>;
}

export function vlanXml(v: Vlan): VlanXml {
  const mode = v.native_mode ?? 'untagged';
  // libvirt prints trunk='yes' only when it is true (and sets it itself for several tags): never render 'no'.
  return { trunk: v.trunk === true, tags: v.tags.map((id) => (id === v.native ? { id, native_mode: mode } : { id })) };
}

export function portgroupsXml(pgs: readonly Portgroup[]): Array<{ name: string; default: boolean; vlan?: VlanXml }> {
  return pgs.map((p) => ({ name: p.name, default: p.default === true, ...(p.vlan ? { vlan: vlanXml(p.vlan) } : {}) }));
}

export const isTemplated = (v: unknown): boolean => typeof v === 'string' && v.includes('{{');
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The rules inside one vlan (libvirt's own, checked before any host is contacted). */
function vlanProblems(v: unknown, field: string, at: Array<string | number>): ArgProblem[] {
  if (!isObj(v) || !Array.isArray(v.tags)) return [];
  const out: ArgProblem[] = [];
  const tags = v.tags.filter((t): t is number => typeof t === 'number');
  const dup = tags.find((t, i) => tags.indexOf(t) !== i);
  if (dup !== undefined) out.push({ field, at: [...at, 'tags'], message: `VLAN ${dup} is listed twice` });
  if (v.trunk === false && v.tags.length > 1)
    out.push({
      field,
      at: [...at, 'trunk'],
      message: 'more than one tag makes a trunk: trunk: false allows one tag only (libvirt: "trunk=\'yes\' is required for more than one vlan tag")',
    });
  if (v.native !== undefined) {
    if (typeof v.native === 'number' && !tags.includes(v.native))
      out.push({ field, at: [...at, 'native'], message: `the native VLAN must be one of tags (${tags.join(', ')}), found ${v.native}` });
    if (v.trunk === false)
      out.push({ field, at: [...at, 'native'], message: 'a native VLAN needs a trunk (libvirt: "trunk=\'no\' is not allowed with a native vlan id")' });
  } else if (v.native_mode !== undefined) out.push({ field, at: [...at, 'native_mode'], message: 'native_mode needs native: the tag it applies to' });
  return out;
}

/**
 * The rules across vlan, portgroups, virtualport and forward. A Linux host bridge is refused here,
 * before any host: the libvirt this was built and tested with (9.0) refuses it at net-define.
 */
export function vlanArgProblems(args: Record<string, unknown>): ArgProblem[] {
  const out: ArgProblem[] = [];
  const pgs = Array.isArray(args.portgroups) ? args.portgroups : [];
  out.push(...vlanProblems(args.vlan, 'vlan', []));
  pgs.forEach((p, i) => out.push(...vlanProblems(isObj(p) ? p.vlan : undefined, 'portgroups', [i, 'vlan'])));

  const names = pgs.map((p) => (isObj(p) ? p.name : undefined));
  names.forEach((n, i) => {
    if (typeof n === 'string' && names.indexOf(n) !== i)
      out.push({
        field: 'portgroups',
        at: [i, 'name'],
        message: `portgroup '${n}' is given twice (libvirt: "multiple <portgroup> elements with the same name")`,
      });
  });
  const defaults = pgs.map((p, i) => (isObj(p) && p.default === true ? i : -1)).filter((i) => i >= 0);
  if (defaults.length > 1) {
    out.push({
      field: 'portgroups',
      at: [defaults[1]!, 'default'],
      message: `only one portgroup can be the default, found ${defaults.map((i) => `'${String(names[i])}'`).join(' and ')}`,
    });
  }

  // A templated forward mode is judged once rendered (this runs again per host then).
  if (isTemplated(args.forward) || isTemplated(args.virtualport)) return out;
  if (args.virtualport !== undefined && args.forward !== 'bridge') {
    out.push({
      field: 'virtualport',
      message: `virtualport: openvswitch needs forward: bridge (guests plugged into an existing Open vSwitch bridge), found forward: ${shown(args.forward ?? '(none: isolated)')}`,
    });
  }
  const vlanAt: ArgProblem | undefined =
    args.vlan !== undefined
      ? { field: 'vlan', message: '' }
      : pgs.map((p, i) => (isObj(p) && p.vlan !== undefined ? { field: 'portgroups', at: [i, 'vlan'], message: '' } : undefined)).find(Boolean);
  const tagged = (args.forward === 'bridge' && args.virtualport === 'openvswitch') || args.forward === 'passthrough' || args.forward === 'hostdev';
  if (vlanAt && !tagged) out.push({ ...vlanAt, message: vlanRefusal(args.forward) });
  return out;
}

/** Why libvirt will not tag guests of this kind of network, and what to use instead. */
function vlanRefusal(forward: unknown): string {
  const where =
    'libvirt tags guest traffic only on an Open vSwitch bridge (forward: bridge with virtualport: openvswitch) and on SR-IOV networks (forward: passthrough or hostdev)';
  if (forward === 'bridge') {
    return (
      `VLANs on a Linux host bridge: libvirt 9.0 (Debian 12) refuses them at net-define ("unsupported configuration: <vlan> element specified for network NAME, whose type doesn't support vlan configuration"); ` +
      `libvirt 11.0 added Linux bridges, which kvmnet has not been tested with (give such a definition as template or xml). ${where}; ` +
      "or give the VLAN-aware bridge's uplink its VLANs (ensure_port vlans) and put guests on a bridge per VLAN"
    );
  }
  return `a ${shown(forward ?? 'isolated')} network cannot carry VLAN tags: its guests are on a bridge libvirt makes itself. ${where}`;
}
