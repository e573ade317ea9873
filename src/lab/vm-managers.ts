// `lab up --init systemd --manager M`: the network managers that must not be installed on the
// machine itself (a NetworkManager or netplan here could start managing the controller's own
// links; ifupdown2 conflicts with ifupdown; this machine has neither) are downloaded by apt (only what the machine lacks)
// and unpacked with dpkg-deb -x into a cache, once; each VM host layers that tree over its /usr
// and /etc (vm-guest-init.ts), as --libvirt backports does for namespace hosts.
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../errors.js';
import { run } from './exec.js';
import { BACKPORTS_CACHE } from './libvirt-backports.js';
import type { LabManager } from './state.js';

/** The Debian packages each manager needs beyond what the lab machine has. */
export const MANAGER_PACKAGES: Record<LabManager, string[]> = {
  networkd: [],
  none: [],
  networkmanager: ['network-manager'],
  netplan: ['netplan.io'],
  // Debian's ifupdown with the helpers kvmnet's stanzas use: bond-*, vlan-raw-device, bridge_*.
  ifupdown: ['ifupdown', 'ifenslave', 'vlan', 'bridge-utils'],
  ifupdown2: ['ifupdown2'],
};

const COMPLETE = '.kvmnet-complete-v2';

// What the packages' maintainer scripts do that the hosts need (dpkg-deb -x runs none of them);
// done on every use, so a cache unpacked before a fix-up was added gets it too.
const POSTINST: Partial<Record<LabManager, (root: string) => void>> = {
  // ifupdown2's postinst: `chmod +x /usr/share/ifupdown2/__main__.py` (ifup, ifquery… link to it).
  ifupdown2: (root) => chmodSync(join(root, 'usr/share/ifupdown2/__main__.py'), 0o755),
};

/** The unpacked roots the hosts layer over their own (empty when the machine has all it needs). */
export async function managerPackageRoots(manager: LabManager, log: (line: string) => void = () => {}): Promise<string[]> {
  const packages = MANAGER_PACKAGES[manager];
  if (packages.length === 0) return [];
  const dest = join(BACKPORTS_CACHE, `manager-${manager}`);
  if (existsSync(join(dest, COMPLETE))) {
    POSTINST[manager]?.(dest);
    return [dest];
  }
  const t0 = Date.now();
  const tmp = `${dest}.tmp-${process.pid}`;
  const debs = join(tmp, 'debs');
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(debs, 'partial'), { recursive: true });
  // apt resolves the dependencies against what the machine has installed and only downloads.
  const r = await run(
    [
      'apt-get',
      'install',
      '-y',
      '-q',
      '--download-only',
      '--no-install-recommends',
      '-o',
      `Dir::Cache::archives=${debs}`,
      '-o',
      'Debug::NoLocking=1',
      ...packages,
    ],
    { timeoutMs: 600_000, check: false, env: { DEBIAN_FRONTEND: 'noninteractive' } },
  );
  const files = existsSync(debs) ? readdirSync(debs).filter((f) => f.endsWith('.deb')) : [];
  if (r.exitCode === 0 && files.length === 0) {
    // The machine has them all already (e.g. CI installs ifupdown for another test): its root is the guests'.
    rmSync(tmp, { recursive: true, force: true });
    return [];
  }
  if (r.exitCode !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new LabError(
      `--manager ${manager}: apt could not download ${packages.join(' ')} (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ')}`,
    );
  }
  for (const f of files) await run(['dpkg-deb', '-x', join(debs, f), tmp], { timeoutMs: 120_000 });
  rmSync(debs, { recursive: true, force: true });
  // Debian 12 packages still ship /lib, /bin, /sbin; the machine is merged-/usr (/lib -> usr/lib)
  // and the guests layer only usr/ and etc/: merge the tree the same way.
  for (const d of ['bin', 'sbin', 'lib', 'lib64']) {
    if (!existsSync(join(tmp, d))) continue;
    mkdirSync(join(tmp, 'usr', d), { recursive: true });
    await run(['cp', '-a', `${join(tmp, d)}/.`, join(tmp, 'usr', d)]);
    rmSync(join(tmp, d), { recursive: true, force: true });
  }
  POSTINST[manager]?.(tmp);
  writeFileSync(join(tmp, COMPLETE), `${files.sort().join('\n')}\n`);
  rmSync(dest, { recursive: true, force: true });
  renameSync(tmp, dest);
  log(`--manager ${manager}: ${files.length} packages unpacked in ${dest} (${Date.now() - t0} ms)`);
  return [dest];
}
