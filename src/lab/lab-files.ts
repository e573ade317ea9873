// Files a kvmnet run needs to reach the lab: the key, known_hosts and the inventory.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { generateEd25519 } from './ssh-keys.js';
import { hostPublicKey } from './host-files.js';
import type { LabPaths, LabState } from './state.js';

export function ensureLabKey(paths: LabPaths): void {
  if (existsSync(paths.key) && existsSync(`${paths.key}.pub`)) return;
  const key = generateEd25519('kvmnet-lab');
  for (const f of [paths.key, `${paths.key}.pub`]) rmSync(f, { force: true });
  writeFileSync(paths.key, key.privateKey, { mode: 0o600 });
  writeFileSync(`${paths.key}.pub`, key.publicKey, { mode: 0o644 });
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
    lines.push(`        ${h.name}:`, `          host: ${h.address}`);
    // VM hosts have no netns of their own.
    if (h.netns) lines.push(`          lab_netns: ${h.netns}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The hosts' real keys, so kvmnet and ssh run with strict host-key checking. */
export function knownHosts(state: LabState): string {
  // A VM lab's switch is not in the inventory (playbooks must not touch it) but can be ssh'ed to.
  return [...state.hosts, ...(state.vm ? [state.vm.switch] : [])]
    .sort((a, b) => a.index - b.index)
    .map((h) => `${h.address} ${hostPublicKey(h.dir)}\n`)
    .join('');
}

export function writeLabFiles(state: LabState, paths: LabPaths): void {
  writeFileSync(paths.knownHosts, knownHosts(state), { mode: 0o644 });
  writeFileSync(paths.inventory, inventoryYaml(state, paths), { mode: 0o644 });
}
