// Fault injection for the e2e fault tests: processes of one lab host, files in its private mount
// namespace, a copy of the lab inventory to edit, kvmnet as a child process to signal, a delaying
// TCP proxy. Everything here acts on ONE lab host, found by its network namespace (the lab has no
// PID namespace, so `pkill sshd` would hit every lab on this machine and the machine's own sshd).
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import YAML from 'yaml';
import { show, spawnCollect, spawnKvmnet, type RunningKvmnet } from '../exec.js';

export { spawnKvmnet };
import { inHost, inventory, kvmnet, labDir, labHost, scratchDir, type LabHost } from '../helpers.js';

import { sleep, waitFor } from '../helpers.js';

export { sleep, waitFor };

/** PATH inside host NAME's private mount namespace, seen from here through its namespace holder. */
export function hostPath(name: LabHost, path: string): string {
  const holder = labHost(name).holderPid;
  if (!holder) throw new Error(`${name}: no namespace holder in lab.json`);
  return `/proc/${holder}/root${path}`;
}

export interface HostProcess {
  pid: number;
  comm: string;
  /** argv joined with spaces. */
  args: string;
}

function netnsInode(name: LabHost): number {
  return statSync(`/run/netns/${labHost(name).netns}`).ino;
}

function zombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
  } catch {
    return true;
  }
}

/** Live processes in host NAME's network namespace: its sshd and libvirtd, SSH sessions, what they run. */
export function hostProcesses(name: LabHost): HostProcess[] {
  const ino = netnsInode(name);
  const found: HostProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      if (statSync(`/proc/${pid}/ns/net`).ino !== ino || zombie(pid)) continue;
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      found.push({ pid, comm, args });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** SIGKILLs PIDS and waits until none is alive any more. */
export async function killAndWait(pids: number[], signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
  await waitFor(`pids ${pids.join(',')} to die`, () => pids.every(zombie), 10_000, 20);
}

/** The process group of PID (a remote command's session shell leads one; what it started is in it). */
function processGroup(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return undefined;
  }
}

/**
 * Kills what a remote command left running on host NAME: the whole process group (session shell
 * and children) of every process of that host that MATCH selects. Returns what it killed.
 */
export async function killLeftovers(name: LabHost, match: (p: HostProcess) => boolean): Promise<HostProcess[]> {
  const procs = hostProcesses(name);
  const daemons = new Set([labHost(name).holderPid, labHost(name).sshdPid, labHost(name).libvirtdPid]);
  const groups = new Set(
    procs
      .filter(match)
      .map((p) => processGroup(p.pid))
      .filter((g) => g !== undefined && g > 1),
  );
  const victims = procs.filter((p) => groups.has(processGroup(p.pid)) && !daemons.has(p.pid));
  if (victims.length) await killAndWait(victims.map((p) => p.pid));
  return victims;
}

/**
 * Kills host NAME's sshd processes: with `listener`, the listener (pid from lab.json, checked to be
 * that host's sshd) AND every per-connection sshd; without, only the per-connection ones (the host
 * stays reachable for a new connection). Returns what it killed.
 */
export async function killSshd(name: LabHost, opts: { listener: boolean }): Promise<HostProcess[]> {
  const listenerPid = labHost(name).sshdPid;
  const all = hostProcesses(name).filter((p) => p.comm === 'sshd' || p.comm === 'sshd-session');
  if (opts.listener && !all.some((p) => p.pid === listenerPid))
    throw new Error(`${name}: lab.json's sshd ${listenerPid} is not an sshd of this host: ${JSON.stringify(all)}`);
  const victims = all.filter((p) => opts.listener || p.pid !== listenerPid);
  await killAndWait(victims.map((p) => p.pid));
  return victims;
}

/** `kvmnet lab up --dir DIR`: restarts what a test killed (sshd, libvirtd), leaves the rest alone. */
export async function restoreLab(): Promise<void> {
  // `lab up` rewrites the shared inventory with every host of the lab; other files may have grown
  // it (test/e2e/rollout), and the files that run on all inventory hosts expect the original.
  const shared = join(labDir(), 'inventory.yaml');
  const before = readFileSync(shared, 'utf8');
  let r;
  try {
    r = await kvmnet(['lab', 'up', '--dir', labDir()], { timeoutMs: 180_000 });
  } finally {
    writeFileSync(shared, before);
  }
  if (r.code !== 0) throw new Error(`could not restore the lab: ${show(r)}`);
}

// ---- inventory and known_hosts copies ---------------------------------------------------------

export interface LabInventoryDoc {
  all: {
    vars: Record<string, unknown>;
    children: { lab: { hosts: Record<string, Record<string, unknown>> } };
  };
}

/** A copy of the lab inventory in DIR, after EDIT; returns its path. */
export function inventoryCopy(dir: string, edit: (doc: LabInventoryDoc) => void, file = 'inventory.yaml'): string {
  const doc = YAML.parse(readFileSync(inventory(), 'utf8')) as LabInventoryDoc;
  edit(doc);
  const path = join(dir, file);
  writeFileSync(path, YAML.stringify(doc));
  return path;
}

