// Secrets never leave kvmnet: ssh_password, become_password and KVMNET_SSH_PASSPHRASE do not show
// in text or JSON output, in error messages, in `kvmnet inventory`, or in the arguments (or, on the
// host, the environment) of any process on the controller or on the host — while key auth works,
// while the password is really tried (a second sshd of the host that accepts passwords), and with
// an encrypted key opened by the passphrase.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCollect } from '../exec.js';
import { BRIDGED, inHost, kvmnet, labHost, resetHost, scratchDir, show, summaryOf, type LabHost, type Result } from '../helpers.js';
import { hostPath, hostProcesses, inventoryCopy, knownHostsEntry, killAndWait, newKeyPair, sleep, waitFor } from './support.js';

const HOST: LabHost = 'hv1';
const PW_PORT = 2222;
// Shell and YAML metacharacters on purpose: a secret that went through a shell unquoted would also break.
const secret = (label: string) => `kvmnetE2e${label}-${randomBytes(9).toString('hex')}'"$;`;
const SSH_PASSWORD = secret('SshPw');
const BECOME_PASSWORD = secret('BecomePw');
const PASSPHRASE = secret('Pass');
const WRONG_PASSPHRASE = secret('WrongPass');
const SECRETS = [SSH_PASSWORD, BECOME_PASSWORD, PASSPHRASE, WRONG_PASSPHRASE];
// A secret cut short in a message still leaks: look for its random middle too.
const needles = SECRETS.flatMap((s) => [s, s.slice(0, -4).split('-')[1]!]);

function expectNoSecret(where: string, text: string): void {
  for (const n of needles) expect(text.includes(n), `${where} contains a secret (${n.slice(0, 12)}…):\n${text}`).toBe(false);
}

/**
 * Runs FN while polling the arguments of every process on the controller (`ps -eo args`, every
 * 250 ms) and the arguments and environment of every process of the host (from /proc, every 40 ms:
 * kvmnet's sessions there are short); then checks that none held a secret.
 */
async function watchingProcesses<T>(fn: () => Promise<T>, opts: { hostSession: boolean }): Promise<T> {
  let running = true;
  const seen = new Set<string>();
  let psSamples = 0;
  let hostSamples = 0;
  let sawKvmnet = false;
  let sawHostSession = false;
  const controller = (async () => {
    while (running) {
      const ps = await spawnCollect(['ps', '-eo', 'args']);
      ps.stdout.split('\n').forEach((l) => seen.add(l));
      sawKvmnet ||= ps.stdout.includes('bin/kvmnet.js');
      psSamples += 1;
      await sleep(250);
    }
  })();
  const host = (async () => {
    while (running) {
      for (const p of hostProcesses(HOST)) {
        // kvmnet's facts exec, or the run lock's holder (it lives as long as kvmnet's SSH connection).
        sawHostSession ||= p.args.includes('@@kvmnet:') || p.args.includes('kill -0');
        let env = '';
        try {
          env = readFileSync(`/proc/${p.pid}/environ`, 'utf8');
        } catch {
          // gone
        }
        seen.add(`${p.args}\n${env}`);
      }
      hostSamples += 1;
      await sleep(40);
    }
  })();
  try {
    return await fn();
  } finally {
    running = false;
    await Promise.all([controller, host]);
    // The watch saw what it watches: kvmnet on the controller, its session on the host.
    expect(sawKvmnet, `no kvmnet process in ${psSamples} samples of ps`).toBe(true);
    if (opts.hostSession) expect(sawHostSession, `no kvmnet session on ${HOST} in ${hostSamples} samples`).toBe(true);
    expectNoSecret('a process argument list or environment', [...seen].join('\n'));
  }
}

function expectClean(r: Result): void {
  expectNoSecret('stdout', r.stdout);
  expectNoSecret('stderr', r.stderr);
}

const NO_AGENT = { SSH_AUTH_SOCK: '' };

