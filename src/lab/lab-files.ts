// Files a kvmnet run needs to reach the lab: the key, known_hosts and the inventory.
import { existsSync, writeFileSync } from 'node:fs';
import { run } from './exec.js';
import { hostPublicKey } from './host-files.js';
import type { LabPaths, LabState } from './state.js';

export async function ensureLabKey(paths: LabPaths): Promise<void> {
  if (existsSync(paths.key) && existsSync(`${paths.key}.pub`)) return;
  await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'kvmnet-lab', '-f', paths.key], { input: 'y\n' });
}

/** Plain YAML scalar when safe, else a double-quoted one (JSON strings are valid YAML). */
function yamlScalar(s: string): string {
  return /^[A-Za-z0-9_./@+-]+$/.test(s) ? s : JSON.stringify(s);
}

export function inventoryYaml(state: LabState, paths: LabPaths): string {
  const lines = [
    'all:',
    '  vars:',
    '    user: root',
    `    ssh_key: ${yamlScalar(paths.key)}`,
    `    known_hosts: ${yamlScalar(paths.knownHosts)}`,
    '  children:',
    '    lab:',
    '      hosts:',
  ];
  for (const h of [...state.hosts].sort((a, b) => a.index - b.index)) {
    lines.push(`        ${h.name}:`, `          host: ${h.address}`, `          lab_netns: ${h.netns}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The hosts' real keys, so kvmnet and ssh run with strict host-key checking. */
export function knownHosts(state: LabState): string {
  return state.hosts
    .slice()
    .sort((a, b) => a.index - b.index)
    .map((h) => `${h.address} ${hostPublicKey(h.dir)}\n`)
    .join('');
}

export function writeLabFiles(state: LabState, paths: LabPaths): void {
  writeFileSync(paths.knownHosts, knownHosts(state), { mode: 0o644 });
  writeFileSync(paths.inventory, inventoryYaml(state, paths), { mode: 0o644 });
}
