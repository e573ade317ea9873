import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resolveConnectionVars } from '../../src/config/connection-vars.js';
import { hostVars, loadInventory, varOrigin } from '../../src/config/inventory.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/inventories', import.meta.url));
const where = { file: 'hosts.yaml', line: 4, col: 5 };
const me = userInfo().username;

const defaults = {
  name: 'hv1.example.com',
  host: 'hv1.example.com',
  port: 22,
  user: me,
  become: false,
  knownHosts: join(homedir(), '.ssh/known_hosts'),
  hostKeyChecking: 'strict',
  connection: 'ssh',
  connectTimeoutMs: 10_000,
  commandTimeoutMs: 120_000,
  keepaliveIntervalMs: 15_000,
};
// As OpenSSH (ssh -G): the other default UserKnownHostsFile and the GlobalKnownHostsFile defaults, read after the first.
const sshDefaults = { ...defaults, extraKnownHosts: [join(homedir(), '.ssh/known_hosts2'), '/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'] };

describe('resolveConnectionVars', () => {
  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ['defaults', {}, {}],
    [
      'every kvmnet name',
      {
        host: '10.0.0.1',
        port: 2222,
        user: 'admin',
        ssh_key: '~/.ssh/id_kvm',
        ssh_password: 'pw',
        become: true,
        become_password: 'bpw',
        jump: 'ops@bastion.example.com:2200',
        known_hosts: '/etc/ssh/known',
        host_key_checking: 'accept-new',
        connection: 'local',
        connect_timeout: 5,
        command_timeout: '2.5',
      },
      {
        host: '10.0.0.1',
        port: 2222,
        user: 'admin',
        sshKey: join(homedir(), '.ssh/id_kvm'),
        sshPassword: 'pw',
        become: true,
        becomePassword: 'bpw',
        jump: 'ops@bastion.example.com:2200',
        knownHosts: '/etc/ssh/known',
        hostKeyChecking: 'accept-new',
        connection: 'local',
        connectTimeoutMs: 5000,
        commandTimeoutMs: 2500,
      },
    ],
    ['INI-style strings', { port: '2200', become: 'yes', connect_timeout: '1' }, { port: 2200, become: true, connectTimeoutMs: 1000 }],
    ['become: no', { become: 'no' }, { become: false }],
    ['host_key_checking as an Ansible boolean', { host_key_checking: false }, { hostKeyChecking: 'off' }],
    ['ansible_host_key_checking', { ansible_host_key_checking: 'True' }, { hostKeyChecking: 'strict' }],
    ['ansible_connection: paramiko', { ansible_connection: 'paramiko' }, { connection: 'ssh' }],
    [
      'legacy ansible_ssh_* names',
      { ansible_ssh_host: '10.0.0.3', ansible_ssh_user: 'u', ansible_ssh_pass: 'p' },
      { host: '10.0.0.3', user: 'u', sshPassword: 'p' },
    ],
    ['null means unset', { port: null, user: null }, {}],
    ['jump without user or port', { jump: 'bastion.example.com' }, { jump: 'bastion.example.com' }],
  ])('%s', (_title, vars, expected) => {
    const base = expected.connection === 'local' ? defaults : sshDefaults;
    expect(resolveConnectionVars('hv1.example.com', vars, where)).toEqual({ settings: { ...base, ...expected }, diagnostics: [] });
  });

  it.each<[Record<string, unknown>, string]>([
    [{ port: 70000 }, "host 'hv1.example.com': variable 'port' must be an integer from 1 to 65535; found a number (70000)"],
    [{ port: 22.5 }, "variable 'port' must be an integer from 1 to 65535; found a number (22.5)"],
    [{ ansible_port: 'ssh' }, "variable 'ansible_port' must be an integer from 1 to 65535; found a string ('ssh')"],
    [{ become: 'maybe' }, "variable 'become' must be a boolean (true or false); found a string ('maybe')"],
    [{ host_key_checking: 'loose' }, "variable 'host_key_checking' must be one of 'strict', 'accept-new' or 'off'; found a string ('loose')"],
    [{ connection: 'telnet' }, "variable 'connection' must be 'ssh' or 'local'; found a string ('telnet')"],
    [{ user: 1000 }, "variable 'user' must be a string (quote it in YAML); found a number (1000)"],
    [{ host: '' }, "variable 'host' must be a non-empty string"],
    [{ host: 'a b' }, "variable 'host' must be a string without whitespace"],
    [{ connect_timeout: 0 }, "variable 'connect_timeout' must be a positive number of seconds; found a number (0)"],
    [{ command_timeout: 'soon' }, "variable 'command_timeout' must be a positive number of seconds"],
    [{ jump: 'a@b@c' }, "variable 'jump' must be a bastion as 'user@host:port' (user and port optional)"],
    [{ ssh_key: ['a'] }, "variable 'ssh_key' must be a string; found a list"],
  ])('%j is an error naming the host and variable', (vars, message) => {
    const { settings, diagnostics } = resolveConnectionVars('hv1.example.com', vars, where);
    expect(settings).toBeUndefined();
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({ severity: 'error', ...where });
    expect(diagnostics[0]!.message).toContain(message);
  });

  it('never echoes a password', () => {
    const bad = resolveConnectionVars('h', { ssh_password: 123456 }, where);
    expect(bad.diagnostics[0]!.message).toBe("host 'h': variable 'ssh_password' must be a string (quote it in YAML); found a number");
    const both = resolveConnectionVars('h', { become_password: 'secret-a', ansible_become_pass: 'secret-b' }, where);
    expect(both.settings?.becomePassword).toBe('secret-a');
    expect(both.diagnostics).toHaveLength(1);
    expect(both.diagnostics[0]!.message).not.toMatch(/secret/);
  });

  it('reads Ansible aliases from an inventory; the kvmnet name wins and the ignored alias gets a warning where it is set', () => {
    const { inventory: inv } = loadInventory(['yaml/aliases.yaml'], FIXTURES);
    const resolve = (h: string) => resolveConnectionVars(h, hostVars(inv, h), inv.hostOrigin.get(h)!, (v) => varOrigin(inv, h, v));

    expect(resolve('a.example.com')).toEqual({
      settings: {
        ...defaults,
        name: 'a.example.com',
        host: '10.0.0.1',
        port: 2222,
        user: 'admin',
        sshKey: join(homedir(), '.ssh/id_kvm'),
        sshPassword: 's3cret',
        become: true,
        connection: 'local',
      },
      diagnostics: [],
    });

    const b = resolve('b.example.com');
    expect(b.settings).toMatchObject({ host: '10.0.0.2', port: 2200 });
    expect(b.diagnostics).toEqual([
      {
        severity: 'warning',
        file: 'yaml/aliases.yaml',
        line: 13,
        col: 21,
        message: "host 'b.example.com': both 'host' and 'ansible_host' are set; using 'host' ('10.0.0.2' over '10.9.9.9')",
      },
      {
        severity: 'warning',
        file: 'yaml/aliases.yaml',
        line: 15,
        col: 21,
        message: "host 'b.example.com': both 'port' and 'ansible_port' are set; using 'port' ('2200' over 22)",
      },
    ]);

    const c = resolve('c.example.com');
    expect(c.settings).toBeUndefined();
    expect(c.diagnostics.map((d) => [d.file, d.line, d.col, d.message.split(';')[0]])).toEqual([
      ['yaml/aliases.yaml', 17, 13, "host 'c.example.com': variable 'port' must be an integer from 1 to 65535"],
      ['yaml/aliases.yaml', 18, 15, "host 'c.example.com': variable 'become' must be a boolean (true or false)"],
      ['yaml/aliases.yaml', 19, 26, "host 'c.example.com': variable 'host_key_checking' must be one of 'strict', 'accept-new' or 'off'"],
    ]);
  });

  it('works for every host of the example inventory', () => {
    const repo = fileURLToPath(new URL('../..', import.meta.url));
    const { inventory: inv } = loadInventory(['inventory'], repo);
    for (const h of inv.hosts.keys()) {
      const { settings, diagnostics } = resolveConnectionVars(h, hostVars(inv, h), inv.hostOrigin.get(h)!);
      expect(diagnostics).toEqual([]);
      expect(settings).toMatchObject({ name: h, host: h, user: 'root', hostKeyChecking: 'strict', port: 22 });
    }
  });
});
