// The SSH transport against a real OpenSSH sshd on 127.0.0.1 (openssh-server must be installed: nothing is skipped).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { connect } from '../../../src/connection/index.js';
import { connectSsh } from '../../../src/connection/ssh.js';
import type { Connection, ConnectionSettings } from '../../../src/connection/types.js';
import { CommandTimeoutError, HostKeyError, UnreachableError } from '../../../src/errors.js';
import { freePort, startSshd, type LocalSshd } from './helpers/sshd.js';

// Each test makes real connections; a slow CI machine needs more than the default 5 s.
vi.setConfig({ testTimeout: 15_000 });

let sshd: LocalSshd;
let scratch: string;
const savedAgent = process.env.SSH_AUTH_SOCK;
const open: Connection[] = [];

beforeAll(async () => {
  // A developer's agent would add "agent" to every attempt and make the messages depend on the machine.
  delete process.env.SSH_AUTH_SOCK;
  sshd = await startSshd();
  scratch = mkdtempSync(join(tmpdir(), 'kvmnet-ssh-test-'));
}, 30_000);

afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
  await sshd?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  if (savedAgent !== undefined) process.env.SSH_AUTH_SOCK = savedAgent;
});

afterEach(() => {
  delete process.env.KVMNET_SSH_PASSPHRASE;
});

let files = 0;
function knownHosts(...lines: string[]): string {
  const path = join(scratch, `known_hosts_${++files}`);
  writeFileSync(path, lines.map((l) => `${l}\n`).join(''));
  return path;
}

function settings(overrides: Partial<ConnectionSettings> = {}): ConnectionSettings {
  return {
    name: 'hv1',
    host: '127.0.0.1',
    port: sshd.port,
    user: sshd.user,
    sshKey: sshd.clientKey,
    become: false,
    knownHosts: knownHosts(sshd.knownHostsLine),
    hostKeyChecking: 'strict',
    connection: 'ssh',
    connectTimeoutMs: 5000,
    commandTimeoutMs: 10_000,
    keepaliveIntervalMs: 5000,
    ...overrides,
  };
}

async function connected(s: ConnectionSettings, hooks?: Parameters<typeof connectSsh>[1]): Promise<Connection> {
  const conn = await connectSsh(s, hooks);
  open.push(conn);
  return conn;
}

describe('exec over one SSH connection', () => {
  it('runs commands, with stdin, exit codes and signals, over ONE connection', async () => {
    const conn = await connected(settings());
    expect(conn.description).toBe(`${sshd.user}@127.0.0.1:${sshd.port}`);

    expect(await conn.exec('echo out; echo err >&2; exit 7')).toEqual({ stdout: 'out\n', stderr: 'err\n', exitCode: 7 });
    expect((await conn.exec('cat', { stdin: 'virsh <xml/> réseau\n' })).stdout).toBe('virsh <xml/> réseau\n');
    expect((await conn.exec('cat; echo eof')).stdout).toBe('eof\n');
    expect(await conn.exec('kill -TERM $$')).toMatchObject({ exitCode: null, signal: 'SIGTERM' });

    const parallel = await Promise.all(Array.from({ length: 20 }, (_, i) => conn.exec(`echo ${i}`)));
    expect(parallel.map((r) => r.stdout)).toEqual(Array.from({ length: 20 }, (_, i) => `${i}\n`));
    expect(conn.stats).toEqual({ connections: 1, execs: 24 });
  });

  it('decodes multi-byte UTF-8 split across packets', async () => {
    const conn = await connected(settings());
    const { stdout } = await conn.exec("i=0; while [ $i -lt 20000 ]; do printf 'é☃'; i=$((i+1)); done");
    expect(stdout).toBe('é☃'.repeat(20000));
  });

  it('times out one command, closes its channel, and keeps the connection usable', async () => {
    const conn = await connected(settings());
    const started = Date.now();
    const slow = conn.exec('sleep 5.321\necho never', { timeoutMs: 300 });
    await expect(slow).rejects.toBeInstanceOf(CommandTimeoutError);
    await expect(slow).rejects.toThrow(`hv1 (127.0.0.1:${sshd.port}): command timed out after 300 ms: sleep 5.321`);
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await conn.exec('echo still here')).stdout).toBe('still here\n');
    expect(conn.stats.connections).toBe(1);
    // The command itself was stopped on the host, not just abandoned.
    await new Promise((done) => setTimeout(done, 200));
    expect((await conn.exec("pgrep -f 'sleep 5[.]321' || echo gone")).stdout).toBe('gone\n');
  });

  it('reports a connection lost under a running command, and refuses later execs', async () => {
    const conn = await connected(settings());
    const running = conn.exec('sleep 3');
    await new Promise((done) => setTimeout(done, 200));
    // Kill the sshd processes serving this connection (children of the sshd this test started).
    sshd.dropConnections();
    await expect(running).rejects.toBeInstanceOf(UnreachableError);
    await expect(running).rejects.toThrow(`hv1 (127.0.0.1:${sshd.port}): connection lost`);
    await expect(conn.exec('true')).rejects.toThrow(/connection lost/);
  });

  it('close() is idempotent and later execs are refused', async () => {
    const conn = await connectSsh(settings());
    await conn.close();
    await conn.close();
    await expect(conn.exec('true')).rejects.toThrow(/exec after close/);
  });

  it('connect() picks SSH for connection: ssh', async () => {
    const conn = await connect(settings());
    open.push(conn);
    expect((await conn.exec('echo $SSH_CONNECTION')).stdout).toMatch(/^127\.0\.0\.1 \d+ 127\.0\.0\.1 \d+\n$/);
  });
});

