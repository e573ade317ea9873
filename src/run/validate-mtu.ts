// The MTU sense of `validate`: per host, the MTUs a play's tasks give links (any task with `name`
// and `mtu`: bridges, bonds, VLANs, VXLANs), and a VXLAN whose MTU plus its encapsulation
// (50 bytes, 70 over IPv6) is more than its underlay's — both known from the playbook alone — is a
// warning where the VXLAN's task is written. What only the host knows is reported by the plan.
import type { SpecLocation } from '../config/playbook.js';
import type { Diagnostic } from '../errors.js';
import { vxlanOverhead } from '../ops/link.js';

export class MtuSense {
  private readonly mtus = new Map<string, Map<string, number>>();
  private readonly found = new Map<string, { loc: SpecLocation; message: string; hosts: string[] }>();

  /** A task's parsed arguments, in play order. */
  observe(type: string, args: Record<string, unknown>, host: string, loc: SpecLocation): void {
    const known = this.mtus.get(host) ?? new Map<string, number>();
    this.mtus.set(host, known);
    const name = typeof args.name === 'string' ? args.name : undefined;
    const mtu = typeof args.mtu === 'number' ? args.mtu : undefined;
    if (type === 'ensure_vxlan' && args.state !== 'absent' && typeof args.dev === 'string') {
      const under = known.get(args.dev);
      const overhead = vxlanOverhead({ local: args.local as string | undefined, group: args.group as string | undefined });
      // Without an mtu the kernel gives the VXLAN its underlay's minus the overhead: it fits.
      if (under !== undefined && mtu !== undefined && mtu + overhead > under) {
        const message = `VXLAN ${name} mtu ${mtu} + ${overhead} bytes of encapsulation is more than the mtu ${under} this play gives its underlay ${args.dev}: frames above ${under - overhead} bytes will be lost`;
        const key = `${loc.file}:${loc.line}:${loc.col}\n${message}`;
        const entry = this.found.get(key) ?? { loc, message, hosts: [] };
        entry.hosts.push(host);
        this.found.set(key, entry);
      }
    }
    if (name !== undefined && mtu !== undefined) known.set(name, mtu);
  }

  diagnostics(): Diagnostic[] {
    return [...this.found.values()].map(({ loc, message, hosts }) => ({
      severity: 'warning',
      file: loc.file,
      line: loc.line,
      col: loc.col,
      path: loc.path,
      message: `${message} (${hosts.length === 1 ? 'host' : `${hosts.length} hosts`}: ${hosts.slice(0, 5).join(', ')}${hosts.length > 5 ? ` … and ${hosts.length - 5} more` : ''})`,
    }));
  }
}
