// `kvmnet lab up --libvirt backports`: lab hosts that run Debian bookworm-backports' libvirt
// (11.x, whose network driver uses the nftables firewall backend by default) instead of the
// machine's own (9.0 on bookworm, iptables only), without installing anything into the
// machine: the packages are unpacked (dpkg -x) into a cache, and each such host bind-mounts
// those files over libvirt's binaries, libraries and driver modules inside its PRIVATE mount
// namespace. So everything in the host (libvirtd, the virsh kvmnet's SSH sessions run, the
// DHCP lease helper dnsmasq calls) is the same libvirt, at the paths it was built for.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LabError } from '../errors.js';
import { run } from './exec.js';
import { libvirtDriverDir } from './preflight.js';

export type LabLibvirt = 'system' | 'backports';

export const BACKPORTS_CACHE = process.env.KVMNET_LAB_CACHE ?? '/var/cache/kvmnet-lab';
const MIRROR = process.env.KVMNET_LAB_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
const SUITE = 'bookworm-backports';
// What a monolithic libvirtd with the network and QEMU drivers, and virsh, need (dpkg -x ignores
// dependencies: everything else these link against is already on a bookworm machine).
const PACKAGES = [
  'libvirt0',
  'libvirt-common',
  'libvirt-daemon',
  'libvirt-daemon-common',
  'libvirt-daemon-driver-network',
  'libvirt-daemon-driver-qemu',
  'libvirt-clients',
];
const DEB_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };
const COMPLETE = '.kvmnet-complete';

interface Stanza {
  package: string;
  version: string;
  filename: string;
  sha256: string;
}

export function parsePackages(text: string, wanted: readonly string[]): Map<string, Stanza> {
  const found = new Map<string, Stanza>();
  for (const block of text.split(/\n\n+/)) {
    const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(block)?.[1]?.trim();
    const pkg = field('Package');
    if (!pkg || !wanted.includes(pkg)) continue;
    const s = { package: pkg, version: field('Version') ?? '', filename: field('Filename') ?? '', sha256: field('SHA256') ?? '' };
    const prev = found.get(pkg);
    // Several versions can be listed: the newest (dpkg order is close enough to string order within one upstream series).
    if (!prev || s.version.localeCompare(prev.version, 'en', { numeric: true }) > 0) found.set(pkg, s);
  }
  return found;
}

async function download(url: string): Promise<Buffer> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(300_000) });
  } catch (err) {
    throw new LabError(`--libvirt backports: cannot download ${url}: ${(err as Error).message}`, { cause: err });
  }
  if (!res.ok) throw new LabError(`--libvirt backports: ${url}: HTTP ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

/** The unpacked backports libvirt (downloaded and unpacked on first use); its root directory. */
export async function ensureBackportsLibvirt(log: (line: string) => void = () => {}): Promise<string> {
  const current = join(BACKPORTS_CACHE, 'libvirt-backports');
  if (existsSync(join(current, COMPLETE))) return realpathSync(current);
  const arch = DEB_ARCH[process.arch];
  if (!arch) throw new LabError(`--libvirt backports: no Debian architecture for ${process.arch}`);
  const t0 = Date.now();
  mkdirSync(BACKPORTS_CACHE, { recursive: true });
  const xz = join(BACKPORTS_CACHE, `Packages-${process.pid}.xz`);
  writeFileSync(xz, await download(`${MIRROR}/dists/${SUITE}/main/binary-${arch}/Packages.xz`));
  const index = await run(['xz', '-dc', xz], { timeoutMs: 60_000 }).finally(() => rmSync(xz, { force: true }));
  const stanzas = parsePackages(index.stdout, PACKAGES);
  const missing = PACKAGES.filter((p) => !stanzas.has(p));
  if (missing.length) throw new LabError(`--libvirt backports: ${SUITE} lists no ${missing.join(', ')} for ${arch}`);
  const version = stanzas.get('libvirt0')!.version;
  const upstream = version.replace(/^\d+:/, '').replace(/-[^-]*$/, '');
  const dest = join(BACKPORTS_CACHE, `libvirt-${upstream}`);
  const tmp = `${dest}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'debs'), { recursive: true });
  for (const s of stanzas.values()) {
    if (s.version !== version) throw new LabError(`--libvirt backports: ${s.package} is ${s.version}, libvirt0 is ${version}`);
    const deb = await download(`${MIRROR}/${s.filename}`);
    const sum = createHash('sha256').update(deb).digest('hex');
    if (sum !== s.sha256) throw new LabError(`--libvirt backports: ${s.filename}: sha256 ${sum}, the index says ${s.sha256}`);
    const path = join(tmp, 'debs', `${s.package}.deb`);
    writeFileSync(path, deb);
    await run(['dpkg-deb', '-x', path, tmp], { timeoutMs: 120_000 });
  }
  rmSync(join(tmp, 'debs'), { recursive: true, force: true });
  writeFileSync(join(tmp, COMPLETE), `${version}\n`);
  rmSync(dest, { recursive: true, force: true });
  renameSync(tmp, dest);
  rmSync(current, { force: true });
  await run(['ln', '-sfn', `libvirt-${upstream}`, current]);
  log(`libvirt ${version} from ${SUITE} unpacked in ${dest} (${Date.now() - t0} ms)`);
  return dest;
}

