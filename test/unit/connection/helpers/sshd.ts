// A real OpenSSH sshd on 127.0.0.1 with throwaway keys, for the SSH transport tests.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

const SSHD = '/usr/sbin/sshd';

export interface LocalSshd {
  port: number;
  user: string;
  dir: string;
  /** The authorized client key (no passphrase). */
  clientKey: string;
  /** Authorized too, encrypted with `passphrase`. */
  encryptedKey: string;
  passphrase: string;
  /** A valid key that is NOT authorized. */
  wrongKey: string;
  /** `[127.0.0.1]:port ssh-ed25519 AAAA...`: the server's real known_hosts line. */
  knownHostsLine: string;
  /** The server's fingerprint as `ssh-keygen -l` prints it. */
  fingerprint: string;
  /** A different ed25519 key, for "changed key" tests. */
  otherHostKeyLine: string;
  otherFingerprint: string;
  log(): string;
  /** Kills the per-connection sshd processes (the listener's children), cutting every open connection. */
  dropConnections(): void;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function keygen(path: string, passphrase = ''): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', '', '-f', path]);
}

function fingerprintOf(pubPath: string): string {
  return execFileSync('ssh-keygen', ['-l', '-f', pubPath], { encoding: 'utf8' }).split(' ')[1] ?? '';
}

export async function startSshd(): Promise<LocalSshd> {
  if (!existsSync(SSHD)) {
    throw new Error(`${SSHD} not found: install openssh-server (apt-get install openssh-server) to run the SSH tests`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'kvmnet-sshd-'));
  const user = userInfo().username;
  const port = await freePort();
  keygen(join(dir, 'host_ed25519'));
  keygen(join(dir, 'other_host_ed25519'));
  keygen(join(dir, 'client'));
  keygen(join(dir, 'client_encrypted'), 'correct horse');
  keygen(join(dir, 'wrong'));
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client.pub'), 'utf8') + readFileSync(join(dir, 'client_encrypted.pub'), 'utf8'));
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_ed25519')}`,
      'PidFile none',
      'UsePAM no',
      'StrictModes no',
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'AllowTcpForwarding yes',
      'LogLevel VERBOSE',
      // Debian's bash sources ~/.bashrc for commands run by sshd only while SHLVL < 2: a developer's .bashrc
      // (pyenv, nvm...) would otherwise add about a second to every exec here.
      'SetEnv SHLVL=1',
      '',
    ].join('\n'),
  );
  // sshd's privilege separation chroots into /run/sshd and refuses to start without it.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (log += text));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sshd did not start within 10 s:\n${log}`)), 10_000);
    const check = () => {
      if (log.includes('Server listening on')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stderr?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sshd exited with ${code}:\n${log}`));
    });
  });

  const pub = (name: string) =>
    readFileSync(join(dir, `${name}.pub`), 'utf8')
      .trim()
      .split(' ')
      .slice(0, 2)
      .join(' ');
  return {
    port,
    user,
    dir,
    clientKey: join(dir, 'client'),
    encryptedKey: join(dir, 'client_encrypted'),
    passphrase: 'correct horse',
    wrongKey: join(dir, 'wrong'),
    knownHostsLine: `[127.0.0.1]:${port} ${pub('host_ed25519')}`,
    fingerprint: fingerprintOf(join(dir, 'host_ed25519.pub')),
    otherHostKeyLine: `[127.0.0.1]:${port} ${pub('other_host_ed25519')}`,
    otherFingerprint: fingerprintOf(join(dir, 'other_host_ed25519.pub')),
    log: () => log,
    dropConnections: () => {
      const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(child.pid)], { encoding: 'utf8' });
      for (const pid of children.split(/\s+/).filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
    },
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
