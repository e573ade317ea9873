import pLimit from 'p-limit';
import { LabError } from '../errors.js';
import { run } from './exec.js';
import { enterHost, libvirtdAnswers, sshBanner } from './host.js';
import { labPaths, readLabState, type LabState } from './state.js';

export interface LabHostStatus {
  name: string;
  address: string;
  netns: string;
  /** sshd accepted a TCP connection and sent an SSH banner. */
  sshd: boolean;
  /** The host's own libvirtd answered `virsh net-list` within 8 s. */
  libvirtd: boolean;
}

export async function labStatus(opts: { dir: string }): Promise<LabHostStatus[]> {
  const state = readLabState(opts.dir);
  // Banners first, on their own: spawning 20 virsh processes (synchronous in Node) at the same
  // time would stall the event loop past the banner timeouts of the first hosts.
  const banners = await Promise.all(state.hosts.map((h) => sshBanner(h.address, 3000)));
  // A few virsh at a time: on a loaded 2-CPU machine 20 at once time out for no fault of libvirtd.
  const limit = pLimit(4);
  const libvirtd = await Promise.all(state.hosts.map((h) => limit(() => (state.vm ? vmLibvirtdAnswers(state, h.name, 8000) : libvirtdAnswers(h, 8000)))));
  return state.hosts.map((h, i) => ({ name: h.name, address: h.address, netns: h.netns, sshd: banners[i] !== null, libvirtd: libvirtd[i] ?? false }));
}

/** argv prefix that runs a command inside host NAME's network, mount and UTS namespaces. */
export function hostCommand(state: LabState, name: string): string[] {
  const host = state.hosts.find((h) => h.name === name);
  if (!host) throw new LabError(`no host ${name} in the lab (${state.hosts.map((h) => h.name).join(', ')})`);
  if (state.vm) throw new LabError(`${name} is a VM: run commands on it over SSH (sshCommand)`);
  if (host.holderPid === null) throw new LabError(`${name} has no namespace holder; run \`kvmnet lab up\``);
  return enterHost(host.holderPid);
}

/** Whether a VM host's libvirtd answers `virsh net-list` (over SSH: a VM has no namespace to enter). */
async function vmLibvirtdAnswers(state: LabState, name: string, timeoutMs: number): Promise<boolean> {
  const r = await run([...sshCommand(state, name), 'virsh -q -c qemu:///system net-list --all'], { timeoutMs, check: false }).catch(() => null);
  return r?.exitCode === 0;
}

/** argv prefix of an `ssh` to host NAME as kvmnet would connect: lab key, strict host-key checking. VM labs: also the switch, `sw`. */
export function sshCommand(state: LabState, name: string): string[] {
  const host = [...state.hosts, ...(state.vm ? [state.vm.switch] : [])].find((h) => h.name === name);
  if (!host) throw new LabError(`no host ${name} in the lab`);
  const paths = labPaths(state.dir);
  return [
    'ssh',
    '-i',
    paths.key,
    // ssh splits this option's value on whitespace unless it is double-quoted.
    '-o',
    `UserKnownHostsFile="${paths.knownHosts}"`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    `root@${host.address}`,
  ];
}
