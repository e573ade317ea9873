import { readdirSync, rmdirSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireLock } from './lock.js';
import { netnsInode, pidsInNetns, terminate } from './processes.js';
import { deleteLinksAndNetns, prefixLeftovers } from './root-net.js';
import { hasLabState, labPaths, readLabState } from './state.js';
import { removeVms } from './vm-up.js';

/**
 * Removes what the lab made and nothing else: processes inside its namespaces (daemons, dnsmasq,
 * SSH sessions; their private mounts die with them), the links and namespaces recorded in
 * lab.json or named with its prefix, and the files it wrote. A dir without a lab is a no-op.
 */
export async function labDown(opts: { dir: string }, log: (line: string) => void = () => {}): Promise<void> {
  const started = Date.now();
  const paths = labPaths(opts.dir);
  if (!hasLabState(paths.dir)) {
    log(`no lab in ${paths.dir}; nothing to do`);
    return;
  }
  const state = readLabState(paths.dir);
  const unlock = acquireLock(paths.lock);
  try {
    const left = await prefixLeftovers(state.prefix);
    const netns = [...new Set([...state.hosts.map((h) => h.netns).filter((ns) => ns !== ''), ...left.netns])];
    const links = [...new Set([...state.hosts.flatMap((h) => h.links), ...(state.vm?.switch.links ?? []), ...left.links, state.bridge])];

    const pids = netns.flatMap((ns) => {
      const inode = netnsInode(ns);
      return inode === null ? [] : pidsInNetns(inode);
    });
    await terminate(pids);
    log(`stopped ${pids.length} process(es) in ${netns.length} host namespace(s)`);
    // VM labs: QEMU's taps vanish with it; the lab bridge goes below with the links.
    const vms = await removeVms(state);
    if (state.vm || vms > 0) log(`stopped ${vms} VM(s)`);
    await deleteLinksAndNetns(links, netns);
    log(`deleted ${netns.length} netns and the links of prefix ${state.prefix}`);

    // In parallel: on a disk mounted with `discard` every unlink waits for the device.
    await Promise.all(state.hosts.map((h) => rm(h.dir, { recursive: true, force: true })));
    rmSync(paths.hostsDir, { recursive: true, force: true });
    rmSync(join(paths.dir, 'vm'), { recursive: true, force: true });
    for (const file of [paths.inventory, paths.knownHosts, paths.key, `${paths.key}.pub`, `${paths.state}.tmp`, paths.state]) {
      rmSync(file, { force: true });
    }
  } finally {
    unlock();
  }
  if (state.createdDir) {
    try {
      if (readdirSync(paths.dir).length === 0) rmdirSync(paths.dir);
    } catch {
      // something else lives there now: keep it
    }
  }
  log(`lab ${state.prefix} down in ${Date.now() - started} ms`);
}
