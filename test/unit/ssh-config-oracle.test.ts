// kvmnet's reading of OpenSSH client configs, compared host by host with `ssh -G` (the oracle: the real ssh
// installed here, OpenSSH 9.2) on the options kvmnet uses.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clearSshConfigCache, parseProxyJump, resolveJumpChain, resolveSshHost, type SshHostConfig, type SshPreset } from '../../src/config/ssh-config.js';

const dir = mkdtempSync(join(tmpdir(), 'kvmnet-sshcfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KEYS = [
  'hostname',
  'user',
  'port',
  'identityfile',
  'identitiesonly',
  'identityagent',
  'proxyjump',
  'userknownhostsfile',
  'globalknownhostsfile',
  'stricthostkeychecking',
  'hostkeyalias',
  'connecttimeout',
  'serveraliveinterval',
  'serveralivecountmax',
];

function sshG(file: string, host: string, preset: SshPreset = {}): Record<string, string> {
  const args = ['-G', '-F', file];
  if (preset.user !== undefined) args.push('-o', `User=${preset.user}`);
  if (preset.port !== undefined) args.push('-o', `Port=${preset.port}`);
  if (preset.identityFile !== undefined) args.push('-o', `IdentityFile=${preset.identityFile}`);
  if (preset.proxyJump !== undefined) args.push('-J', preset.proxyJump);
  args.push(host);
  const out = execFileSync('ssh', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const got: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const sp = line.indexOf(' ');
    const key = line.slice(0, sp);
    if (!KEYS.includes(key)) continue;
    // identityfile comes once per file.
    got[key] = got[key] === undefined ? line.slice(sp + 1) : `${got[key]}\n${line.slice(sp + 1)}`;
  }
  return got;
}

function asSshG(c: SshHostConfig): Record<string, string> {
  const out: Record<string, string> = {
    hostname: c.hostname,
    user: c.user,
    port: String(c.port),
    identityfile: c.identityFiles.join('\n'),
    identitiesonly: c.identitiesOnly ? 'yes' : 'no',
    userknownhostsfile: c.userKnownHostsFiles.join(' '),
    globalknownhostsfile: c.globalKnownHostsFiles.join(' '),
    stricthostkeychecking: c.strictHostKeyChecking,
    connecttimeout: c.connectTimeout === undefined ? 'none' : String(c.connectTimeout),
    serveraliveinterval: String(c.serverAliveInterval),
    serveralivecountmax: String(c.serverAliveCountMax),
  };
  if (c.identityAgent !== undefined) out['identityagent'] = c.identityAgent;
  if (c.proxyJump !== undefined) out['proxyjump'] = c.proxyJump;
  if (c.hostKeyAlias !== undefined) out['hostkeyalias'] = c.hostKeyAlias;
  return out;
}

let n = 0;
function config(text: string, extra: Record<string, string> = {}): string {
  n += 1;
  const sub = join(dir, `c${n}`);
  mkdirSync(sub, { recursive: true });
  for (const [name, body] of Object.entries(extra)) {
    mkdirSync(join(sub, name, '..'), { recursive: true });
    writeFileSync(join(sub, name), body.replaceAll('@DIR@', sub));
  }
  const file = join(sub, 'config');
  writeFileSync(file, text.replaceAll('@DIR@', sub));
  clearSshConfigCache();
  return file;
}

interface Case {
  name: string;
  text: string;
  extra?: Record<string, string>;
  hosts: Array<string | [string, SshPreset]>;
}

const CASES: Case[] = [
  {
    name: 'Host patterns, wildcards, negation, first value wins',
    text: `Host *.dc2 !bastion*.dc2
  ProxyJump bastion-dc2
  User ops
Host hv1? hv2*
  Port 2222
  User first
Host *
  User everyone
  Port 22
  IdentityFile ~/.ssh/kvm_%h
`,
    hosts: ['hv17.dc2', 'bastion1.dc2', 'hv12', 'hv2', 'hv2x', 'other', 'HV1a', ['hv17.dc2', { user: 'invuser', port: 2000 }]],
  },
  {
    name: 'HostName with %h, tokens in known hosts and agent, HostKeyAlias, timeouts',
    text: `Host hv*
  HostName %h.mgmt.example
  HostKeyAlias alias-%h
  UserKnownHostsFile ~/kh/%h-%r-%p %d/.ssh/kh2_%n %k
  IdentityAgent ~/.ssh/agent-%u.sock
  IdentityFile "~/.ssh/key with space"
  IdentityFile /keys/%r@%h
  IdentitiesOnly yes
  ConnectTimeout 7
  ServerAliveInterval 15
  ServerAliveCountMax 5
  StrictHostKeyChecking accept-new
Host db
  StrictHostKeyChecking no
  IdentityAgent none
Host web
  StrictHostKeyChecking yes
  HostName 10.0.0.%%
`,
    hosts: ['hv3', 'db', 'web', ['hv4', { user: 'bob', port: 2201, identityFile: '/inv/key' }]],
  },
  {
    name: 'Known hosts file lists: several user files (tokens, ~), global files as written, first value wins',
    text: `Host hv*
  UserKnownHostsFile ~/.ssh/fleet_known_hosts /etc/kvmnet/known_%h %d/shared_known_hosts
  GlobalKnownHostsFile /etc/ssh/fleet_known_hosts ~/not-expanded
Host hv9
  UserKnownHostsFile /ignored/after/the/first
Host db*
  GlobalKnownHostsFile /srv/%h/known
Host *
  UserKnownHostsFile /fallback/one
`,
    hosts: ['hv1', 'hv9', 'db1', 'other', ['hv2', { user: 'bob', port: 2201 }]],
  },
  {
    name: 'Match host (after HostName) / originalhost / user / localuser / all / negation',
    text: `Host a1
  HostName real-a1
Match host real-*
  Port 2301
Match originalhost a*
  User alice
Match user alice !originalhost a2
  ConnectTimeout 11
Match user bob
  Port 2302
Match localuser root
  ServerAliveInterval 9
Match !host zzz originalhost b*
  HostKeyAlias via-negation
Match all
  User fallback
`,
    hosts: ['a1', 'A1', 'a2', 'B7', 'zzz', ['a3', { user: 'bob' }], ['b1', { user: 'bob' }]],
  },
  {
    name: 'Match user before any User sees the local user',
    text: `Match user root
  Port 2202
Host *
  User alice
Match user alice
  Port 2203
`,
    hosts: ['x', ['y', { user: 'alice' }]],
  },
  {
    name: 'Match final re-reads with the resolved name',
    text: `Host a
  HostName b
Match final host b
  Port 2203
Host b
  User zed
`,
    hosts: ['a', 'b', 'c', 'A'],
  },
  {
    name: 'Include: globs, nesting, inside a Host block, activity restored after',
    text: `Host inc*
  Include @DIR@/conf.d/*.conf
  IdentityFile ~/.ssh/after_include
Include @DIR@/top.conf
Host *
  User last
`,
    extra: {
      'conf.d/10-a.conf': 'User from-10\nHost inc2\n  Port 2402\n',
      'conf.d/20-b.conf': 'Port 2420\nHostName %h.included\n',
      'conf.d/ignored.txt': 'Port 9999\n',
      'top.conf': 'Host top*\n  Include @DIR@/deeper.conf\n',
      'deeper.conf': 'User deep\nProxyJump j1,j2:2200\n',
    },
    hosts: ['inc1', 'inc2', 'top1', 'plain'],
  },
  {
    name: 'ProxyJump forms, none, and ProxyCommand first',
    text: `Host pj1
  ProxyJump u@b1:2022,[fe80::1]:22,ssh://w@b3
Host pj2
  ProxyJump none
Host pj3
  ProxyCommand ssh -W %h:%p gw
  ProxyJump never-used
Host pj*
  ProxyJump default-bastion
`,
    hosts: ['pj1', 'pj2', 'pj3', 'pj4', ['pj4', { proxyJump: 'cli-jump' }]],
  },
  {
    name: 'equals signs, quoting, case of keywords',
    text: `host=eq
  hostname="eq.example"
  PORT 2500
  user = quoted
HOST spaced "two words" eq2
  IDENTITYFILE "/path/with space/key"
`,
    hosts: ['eq', 'eq2', 'spaced'],
  },
];

describe('ssh config resolution equals `ssh -G`', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const file = config(c.text, c.extra);
      for (const entry of c.hosts) {
        const [host, preset] = typeof entry === 'string' ? [entry, {}] : entry;
        const ours = asSshG(resolveSshHost(host, { files: [file] }, preset));
        expect(ours, `${host} ${JSON.stringify(preset)}`).toEqual(sshG(file, host, preset));
      }
    });
  }

  it('each hop of a ProxyJump chain is what ssh dials (-l/-p/-J as ssh.c builds the inner ssh)', () => {
    const file = config(`Host target
  ProxyJump admin@hop2:2022
Host hop2
  HostName 10.0.0.2
  ProxyJump hop1
  User hopper
Host hop1
  HostName 10.0.0.1
  ProxyJump hop0
Host hop0
  HostName gw.example
  Port 2200
Host t2
  ProxyJump hop1,hop2
`);
    const src = { files: [file] };
    // target → hop2 (user admin, port 2022, its own ProxyJump hop1) → hop1 (its ProxyJump hop0) → hop0.
    const chain = resolveJumpChain(resolveSshHost('target', src).proxyJump!, src);
    expect(chain.map((h) => `${h.user}@${h.hostname}:${h.port}`)).toEqual(['root@gw.example:2200', 'root@10.0.0.1:22', 'admin@10.0.0.2:2022']);
    expect(asSshG(chain[2]!)).toEqual(sshG(file, 'hop2', { user: 'admin', port: 2022 }));
    expect(asSshG(chain[1]!)).toEqual(sshG(file, 'hop1'));
    // With `-J hop1,hop2` the last hop is dialled with -J hop1: its own ProxyJump (hop1) is replaced, hop1 keeps its own.
    const chain2 = resolveJumpChain('hop1,hop2', src);
    expect(chain2.map((h) => h.alias)).toEqual(['hop0', 'hop1', 'hop2']);
    expect(asSshG(chain2[2]!)).toEqual(sshG(file, 'hop2', { proxyJump: 'hop1' }));
  });

  it('parses ProxyJump specs and refuses bad ones', () => {
    expect(parseProxyJump('a,u@b:2,ssh://v@[::1]:3')).toEqual([{ host: 'a' }, { host: 'b', user: 'u', port: 2 }, { host: '::1', user: 'v', port: 3 }]);
    expect(() => parseProxyJump('a:99999')).toThrow(/expected \[user@\]host\[:port\]/);
    expect(() => parseProxyJump('@b')).toThrow(/invalid jump host/);
  });

  it('names options it cannot honour, with the file', () => {
    const file = config('Host x\n  ProxyCommand nc %h %p\n  LocalForward 8080 localhost:80\n  ControlMaster auto\n');
    expect(resolveSshHost('x', { files: [file] }).unsupported).toEqual([`ProxyCommand (${file})`, `LocalForward (${file})`]);
    expect(resolveSshHost('y', { files: [file] }).unsupported).toEqual([]);
  });
});
