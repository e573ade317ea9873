// Brings ONE lab of 3 hypervisors up for the whole e2e run and removes it afterwards, also when
// tests fail. If the lab cannot come up (not root, missing packages, no namespaces) this FAILS
// the run: an e2e suite that silently skips proves nothing.
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { TestProject } from 'vitest/node';
import { readLabState, subnetForPrefix } from '../../src/lab/index.js';
import { pidAlive } from '../../src/lab/processes.js';
import './context.js';
import { LAB_HOSTS } from './context.js';
import { kvmnet, KVMNET_BIN, REPO, show } from './exec.js';

const TMP_PREFIX = 'kvmnet-e2e-';
const OWNER_FILE = 'e2e-owner.json';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.getuid?.() !== 0) {
    throw new Error('e2e: the lab needs root (network namespaces, veths, sshd, libvirtd): run `npx vitest run --project e2e` as root');
  }
  if (!existsSync(join(REPO, 'dist', 'bundle', 'kvmnet.cjs'))) {
    throw new Error('e2e: dist/ is missing: build first (`npm run build`); the tests run the CLI from dist/ like a user would');
  }
  warnIfStale();
  await removeStaleRuns();

  const prefix = pickPrefix();
  const tmp = mkdtempSync(join(tmpdir(), TMP_PREFIX));
  writeFileSync(join(tmp, OWNER_FILE), JSON.stringify({ pid: process.pid, prefix }) + '\n');
  // A dir that does not exist yet: `lab up` creates it and `lab down` then removes it.
  const labDir = join(tmp, 'lab');

  const started = Date.now();
  const up = await kvmnet(['lab', 'up', '--dir', labDir, '--prefix', prefix, '-n', String(LAB_HOSTS.length)], { timeoutMs: 180_000 });
  if (up.code !== 0) {
    const down = await kvmnet(['lab', 'down', '--dir', labDir], { timeoutMs: 120_000 });
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`e2e: the lab did not come up (prefix ${prefix}):\n${show(up)}\n(lab down afterwards: exit ${down.code} ${down.stderr.trim()})`);
  }
  const state = readLabState(labDir);
  const names = state.hosts.map((h) => h.name);
  if (names.join(',') !== LAB_HOSTS.join(',')) {
    await kvmnet(['lab', 'down', '--dir', labDir], { timeoutMs: 120_000 });
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`e2e: expected lab hosts ${LAB_HOSTS.join(',')}, lab.json has ${names.join(',')}`);
  }
  console.log(`[e2e] lab ${prefix} up in ${Date.now() - started} ms: ${state.hosts.map((h) => `${h.name} ${h.address}`).join(', ')} (${labDir})`);

  project.provide('labDir', labDir);
  project.provide('labPrefix', prefix);
  project.provide('e2eTmp', tmp);

  // vitest does not run the teardown when it is interrupted (Ctrl-C exits at once): remove the
  // lab synchronously on the way out then, so an interrupted run leaves nothing behind either.
  let tornDown = false;
  const emergencyDown = () => {
    if (tornDown) return;
    tornDown = true;
    try {
      execFileSync(process.execPath, [KVMNET_BIN, 'lab', 'down', '--dir', labDir], { stdio: 'ignore', timeout: 60_000 });
      rmSync(tmp, { recursive: true, force: true });
    } catch {
      // the next run's removeStaleRuns() finds it (its owner pid is dead)
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    emergencyDown();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('exit', emergencyDown);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  return async () => {
    tornDown = true;
    process.off('exit', emergencyDown);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    const t0 = Date.now();
    // Every process of the lab (sshd, libvirtd, dnsmasq, holders) must be gone after `down`.
    const pids = labPids(prefix);
    const down = await kvmnet(['lab', 'down', '--dir', labDir], { timeoutMs: 120_000 });
    const left = [...leftovers(prefix), ...pids.filter((p) => pidAlive(p)).map((p) => `process ${p} (${comm(p)})`)];
    rmSync(tmp, { recursive: true, force: true });
    if (down.code !== 0 || left.length > 0) {
      throw new Error(`e2e: lab ${prefix} was not removed cleanly: ${left.join(', ') || 'no leftovers'}\n${show(down)}`);
    }
    console.log(`[e2e] lab ${prefix} down in ${Date.now() - t0} ms (${pids.length} processes in its namespaces, none left)`);
  };
}

/**
 * `kt` + 3 random [a-z0-9]. The lab's /24 is derived from the prefix: pick one whose subnet and
 * names nothing on this machine uses yet (other engineers' labs run here too).
 */
export function pickPrefix(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const addrs = JSON.parse(execFileSync('ip', ['-j', '-4', 'addr', 'show'], { encoding: 'utf8' }) || '[]') as Array<{
    addr_info?: Array<{ local: string }>;
  }>;
  const used = new Set(addrs.flatMap((l) => (l.addr_info ?? []).map((a) => a.local.split('.').slice(0, 3).join('.'))));
  const routes = execFileSync('ip', ['-4', 'route', 'show'], { encoding: 'utf8' });
  for (let attempt = 0; attempt < 50; attempt++) {
    const prefix = `kt${Array.from({ length: 3 }, () => alphabet[randomInt(alphabet.length)]).join('')}`;
    const { base } = subnetForPrefix(prefix);
    if (used.has(base) || routes.includes(`${base}.`) || leftovers(prefix).length > 0) continue;
    return prefix;
  }
  throw new Error('e2e: could not find a free lab prefix/subnet in 50 attempts');
}

/** Namespaces and links of this prefix still present in the root namespace. */
export function leftovers(prefix: string): string[] {
  const netns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`${prefix}-`));
  const links = (JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' }) || '[]') as Array<{ ifname: string }>)
    .map((l) => l.ifname)
    .filter((n) => n.startsWith(`${prefix}-`));
  return [...netns.map((n) => `netns ${n}`), ...links.map((l) => `link ${l}`)];
}