describe('host key checking', () => {
  it('strict refuses an unknown host and shows its fingerprint', async () => {
    const path = knownHosts();
    const failure = connectSsh(settings({ knownHosts: path }));
    await expect(failure).rejects.toBeInstanceOf(HostKeyError);
    await expect(failure).rejects.toThrow(`host key for hv1 (127.0.0.1:${sshd.port}) is not in ${path}; its SHA256 fingerprint is ${sshd.fingerprint}`);
  });

  it('accept-new records the key (creating directories), then strict accepts it', async () => {
    const path = join(scratch, 'new', 'dir', 'known_hosts');
    const warnings: string[] = [];
    const first = await connected(settings({ knownHosts: path, hostKeyChecking: 'accept-new' }), {
      onWarning: (m) => warnings.push(m),
    });
    expect((await first.exec('echo hi')).stdout).toBe('hi\n');
    expect(readFileSync(path, 'utf8')).toBe(`${sshd.knownHostsLine}\n`);
    expect(warnings).toEqual([`added host key ${sshd.fingerprint} for hv1 (127.0.0.1:${sshd.port}) to ${path}`]);
    // OpenSSH itself finds the line we wrote.
    expect(execFileSync('ssh-keygen', ['-F', `[127.0.0.1]:${sshd.port}`, '-f', path], { encoding: 'utf8' })).toContain(sshd.knownHostsLine);
    const second = await connected(settings({ knownHosts: path, hostKeyChecking: 'strict' }));
    expect((await second.exec('echo again')).stdout).toBe('again\n');
  });

  it.each(['strict', 'accept-new'] as const)('%s refuses a changed key, naming the old and new fingerprints', async (mode) => {
    const path = knownHosts(sshd.otherHostKeyLine);
    const failure = connectSsh(settings({ knownHosts: path, hostKeyChecking: mode }));
    await expect(failure).rejects.toBeInstanceOf(HostKeyError);
    await expect(failure).rejects.toThrow(/REMOTE HOST KEY CHANGED for hv1/);
    await expect(failure).rejects.toThrow(`${sshd.otherFingerprint} (${path}:1)`);
    await expect(failure).rejects.toThrow(`the host now presents ${sshd.fingerprint}`);
    // Never overwritten.
    expect(readFileSync(path, 'utf8')).toBe(`${sshd.otherHostKeyLine}\n`);
  });

  it('accepts a hashed entry written by ssh-keygen -H', async () => {
    const path = knownHosts(sshd.knownHostsLine);
    execFileSync('ssh-keygen', ['-H', '-f', path], { stdio: 'ignore' });
    expect(readFileSync(path, 'utf8')).toMatch(/^\|1\|/);
    const conn = await connected(settings({ knownHosts: path }));
    expect((await conn.exec('echo hashed')).stdout).toBe('hashed\n');
  });

  it('off accepts anything and warns once', async () => {
    const warnings: string[] = [];
    const conn = await connected(settings({ knownHosts: knownHosts(sshd.otherHostKeyLine), hostKeyChecking: 'off' }), { onWarning: (m) => warnings.push(m) });
    await conn.exec('true');
    expect(warnings).toEqual([`host key checking is off: accepted hv1 (127.0.0.1:${sshd.port}) with key ${sshd.fingerprint} without verifying it`]);
  });

  it('every known_hosts file is read (UserKnownHostsFile lists, GlobalKnownHostsFile): a key in a later one connects strictly, the first is not written', async () => {
    const first = join(scratch, 'kh-list', 'first');
    const conn = await connected(settings({ knownHosts: first, extraKnownHosts: [join(scratch, 'kh-list', 'absent'), knownHosts(sshd.knownHostsLine)] }));
    expect((await conn.exec('echo ok')).stdout).toBe('ok\n');
    expect(existsSync(first)).toBe(false);
    // A changed key in a later file is refused naming that file.
    const later = knownHosts(sshd.otherHostKeyLine);
    await expect(connectSsh(settings({ knownHosts: first, extraKnownHosts: [later] }))).rejects.toThrow(
      new RegExp(`REMOTE HOST KEY CHANGED .*\\(${later}:1\\)`),
    );
  });
});