/** The lab's known_hosts line for NAME, split: `{ name: '198.18.x.y', key: 'ssh-ed25519 AAAA…' }`. */
export function knownHostsEntry(name: LabHost): { name: string; key: string } {
  const address = labHost(name).address;
  const line = readFileSync(join(labDir(), 'known_hosts'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${address} `));
  if (!line) throw new Error(`${name}: no line for ${address} in the lab's known_hosts`);
  const [, type, blob] = line.split(/\s+/);
  return { name: address, key: `${type} ${blob}` };
}

/** `SHA256:…` of a public key (`type base64`), as ssh-keygen prints it. */
export async function fingerprintOf(key: string): Promise<string> {
  const file = join(scratchDir('fp'), 'key.pub');
  writeFileSync(file, `${key}\n`);
  const r = await spawnCollect(['ssh-keygen', '-l', '-E', 'sha256', '-f', file]);
  const fp = /SHA256:[A-Za-z0-9+/]+/.exec(r.stdout)?.[0];
  if (r.code !== 0 || !fp) throw new Error(`ssh-keygen -l: ${show(r)}`);
  return fp;
}

/** A copy of the real ssh-keygen with a fresh key pair: `{ key: private key path, pub: 'ssh-ed25519 AAAA…' }`. */
export async function newKeyPair(dir: string, label: string, passphrase = ''): Promise<{ key: string; pub: string }> {
  const key = join(dir, label);
  const r = await spawnCollect(['ssh-keygen', '-q', '-t', 'ed25519', '-N', passphrase, '-C', `kvmnet-e2e-${label}`, '-f', key]);
  if (r.code !== 0) throw new Error(`ssh-keygen: ${show(r)}`);
  return { key, pub: readFileSync(`${key}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ') };
}

// ---- playbooks ----------------------------------------------------------------------------------

/** The lines of bridged.yaml's tasks, indented for a `tasks:` list (so tests can put tasks around them). */
export const BRIDGED_TASKS = `    - name: bridge br0 with STP
      ensure_bridge: { name: br0, stp: true }
    - name: uplink eth1 as a port of br0
      ensure_port: { bridge: br0, interface: eth1 }
    - name: address on br0
      ensure_ip: { dev: br0, address: 192.168.0.90/24 }
    - name: libvirt network bridged-network on br0
      ensure_libvirt_net: { name: bridged-network, template: bridged-network.xml.hbs, vars: { bridge: br0 }, state: active, autostart: true }
`;

/** Waits until PRED holds while RUN is still going; if kvmnet ends first, fails at once with its output. */
export async function waitDuringRun(run: RunningKvmnet, what: string, pred: () => boolean, timeoutMs = 90_000): Promise<void> {
  await waitFor(what, () => pred() || run.exited(), timeoutMs);
  if (!pred()) throw new Error(`kvmnet ended before ${what}:\n${show(await run.done)}`);
}

// ---- a TCP proxy that adds latency ----------------------------------------------------------------

export interface DelayProxy {
  port: number;
  /** TCP connections accepted so far. */
  accepted(): number;
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1 (a free port) and forwards every connection to TARGET, holding each chunk
 * DELAYMS in each direction (latency, not a bandwidth limit: chunks stay in order, as timers of
 * the same duration fire in the order they were set).
 */
export async function startDelayProxy(target: { host: string; port: number }, delayMs: number): Promise<DelayProxy> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const forward = (from: Socket, to: Socket) => {
    from.on('data', (chunk: Buffer) => {
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, delayMs);
    });
    from.on('end', () => setTimeout(() => to.end(), delayMs));
    from.on('error', () => to.destroy());
    from.on('close', () => setTimeout(() => to.destroy(), delayMs + 50));
  };
  const server = createServer((client) => {
    accepted += 1;
    const upstream = connect({ host: target.host, port: target.port });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy: no port');
  return {
    port: address.port,
    accepted: () => accepted,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---- state a test must leave as it found it -------------------------------------------------------

/** The host's /usr/bin/virsh is the real binary (no test mount left over it). */
export async function virshIsReal(name: LabHost): Promise<boolean> {
  const r = await inHost(name, ['sh', '-c', 'head -c 4 /usr/bin/virsh | od -An -c'], { check: false });
  return r.code === 0 && /177\s+E\s+L\s+F/.test(r.stdout);
}

/** Every mount over /usr/bin/virsh in the host's mount namespace, removed. */
export async function unmountVirsh(name: LabHost): Promise<void> {
  for (let i = 0; i < 5 && !(await virshIsReal(name)); i++) await inHost(name, ['umount', '/usr/bin/virsh'], { check: false });
  if (!(await virshIsReal(name))) throw new Error(`${name}: /usr/bin/virsh is still covered by a test mount`);
}
