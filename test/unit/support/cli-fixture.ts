// A working directory for CLI subprocess tests: an inventory whose every host is a local TCP
// listener that counts connections (so a test can assert that nothing was contacted), a playbook,
// and the odd files command lines refer to. HOME points inside it: no SSH key or agent of the
// machine is ever offered.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectionCounter, runCli, type CliResult } from './cli.js';

export interface CliFixture {
  dir: string;
  /** Connections the listener has accepted so far. */
  connections: () => number;
  run: (args: readonly string[]) => Promise<CliResult & { contacted: number }>;
  close: () => Promise<void>;
}

export const PLAYBOOK = `- name: bridges on rack1
  hosts: rack1
  tasks:
    - name: bridge kvprop0
      ensure_bridge: { name: kvprop0 }
      tags: [net]
    - name: address on kvprop0
      ensure_ip: { dev: kvprop0, address: 192.0.2.1/24 }
      tags: [addr]
`;

export async function cliFixture(): Promise<CliFixture> {
  const counter = await connectionCounter();
  const dir = mkdtempSync(join(tmpdir(), 'kvmnet-cli-'));
  mkdirSync(join(dir, 'home'));
  writeFileSync(
    join(dir, 'inventory.yaml'),
    `all:
  vars: { host: 127.0.0.1, port: ${counter.port}, user: root, host_key_checking: 'off', connect_timeout: 2 }
  children:
    rack1: { hosts: { hv1: {}, hv2: {} } }
    rack2: { hosts: { hv3: {} } }
`,
  );
  writeFileSync(join(dir, 'empty.yaml'), '');
  writeFileSync(join(dir, 'site.yaml'), PLAYBOOK);
  writeFileSync(join(dir, 'bad.yaml'), '- name: x\n  hosts: all\n  tasks:\n    - ensure_brige: { name: br0 }\n');
  writeFileSync(join(dir, 'vars.yaml'), 'mtu: 1500\n');
  writeFileSync(join(dir, 'hv1.retry'), 'hv1\n');
  writeFileSync(join(dir, 'empty.retry'), '\n');
  const run = async (args: readonly string[]) => {
    const before = counter.count();
    const r = await runCli(args, { cwd: dir, env: { HOME: join(dir, 'home') } });
    return { ...r, contacted: counter.count() - before };
  };
  return {
    dir,
    connections: counter.count,
    run,
    close: async () => {
      await counter.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
