// Where kvmnet's NetworkManager profiles, netplan or ifupdown2 files and the running state disagree (what a
// reboot would change). Those files are rendered from the running state, so a disagreement is a
// file that renders differently from what runs now. Pure.
import type { Facts } from '../model/facts.js';
import { isNetplanPath, netplanDevice, netplanFile } from './netplan-files.js';
import { isNmProfilePath, nmProfile } from './nm-profiles.js';
import { ifupdown2Device, ifupdown2File, isIfupdown2Path } from './ifupdown2-files.js';

const devOf = (path: string, prefix: string, suffix: string) => path.slice(path.lastIndexOf(prefix) + prefix.length, -suffix.length);

/** The format, device and renderer of a file rendered from the running state; undefined for others. */
function managedFile(path: string): { format: string; dev: string; render: (facts: Facts, dev: string) => string } | undefined {
  if (isNmProfilePath(path)) return { format: 'networkmanager', dev: devOf(path, '/kvmnet-', '.nmconnection'), render: nmProfile };
  if (isNetplanPath(path)) return { format: 'netplan', dev: netplanDevice(path), render: (f, d) => netplanFile(f, d, f.hostname) };
  if (isIfupdown2Path(path)) return { format: 'ifupdown2', dev: ifupdown2Device(path), render: (f, d) => ifupdown2File(f, d, f.hostname) };
  return undefined;
}

export function managedDrift(facts: Facts): string[] {
  const out: string[] = [];
  for (const [path, content] of Object.entries(facts.persisted ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    const file = managedFile(path);
    if (!file) continue;
    const { dev, format } = file;
    if (!facts.links[dev]) {
      out.push(`${dev}: persisted (${format}) but not present at runtime`);
      continue;
    }
    let rendered: string | undefined;
    try {
      rendered = file.render(facts, dev);
    } catch {
      rendered = undefined;
    }
    if (rendered !== content) out.push(`${dev}: its ${format} file ${path} and the running state differ`);
  }
  return out;
}

/** The devices that have a kvmnet NetworkManager profile, netplan or ifupdown2 file. */
export function managedDevices(facts: Facts): Set<string> {
  const out = new Set<string>();
  for (const path of Object.keys(facts.persisted ?? {})) {
    const file = managedFile(path);
    if (file) out.add(file.dev);
  }
  return out;
}
