import { readdirSync, readFileSync, statSync } from 'node:fs';

/** Inode of a namespace file: equal inodes mean the same namespace. null when it does not exist. */
export function nsInode(path: string): number | null {
  try {
    return statSync(path).ino;
  } catch {
    return null;
  }
}

export const netnsInode = (netns: string): number | null => nsInode(`/run/netns/${netns}`);

/** Alive and not a zombie (PID 1 here reaps lazily, so a killed daemon lingers as `Z` for a while). */
export function pidAlive(pid: number | null | undefined): pid is number {
  if (!pid) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Whether PID is alive and sits in the network namespace with this inode (guards against PID reuse). */
export function pidInNetns(pid: number | null | undefined, inode: number | null): pid is number {
  return inode !== null && pidAlive(pid) && nsInode(`/proc/${pid}/ns/net`) === inode;
}

/** Every live process in the network namespace with this inode: the holder, daemons, dnsmasq, SSH sessions. */
export function pidsInNetns(inode: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const pid = Number(entry);
    if (nsInode(`/proc/${pid}/ns/net`) === inode && pidAlive(pid)) pids.push(pid);
  }
  return pids;
}

export function readPidFile(path: string): number | null {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGTERM, then SIGKILL whatever is still alive after `graceMs`; resolves when all are gone. */
export async function terminate(pids: number[], graceMs = 2000): Promise<void> {
  const signal = (sig: NodeJS.Signals, list: number[]) => {
    for (const pid of list) {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  };
  signal('SIGTERM', pids);
  const deadline = Date.now() + graceMs;
  let alive = pids.filter((p) => pidAlive(p));
  while (alive.length > 0 && Date.now() < deadline) {
    await sleep(20);
    alive = alive.filter((p) => pidAlive(p));
  }
  if (alive.length === 0) return;
  signal('SIGKILL', alive);
  const killDeadline = Date.now() + 5000;
  while (alive.length > 0 && Date.now() < killDeadline) {
    await sleep(20);
    alive = alive.filter((p) => pidAlive(p));
  }
}
