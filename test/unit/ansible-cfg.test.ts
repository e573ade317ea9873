// ansible.cfg as Ansible reads it, with `ansible-config dump --only-changed` (ansible-core 2.14) as the oracle; and
// `kvmnet inventory --list` without -i finds the inventory ansible-inventory finds.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAnsibleCfg, parseCfg, sshArgsOptions, type AnsibleCfg } from '../../src/config/ansible-cfg.js';

const root = mkdtempSync(join(tmpdir(), 'kvmnet-cfg-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const REPO = new URL('../..', import.meta.url).pathname;
// Only what the test sets: no ANSIBLE_* of the machine, no ~/.ansible.cfg of the developer.
const HOME = join(root, 'home');
mkdirSync(HOME);
const baseEnv = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME, LANG: 'C.UTF-8' };

interface Dumped {
  name: string;
  value: unknown;
  origin: string;
}

function ansibleDump(cwd: string, env: Record<string, string>): Map<string, Dumped> {
  const run = (extra: string[]) =>
    JSON.parse(
      execFileSync('ansible-config', ['dump', '--only-changed', '--format', 'json', ...extra], { cwd, env: { ...baseEnv, ...env }, encoding: 'utf8' }),
    ) as unknown;
  const core = run([]) as Dumped[];
  const plugins = run(['-t', 'connection']) as Array<Record<string, Dumped[]>>;
  const ssh = plugins.find((p) => 'ssh' in p)?.['ssh'] ?? [];
  return new Map([...core, ...ssh.filter((s) => s.name === 'ssh_args')].map((d) => [d.name, d]));
}

/** kvmnet's reading in ansible-config's names. */
function asDump(c: AnsibleCfg): Record<string, { value: unknown; origin: string }> {
  const out: Record<string, { value: unknown; origin: string }> = {};
  const put = (name: string, s: { value: unknown; origin: string } | undefined) => {
    if (s) out[name] = { value: s.value, origin: s.origin.replace(/^env: /, 'env: ') };
  };
  put('DEFAULT_HOST_LIST', c.inventory);
  put('DEFAULT_REMOTE_USER', c.remoteUser);
  put('DEFAULT_PRIVATE_KEY_FILE', c.privateKeyFile);
  put('DEFAULT_FORKS', c.forks);
  put('DEFAULT_TIMEOUT', c.timeout);
  put('HOST_KEY_CHECKING', c.hostKeyChecking);
  put('DEFAULT_BECOME', c.become);
  put('ssh_args', c.sshArgs);
  return out;
}

const KEYS = [
  'DEFAULT_HOST_LIST',
  'DEFAULT_REMOTE_USER',
  'DEFAULT_PRIVATE_KEY_FILE',
  'DEFAULT_FORKS',
  'DEFAULT_TIMEOUT',
  'HOST_KEY_CHECKING',
  'DEFAULT_BECOME',
  'ssh_args',
];

function fromAnsible(d: Map<string, Dumped>): Record<string, { value: unknown; origin: string }> {
  const out: Record<string, { value: unknown; origin: string }> = {};
  for (const k of KEYS) {
    const x = d.get(k);
    // ansible-config names an environment origin `env: ANSIBLE_X`.
    if (x) out[k] = { value: x.value, origin: x.origin };
  }
  return out;
}

const CASES: Array<{ name: string; cfg: string; env?: Record<string, string>; where?: 'cwd' | 'env' | 'home' }> = [
  {
    name: 'every setting, comments, continuation lines, relative paths against the file',
    cfg: `# fleet defaults
[defaults]
inventory = hosts.yml, ./more ; the second source
remote_user: ops
private_key_file = keys/fleet_%%key
forks = 7
timeout=15
host_key_checking = False
; a comment
[privilege_escalation]
become = yes

[ssh_connection]
ssh_args = -C -o ControlMaster=auto
  -o ControlPersist=60s -F ./sshcfg
`,
  },
  { name: 'booleans as Ansible reads them', cfg: '[defaults]\nhost_key_checking = t\n[privilege_escalation]\nbecome = maybe\n' },
  {
    name: 'ANSIBLE_* over the file',
    cfg: '[defaults]\nforks = 7\nremote_user = ops\n',
    env: { ANSIBLE_FORKS: '3', ANSIBLE_INVENTORY: 'inv1,inv2', ANSIBLE_HOST_KEY_CHECKING: 'false' },
  },
  { name: 'ANSIBLE_CONFIG names the file', cfg: '[defaults]\ninventory = ~/fleet/hosts\nprivate_key_file = $HOME/k\n', where: 'env' },
  { name: '~/.ansible.cfg when there is none here', cfg: '[defaults]\nremote_user = from-home\n', where: 'home' },
];

describe('ansible.cfg equals `ansible-config dump --only-changed`', () => {
  CASES.forEach((c, i) => {
    it(c.name, () => {
      const dir = join(root, `c${i}`);
      mkdirSync(dir);
      const env: Record<string, string> = { ...c.env };
      const file = c.where === 'env' ? join(dir, 'elsewhere.cfg') : c.where === 'home' ? join(HOME, '.ansible.cfg') : join(dir, 'ansible.cfg');
      writeFileSync(file, c.cfg);
      if (c.where === 'env') env['ANSIBLE_CONFIG'] = file;
      try {
        const oracle = fromAnsible(ansibleDump(dir, env));
        expect(Object.keys(oracle).length).toBeGreaterThan(0);
        const ours = loadAnsibleCfg({ ...baseEnv, ...env }, dir);
        expect(ours.errors).toEqual([]);
        expect(asDump(ours)).toEqual(oracle);
      } finally {
        if (c.where === 'home') rmSync(file);
      }
    });
  });

  it('reads ssh_args like ssh: -o in both spellings, -F', () => {
    expect(sshArgsOptions('-C -o ControlMaster=auto -oUser=ops -o "ProxyJump bastion" -F ./cfg')).toEqual({
      options: ['ControlMaster auto', 'User ops', 'ProxyJump bastion'],
      configFile: './cfg',
    });
    expect(parseCfg('[a]\nk = v ; c\n  more\n#x\n[b]\nK: w\n').get('a')?.get('k')).toBe('v\nmore');
  });

  it('`kvmnet inventory --list` without -i lists what `ansible-inventory --list` lists', () => {
    const dir = join(root, 'project');
    mkdirSync(join(dir, 'inv'), { recursive: true });
    writeFileSync(join(dir, 'ansible.cfg'), '[defaults]\ninventory = inv/hosts.yml,inv/extra.ini\nremote_user = ops\n');
    writeFileSync(join(dir, 'inv', 'hosts.yml'), 'kvm:\n  hosts:\n    hv1: {mtu: 9000}\n    hv2:\n');
    writeFileSync(join(dir, 'inv', 'extra.ini'), '[dc2]\nhv3 ansible_port=2222\n[kvm:children]\ndc2\n');
    const ansible = execFileSync('ansible-inventory', ['--list'], { cwd: dir, env: baseEnv, encoding: 'utf8' });
    const kvmnet = spawnSync(process.execPath, [join(REPO, 'bin', 'kvmnet.js'), 'inventory', '--list'], { cwd: dir, env: baseEnv, encoding: 'utf8' });
    expect(kvmnet.status, kvmnet.stderr).toBe(0);
    expect(kvmnet.stdout).toBe(ansible);
    expect(JSON.parse(kvmnet.stdout).all.children).toEqual(['ungrouped', 'kvm']);
  });
});
