import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LabError } from '../errors.js';
import type { LabSubnet } from './names.js';

export interface LabHostState {
  /** Inventory name: hv1 … hvN. */
  name: string;
  index: number;
  netns: string;
  /** Management address of mgmt0 (sshd listens here). */
  address: string;
  /** The process that holds the host's mount and UTS namespaces (and sits in its netns); `hostCommand` enters it. */
  holderPid: number | null;
  sshdPid: number | null;
  libvirtdPid: number | null;
  /** Links this host owns in the root namespace (the root ends of its veth pairs). */
  links: string[];
  /** Private files of this host (its /root, /etc/libvirt, /var/lib/libvirt, keys …). */
  dir: string;
  /** `backports`: the host runs bookworm-backports' libvirt (libvirt-backports.ts); absent: the machine's. */
  libvirt?: 'backports';
  /** VM labs only: the host's QEMU process (netns, holderPid, sshdPid, libvirtdPid are unused then). */
  qemuPid?: number | null;
  /** VM labs: `systemd` when the host boots systemd (`lab up --init systemd`) and can reboot. */
  init?: 'systemd';
  /** `--init systemd`: the network manager the host runs (`lab up --manager`). */
  manager?: LabManager;
}

/** The network stack a `--init systemd` VM host runs (vm-managers.ts). */
export type LabManager = 'networkd' | 'networkmanager' | 'netplan' | 'ifupdown' | 'ifupdown2' | 'none';

/** What a VM lab adds: the kernel it boots and the lab switch (vm-up.ts). */
export interface LabVmState {
  kernel: string;
  initrd: string;
  /** Kernel release, e.g. 6.1.0-57-amd64. */
  release: string;
  switch: LabHostState;
}

export interface LabState {
  version: 1;
  dir: string;
  prefix: string;
  subnet: LabSubnet;
  bridge: string;
  /** Whether `up` created `dir` (then `down` removes it when it is empty). */
  createdDir: boolean;
  hosts: LabHostState[];
  /** Absent: hosts are network namespaces (the default). Present: hosts are QEMU VMs. */
  vm?: LabVmState;
}

export interface LabPaths {
  dir: string;
  state: string;
  lock: string;
  inventory: string;
  knownHosts: string;
  key: string;
  hostsDir: string;
}

export function labPaths(dir: string): LabPaths {
  const abs = resolve(dir);
  return {
    dir: abs,
    state: join(abs, 'lab.json'),
    lock: join(abs, 'lab.lock'),
    inventory: join(abs, 'inventory.yaml'),
    knownHosts: join(abs, 'known_hosts'),
    key: join(abs, 'id_ed25519'),
    hostsDir: join(abs, 'hosts'),
  };
}

export function hasLabState(dir: string): boolean {
  return existsSync(labPaths(dir).state);
}

export function readLabState(dir: string): LabState {
  const path = labPaths(dir).state;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new LabError(`no lab in ${resolve(dir)} (${path} is missing); create one with \`kvmnet lab up\``, { cause: err });
  }
  let state: LabState;
  try {
    state = JSON.parse(text) as LabState;
  } catch (err) {
    throw new LabError(`${path} is not valid JSON`, { cause: err });
  }
  if (state.version !== 1 || typeof state.prefix !== 'string' || !Array.isArray(state.hosts)) {
    throw new LabError(`${path} is not a kvmnet lab state file (version 1)`);
  }
  return state;
}

/** Atomic, so a crash mid-write never leaves `down` without the list of what to remove. */
export function writeLabState(state: LabState): void {
  const path = labPaths(state.dir).state;
  const sorted = { ...state, hosts: [...state.hosts].sort((a, b) => a.index - b.index) };
  writeFileSync(`${path}.tmp`, `${JSON.stringify(sorted, null, 2)}\n`, { mode: 0o644 });
  renameSync(`${path}.tmp`, path);
}