describe('authentication', () => {
  it('fails with the methods it tried when the key is not authorized, without retrying', async () => {
    const started = Date.now();
    const failure = connectSsh(settings({ sshKey: sshd.wrongKey }));
    await expect(failure).rejects.toBeInstanceOf(UnreachableError);
    await expect(failure).rejects.not.toBeInstanceOf(HostKeyError);
    await expect(failure).rejects.toThrow(`hv1 (127.0.0.1:${sshd.port}): authentication failed for ${sshd.user} (tried: key ${sshd.wrongKey})`);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('decrypts an encrypted key with the passphrase hook, asking once per key', async () => {
    const asked: string[] = [];
    const hooks = { passphrase: async (path: string) => (asked.push(path), sshd.passphrase) };
    const [a, b] = await Promise.all([connected(settings({ sshKey: sshd.encryptedKey }), hooks), connected(settings({ sshKey: sshd.encryptedKey }), hooks)]);
    expect((await a.exec('echo a')).stdout).toBe('a\n');
    expect((await b.exec('echo b')).stdout).toBe('b\n');
    expect(asked).toEqual([sshd.encryptedKey]);
  });

  it('reports an encrypted key without a passphrase, before connecting', async () => {
    const copy = join(scratch, 'encrypted_copy');
    writeFileSync(copy, readFileSync(sshd.encryptedKey), { mode: 0o600 });
    await expect(connectSsh(settings({ sshKey: copy }))).rejects.toThrow(
      `hv1 (127.0.0.1:${sshd.port}): ssh key ${copy} is encrypted and no passphrase was given`,
    );
  });

  it('takes the passphrase from KVMNET_SSH_PASSPHRASE', async () => {
    const copy = join(scratch, 'encrypted_env');
    writeFileSync(copy, readFileSync(sshd.encryptedKey), { mode: 0o600 });
    process.env.KVMNET_SSH_PASSPHRASE = sshd.passphrase;
    const conn = await connected(settings({ sshKey: copy }));
    expect((await conn.exec('echo env')).stdout).toBe('env\n');
  });
});

describe('default keys', () => {
  const savedHome = process.env.HOME;
  afterEach(() => {
    process.env.HOME = savedHome;
  });

  it('uses ~/.ssh/id_ed25519 when no key, password or agent is configured', async () => {
    const home = mkdtempSync(join(scratch, 'home-'));
    mkdirSync(join(home, '.ssh'));
    copyFileSync(sshd.clientKey, join(home, '.ssh', 'id_ed25519'));
    process.env.HOME = home;
    const { sshKey: _none, ...withoutKey } = settings();
    const conn = await connected(withoutKey);
    expect((await conn.exec('echo default')).stdout).toBe('default\n');
  });

  it('says there was nothing to try', async () => {
    process.env.HOME = mkdtempSync(join(scratch, 'home-'));
    const { sshKey: _none, ...withoutKey } = settings();
    await expect(connectSsh(withoutKey)).rejects.toThrow(
      `authentication failed for ${sshd.user} (nothing to try: no ssh key, password or agent, and no default key in ~/.ssh)`,
    );
  });
});

describe('unreachable hosts', () => {
  it('retries a server that never speaks SSH until the handshake timeout, then reports it', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((done) => silent.listen(0, '127.0.0.1', done));
    const port = (silent.address() as AddressInfo).port;
    try {
      const started = Date.now();
      const failure = connectSsh(settings({ port, connectTimeoutMs: 200 }));
      await expect(failure).rejects.toThrow(`hv1 (127.0.0.1:${port}): no SSH handshake and login within 200 ms`);
      // Three attempts of 200 ms, 250 ms and 1 s apart.
      expect(Date.now() - started).toBeGreaterThanOrEqual(1800);
    } finally {
      silent.close();
    }
  });

  it('retries a refused connection with backoff, then reports it', async () => {
    const closedPort = await freePort();
    const started = Date.now();
    const failure = connectSsh(settings({ port: closedPort }));
    await expect(failure).rejects.toBeInstanceOf(UnreachableError);
    await expect(failure).rejects.toThrow(`hv1 (127.0.0.1:${closedPort}): connection refused`);
    // Three attempts: 250 ms and 1 s apart.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1200);
  });
});

describe('jump host', () => {
  it('reaches the target through the bastion, checking both host keys', async () => {
    const conn = await connected(settings({ jump: `${sshd.user}@127.0.0.1:${sshd.port}` }));
    expect((await conn.exec('echo through the bastion')).stdout).toBe('through the bastion\n');
    // The bastion's handshake and the target's.
    expect(conn.stats).toEqual({ connections: 2, execs: 1 });
  });

  it('goes through a chain of bastions (ssh config ProxyJump), each with its own key and known_hosts', async () => {
    const hop = (name: string) => ({
      name,
      host: '127.0.0.1',
      port: sshd.port,
      user: sshd.user,
      identityFiles: [sshd.clientKey],
      knownHosts: knownHosts(sshd.knownHostsLine),
      hostKeyChecking: 'strict' as const,
    });
    const conn = await connected(settings({ jumps: [hop('gw'), hop('bastion')] }));
    expect((await conn.exec('echo two hops')).stdout).toBe('two hops\n');
    expect(conn.stats).toEqual({ connections: 3, execs: 1 });
  });

  it('looks the host key up under HostKeyAlias, and only there', async () => {
    const aliased = sshd.knownHostsLine.replace(/^\S+/, 'hv1-alias');
    const conn = await connected(settings({ hostKeyAlias: 'hv1-alias', knownHosts: knownHosts(aliased) }));
    expect((await conn.exec('echo aliased')).stdout).toBe('aliased\n');
    await expect(connectSsh(settings({ knownHosts: knownHosts(aliased) }))).rejects.toBeInstanceOf(HostKeyError);
  });

  it('refuses an unknown bastion host key', async () => {
    const path = knownHosts();
    const failure = connectSsh(settings({ knownHosts: path, jump: `127.0.0.1:${sshd.port}` }));
    await expect(failure).rejects.toBeInstanceOf(HostKeyError);
    await expect(failure).rejects.toThrow(`host key for jump host ${sshd.user}@127.0.0.1:${sshd.port} (127.0.0.1:${sshd.port}) is not in`);
  });

  it('reports a target the bastion cannot reach', async () => {
    const closedPort = await freePort();
    const failure = connectSsh(settings({ port: closedPort, jump: `127.0.0.1:${sshd.port}` }));
    await expect(failure).rejects.toThrow(
      `hv1 (127.0.0.1:${closedPort}): jump host ${sshd.user}@127.0.0.1:${sshd.port} could not connect to 127.0.0.1:${closedPort}`,
    );
  });
});
