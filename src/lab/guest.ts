// A tiny real guest on a lab host (`kvmnet lab up --guest hv1`): a transient qemu domain in
// software emulation (TCG), 64 MiB, no disk, one virtio NIC on libvirt's `default` network. With
// nothing to boot, its firmware's iPXE asks `default`'s dnsmasq for a lease and keeps trying: a
// guest that holds a tap in the bridge and talks DHCP, which is what network changes must not cut.
// It needs qemu-system-x86 on the machine; qemu's stdio goes to files, since no virtlogd runs in
// a lab host (`stdio_handler = "file"` in the host's private /etc/libvirt/qemu.conf).
import { LabError } from '../errors.js';
import { run } from './exec.js';
import { enterHost, startLibvirtd } from './host.js';
import { ensureQemuConf } from './host-files.js';
import { findCommand } from './preflight.js';
import { pidAlive, terminate } from './processes.js';
import type { LabHostState } from './state.js';

export const GUEST_NETWORK = 'default';
export const guestName = (host: string): string => `${host}-vm`;

/** The qemu binary a guest runs on, or null when qemu-system-x86 is not installed. */
export const qemuBinary = (): string | null => findCommand('qemu-system-x86_64');

export function guestXml(name: string, emulator: string): string {
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='network'/></os>
  <devices>
    <emulator>${emulator}</emulator>
    <interface type='network'><source network='${GUEST_NETWORK}'/><model type='virtio'/></interface>
    <video><model type='none'/></video>
    <memballoon model='none'/>
  </devices>
</domain>
`;
}

export interface GuestStarted {
  name: string;
  /** The guest's tap device in the network's bridge. */
  tap: string;
  /** From `virsh create` to the domain running. */
  ms: number;
  already: boolean;
}

/** Starts the host's guest (and `default`, if it is not active); a running guest is left as it is. */
export async function startGuest(host: LabHostState): Promise<GuestStarted> {
  const emulator = qemuBinary();
  if (!emulator) throw new LabError(`${host.name}: a guest needs qemu-system-x86_64 (apt-get install -y qemu-system-x86)`);
  const holder = host.holderPid;
  if (holder === null) throw new LabError(`${host.name}: no namespace holder`);
  const enter = enterHost(holder);
  if (ensureQemuConf(host.dir) && pidAlive(host.libvirtdPid)) {
    // libvirtd reads qemu.conf when it starts only.
    await terminate([host.libvirtdPid]);
    host.libvirtdPid = await startLibvirtd(host, holder);
  }
  const name = guestName(host.name);
  const virsh = (cmd: string, input?: string, timeoutMs = 30_000) => run([...enter, 'virsh', '-q', cmd], { input, timeoutMs, check: false });
  const state = await virsh(`domstate ${name}`);
  if (state.exitCode === 0 && state.stdout.trim() === 'running') return { name, tap: await guestTap(enter, name), ms: 0, already: true };
  const net = await virsh(`net-info ${GUEST_NETWORK}`);
  if (!/^Active:\s+yes/m.test(net.stdout)) {
    const started = await virsh(`net-start ${GUEST_NETWORK}`);
    if (started.exitCode !== 0) throw new LabError(`${host.name}: cannot start network ${GUEST_NETWORK}: ${started.stderr.trim()}`);
  }
  const t0 = Date.now();
  // The first domain of a host makes libvirt probe qemu's capabilities (~10 s under TCG).
  // The XML goes through a file: node's stdin pipe is a socket, which /dev/stdin cannot open.
  const create = 'f=$(mktemp) && cat >"$f" && virsh -q create "$f"; r=$?; rm -f "$f"; exit $r';
  const created = await run([...enter, 'sh', '-c', create], { input: guestXml(name, emulator), timeoutMs: 120_000, check: false });
  if (created.exitCode !== 0) throw new LabError(`${host.name}: cannot start guest ${name}: ${created.stderr.trim()}`);
  return { name, tap: await guestTap(enter, name), ms: Date.now() - t0, already: false };
}

async function guestTap(enter: string[], name: string): Promise<string> {
  const list = await run([...enter, 'virsh', '-q', 'domiflist', name], { timeoutMs: 30_000 });
  const tap = list.stdout.trim().split(/\s+/)[0];
  if (!tap || tap === '-') throw new LabError(`guest ${name} has no tap device (domiflist: ${list.stdout.trim()})`);
  return tap;
}
