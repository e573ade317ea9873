// Where kvmnet's NetworkManager profiles or netplan files and the running state disagree (what a
// reboot would change). Those files are rendered from the running state, so a disagreement is a
// file that renders differently from what runs now. Pure.
import type { Facts } from '../model/facts.js';
import { isNetplanPath, netplanDevice, netplanFile } from './netplan-files.js';
import { isNmProfilePath, nmProfile } from './nm-profiles.js';

const devOf = (path: string, prefix: string, suffix: string) => path.slice(path.lastIndexOf(prefix) + prefix.length, -suffix.length);

export function managedDrift(facts: Facts): string[] {
  const out: string[] = [];
  for (const [path, content] of Object.entries(facts.persisted ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    const nm = isNmProfilePath(path);
    if (!nm && !isNetplanPath(path)) continue;
    const dev = nm ? devOf(path, '/kvmnet-', '.nmconnection') : netplanDevice(path);
    const format = nm ? 'networkmanager' : 'netplan';
    if (!facts.links[dev]) {
      out.push(`${dev}: persisted (${format}) but not present at runtime`);
      continue;
    }
    let rendered: string | undefined;
    try {
      rendered = nm ? nmProfile(facts, dev) : netplanFile(facts, dev, facts.hostname);
    } catch {
      rendered = undefined;
    }
    if (rendered !== content) out.push(`${dev}: its ${format} file ${path} and the running state differ`);
  }
  return out;
}

/** The devices that have a kvmnet NetworkManager profile or netplan file. */
export function managedDevices(facts: Facts): Set<string> {
  const out = new Set<string>();
  for (const path of Object.keys(facts.persisted ?? {})) {
    if (isNmProfilePath(path)) out.add(devOf(path, '/kvmnet-', '.nmconnection'));
    else if (isNetplanPath(path)) out.add(netplanDevice(path));
  }
  return out;
}