describe('secrets', () => {
  let dir = '';
  let playbook = '';
  let authorizedBefore = '';
  let pwSshd: { log: string; pidFile: string } | undefined;

  beforeAll(async () => {
    await resetHost(HOST);
    dir = scratchDir('secrets');
    playbook = join(dir, 'bridged.yaml');
    writeFileSync(playbook, readFileSync(BRIDGED, 'utf8'));
    authorizedBefore = readFileSync(hostPath(HOST, '/root/.ssh/authorized_keys'), 'utf8');
  });

  afterAll(async () => {
    writeFileSync(hostPath(HOST, '/root/.ssh/authorized_keys'), authorizedBefore);
    if (pwSshd && existsSync(hostPath(HOST, pwSshd.pidFile))) {
      const pid = Number(readFileSync(hostPath(HOST, pwSshd.pidFile), 'utf8').trim());
      if (hostProcesses(HOST).some((p) => p.pid === pid && p.comm === 'sshd')) await killAndWait([pid], 'SIGTERM');
    }
    await inHost(HOST, ['rm', '-rf', '/run/kvmnet-e2e-pw-sshd']);
    expect(hostProcesses(HOST).filter((p) => p.args.includes('kvmnet-e2e-pw-sshd'))).toEqual([]);
  });

  it('in the inventory, with key auth working: run (text with -vv --diff, JSON), inventory --list/--host', async () => {
    const inv = inventoryCopy(
      dir,
      (doc) => Object.assign(doc.all.vars, { ssh_password: SSH_PASSWORD, become: true, become_password: BECOME_PASSWORD }),
      'with-passwords.yaml',
    );
    expect(readFileSync(inv, 'utf8')).toContain('kvmnetE2eSshPw');

    // The inventory commands contact no host: they run beside the runs (which take turns, for the host's run lock).
    const [runs, list, host] = await watchingProcesses(
      async () =>
        Promise.all([
          (async () => [
            await kvmnet(['run', playbook, '-i', inv, '--limit', HOST, '--check', '--diff', '-vv'], { env: NO_AGENT }),
            await kvmnet(['run', playbook, '-i', inv, '--limit', HOST, '--check', '--output', 'json'], { env: NO_AGENT }),
          ])(),
          kvmnet(['inventory', '-i', inv, '--list']),
          kvmnet(['inventory', '-i', inv, '--host', HOST]),
        ]),
      { hostSession: true },
    );
    for (const r of runs) expect(r.code, show(r)).toBe(0);
    expect(summaryOf(runs[1]!).hosts).toMatchObject([{ host: HOST, changed: 4, failed: 0 }]);
    runs.forEach(expectClean);
    for (const r of [list, host]) {
      expect(r.code, show(r)).toBe(0);
      expectClean(r);
    }
    // Redacted, not dropped: the operator sees that a password is set.
    expect(JSON.parse(host.stdout)).toMatchObject({ ssh_password: '********', become_password: '********' });
  });

  it('when authentication fails and the password is really tried (an sshd that accepts passwords)', async () => {
    // A second sshd of the host, on port 2222 with its real host key, that offers password auth.
    const base = '/run/kvmnet-e2e-pw-sshd';
    pwSshd = { log: `${base}/sshd.log`, pidFile: `${base}/sshd.pid` };
    const config = [
      `ListenAddress ${labHost(HOST).address}:${PW_PORT}`,
      'HostKey /run/kvmnet-lab/ssh_host_ed25519_key',
      `PidFile ${pwSshd.pidFile}`,
      'PermitRootLogin yes',
      'PubkeyAuthentication yes',
      'PasswordAuthentication yes',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'UseDNS no',
      'LogLevel VERBOSE',
      '',
    ].join('\n');
    await inHost(HOST, ['sh', '-c', `mkdir -p ${base} && cat > ${base}/sshd_config && /usr/sbin/sshd -f ${base}/sshd_config -E ${pwSshd.log}`], {
      input: config,
    });
    await waitFor('the password sshd', () => existsSync(hostPath(HOST, pwSshd!.pidFile)), 10_000);

    const knownHosts = join(dir, 'known_hosts_pw');
    writeFileSync(knownHosts, `[${labHost(HOST).address}]:${PW_PORT} ${knownHostsEntry(HOST).key}\n`);
    const stranger = await newKeyPair(dir, 'not_authorized');
    const inv = inventoryCopy(
      dir,
      (doc) => {
        Object.assign(doc.all.vars, {
          ssh_key: stranger.key,
          ssh_password: SSH_PASSWORD,
          become: true,
          become_password: BECOME_PASSWORD,
          known_hosts: knownHosts,
        });
        doc.all.children.lab.hosts[HOST]!.port = PW_PORT;
      },
      'wrong-key.yaml',
    );

    const [text, json] = await watchingProcesses(
      async () => [
        await kvmnet(['run', playbook, '-i', inv, '--limit', HOST], { env: NO_AGENT }),
        await kvmnet(['run', playbook, '-i', inv, '--limit', HOST, '--output', 'json'], { env: NO_AGENT }),
      ],
      { hostSession: false },
    );
    for (const r of [text, json]) {
      expect(r.code, show(r)).toBe(4);
      expectClean(r);
    }
    const error = summaryOf(json).hosts[0]?.error ?? '';
    expect(error).toMatch(/authentication failed for root \(tried: key \S+not_authorized, password/);
    // The host's sshd saw the password attempts (and rejected them): the secret really went out, encrypted, and nowhere else.
    const log = readFileSync(hostPath(HOST, pwSshd.log), 'utf8');
    expect(log).toMatch(/Failed password for root/);
    expectNoSecret('the sshd log of the host', log);

    // An explicit key that does not exist: refused before connecting, still no secret in the message.
    const missing = inventoryCopy(
      dir,
      (doc) => Object.assign(doc.all.vars, { ssh_key: join(dir, 'no-such-key'), ssh_password: SSH_PASSWORD, become_password: BECOME_PASSWORD }),
      'missing-key.yaml',
    );
    const r = await kvmnet(['run', playbook, '-i', missing, '--limit', HOST, '--output', 'json'], { env: NO_AGENT });
    expect(r.code, show(r)).toBe(4);
    expect(summaryOf(r).hosts[0]?.error).toMatch(/cannot read ssh key \S+no-such-key/);
    expectClean(r);
  });

  it('KVMNET_SSH_PASSPHRASE opens an encrypted key; neither the right nor a wrong passphrase shows anywhere', async () => {
    const locked = await newKeyPair(dir, 'encrypted_ed25519', PASSPHRASE);
    // The key is really encrypted: ssh-keygen cannot read it without the passphrase.
    expect((await spawnCollect(['ssh-keygen', '-y', '-P', '', '-f', locked.key])).code).not.toBe(0);
    writeFileSync(hostPath(HOST, '/root/.ssh/authorized_keys'), `${authorizedBefore.trimEnd()}\n${locked.pub}\n`);
    const inv = inventoryCopy(dir, (doc) => Object.assign(doc.all.vars, { ssh_key: locked.key }), 'encrypted-key.yaml');

    const [ok, wrong, none] = await watchingProcesses(
      async () => [
        await kvmnet(['run', playbook, '-i', inv, '--limit', HOST, '--check'], { env: { ...NO_AGENT, KVMNET_SSH_PASSPHRASE: PASSPHRASE } }),
        await kvmnet(['run', playbook, '-i', inv, '--limit', HOST, '--output', 'json'], { env: { ...NO_AGENT, KVMNET_SSH_PASSPHRASE: WRONG_PASSPHRASE } }),
        await kvmnet(['run', playbook, '-i', inv, '--limit', HOST, '--output', 'json'], { env: NO_AGENT }),
      ],
      { hostSession: true },
    );
    expect(ok.code, show(ok)).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`^${HOST}\\s+: ok=0\\s+changed=4`, 'm'));
    expect(wrong.code, show(wrong)).toBe(4);
    expect(summaryOf(wrong).hosts[0]?.error).toMatch(/cannot decrypt ssh key \S+encrypted_ed25519: wrong passphrase\?/);
    expect(none.code, show(none)).toBe(4);
    expect(summaryOf(none).hosts[0]?.error).toMatch(/ssh key \S+encrypted_ed25519 is encrypted and no passphrase was given/);
    for (const r of [ok, wrong, none]) expectClean(r);
  });
});