/**
 * [file or dir in the unpacked tree, the machine's path it replaces] for every path the
 * backports libvirt must own inside a host. Libraries by their real file names (the
 * machine's libvirt.so.0 is a link to libvirt.so.0.9000.0; the link stays, its target is covered).
 */
export function backportsMounts(root: string): Array<[string, string]> {
  const driverDir = libvirtDriverDir();
  if (!driverDir) throw new LabError("--libvirt backports: cannot find the machine's libvirt driver directory");
  const libDir = dirname(dirname(driverDir));
  const mounts: Array<[string, string]> = [];
  for (const so of ['libvirt.so.0', 'libvirt-qemu.so.0', 'libvirt-admin.so.0', 'libvirt-lxc.so.0']) {
    const sys = join(libDir, so);
    if (existsSync(sys) && existsSync(join(root, sys))) mounts.push([realpathSync(join(root, sys)), realpathSync(sys)]);
  }
  for (const p of [
    '/usr/sbin/libvirtd',
    '/usr/bin/virsh',
    '/usr/lib/libvirt/libvirt_leaseshelper',
    '/usr/lib/libvirt/libvirt_iohelper',
    driverDir,
    '/usr/share/libvirt/schemas',
    '/usr/share/libvirt/cpu_map',
  ]) {
    if (existsSync(p) && existsSync(join(root, p))) mounts.push([join(root, p), p]);
  }
  return mounts;
}

// libvirt 10.x+ adds a tc filter that fixes the UDP checksum of DHCP replies (`action csum`),
// and fails to start the network when the kernel has no act_csum (this lab's VM kernels have no
// modules). Inside a backports host, tc is this wrapper: the real tc (a copy, the original is
// covered by the mount), and a failed csum filter is reported, not fatal. Over a veth (the lab's
// guests) the checksums are fine without it.
export const TC_WRAPPER = `#!/bin/sh
# kvmnet lab (--libvirt backports): tc without act_csum must not stop libvirt's networks.
/run/kvmnet-lab/tc-real "$@" && exit 0
rc=$?
case " $* " in *" csum "*) echo "kvmnet lab: ignored a failed tc csum filter (kernel without act_csum)" >&2; exit 0;; esac
exit $rc
`;

/** What /etc/libvirt/network.conf of a backports host says (libvirt's own default, made explicit). */
export const BACKPORTS_NETWORK_CONF = '# kvmnet lab (--libvirt backports): libvirt\'s nftables firewall backend\nfirewall_backend = "nftables"\n';
