// Files for the simulated fleet: one host key for every simulated host, one client key, and per
// fleet size a known_hosts (`[127.0.0.1]:PORT` entries) and an inventory YAML.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function ensureFleetKeys(dir) {
  mkdirSync(dir, { recursive: true });
  for (const name of ['host_key', 'client_key']) {
    const file = join(dir, name);
    if (existsSync(file)) continue;
    const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `kvmnet-sim-${name}`, '-f', file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
  }
}

/** Writes known_hosts and inventory for the first `count` simulated hosts; returns the inventory path. */
export function writeFleetFiles(dir, ports, names, count, { wildcard = false } = {}) {
  const [type, key] = readFileSync(join(dir, 'host_key.pub'), 'utf8').trim().split(/\s+/);
  const suffix = wildcard ? `${count}.wildcard` : String(count);
  const knownHosts = join(dir, `known_hosts.${suffix}`);
  // wildcard: ONE `[127.0.0.1]:*` line for the whole fleet (a diagnostic: known_hosts cost out of the way).
  const known = wildcard ? [`[127.0.0.1]:* ${type} ${key}\n`] : ports.slice(0, count).map((p) => `[127.0.0.1]:${p} ${type} ${key}\n`);
  writeFileSync(knownHosts, known.join(''));
  const inventory = join(dir, `inventory.${suffix}.yaml`);
  const lines = [
    '# bench/sim: generated; simulated hypervisors on 127.0.0.1, one port each',
    'all:',
    '  vars:',
    '    user: root',
    `    ssh_key: ${join(dir, 'client_key')}`,
    `    known_hosts: ${knownHosts}`,
    '  hosts:',
  ];
  for (let i = 0; i < count; i++) lines.push(`    ${names[i]}:`, '      host: 127.0.0.1', `      port: ${ports[i]}`);
  writeFileSync(inventory, `${lines.join('\n')}\n`);
  return inventory;
}

export const sha256 = (text) => createHash('sha256').update(text).digest('hex');