/** PIDs of every process inside the lab's network namespaces. */
function labPids(prefix: string): number[] {
  const inodes = new Set<number>();
  for (const ns of readdirSync('/run/netns')) {
    if (ns.startsWith(`${prefix}-`)) inodes.add(statSync(join('/run/netns', ns)).ino);
  }
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      if (inodes.has(statSync(`/proc/${entry}/ns/net`).ino)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** A previous run killed before its teardown left its lab behind: remove it (only ours, owner dead). */
async function removeStaleRuns(): Promise<void> {
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith(TMP_PREFIX)) continue;
    const dir = join(tmpdir(), entry);
    let owner: { pid: number; prefix: string };
    try {
      owner = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as { pid: number; prefix: string };
    } catch {
      continue;
    }
    if (pidAlive(owner.pid)) continue;
    if (existsSync(join(dir, 'lab', 'lab.json'))) {
      const down = await kvmnet(['lab', 'down', '--dir', join(dir, 'lab')], { timeoutMs: 120_000 });
      console.warn(`[e2e] removed the lab ${owner.prefix} a killed e2e run left in ${dir} (exit ${down.code})`);
      if (down.code !== 0) continue;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** dist/ older than src/ means the e2e tests would exercise stale code: say so loudly. */
function warnIfStale(): void {
  const stale: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      // Declaration files (.d.ts) have no output of their own.
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
        const out = join(REPO, 'dist', relative(join(REPO, 'src'), p)).replace(/\.ts$/, '.js');
        const bundle = join(REPO, 'dist', 'bundle', 'kvmnet.cjs');
        if (!existsSync(out) || statSync(out).mtimeMs < statSync(p).mtimeMs || statSync(bundle).mtimeMs < statSync(p).mtimeMs) stale.push(relative(REPO, p));
      }
      // Shell programs: copied beside tsc's output and inlined in the bundle (scripts/copy-shell.mjs).
      else if (e.name.endsWith('.sh')) {
        const out = join(REPO, 'dist', relative(join(REPO, 'src'), p));
        if (
          !existsSync(out) ||
          statSync(out).mtimeMs < statSync(p).mtimeMs ||
          statSync(join(REPO, 'dist', 'bundle', 'kvmnet.cjs')).mtimeMs < statSync(p).mtimeMs
        )
          stale.push(relative(REPO, p));
      }
    }
  };
  walk(join(REPO, 'src'));
  if (stale.length > 0) {
    console.warn(
      `[e2e] WARNING: dist/ is older than ${stale.length} source file(s) (${stale.slice(0, 5).join(', ')}${stale.length > 5 ? ', …' : ''}): run \`npm run build\` first, or these tests exercise stale code`,
    );
  }
}
