// A run through a two-hop ProxyJump chain defined only in an OpenSSH client config (-F): controller → hv1 → hv2 →
// hv3, with hv3's sshd unreachable from anywhere but hv2 and hv2's from anywhere but hv1 (nft in their
// namespaces). The inventory names hv3 and nothing else: address, user, key, known_hosts all come from the config.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCollect } from './exec.js';
import { BRIDGED, addresses, inHost, kvmnet, labDir, labHost, labPrefix, link, resetHost, scratchDir, show, summaryOf, type LabHost } from './helpers.js';

const table = (): string => `${labPrefix()}jump`;

/** Only FROM may open TCP 22 on HOST; what it opened is counted. */
async function onlyFrom(host: LabHost, from: LabHost): Promise<void> {
  const rules = `table inet ${table()} {
  chain input {
    type filter hook input priority -10; policy accept;
    tcp dport 22 ip saddr ${labHost(from).address} counter accept
    tcp dport 22 drop
  }
}`;
  await inHost(host, ['nft', '-f', '-'], { input: rules });
}

async function acceptedFrom(host: LabHost): Promise<number> {
  const r = await inHost(host, ['nft', '-j', 'list', 'chain', 'inet', table(), 'input']);
  const rules = (JSON.parse(r.stdout) as { nftables: Array<{ rule?: { expr: Array<{ counter?: { packets: number } }> } }> }).nftables;
  return rules.flatMap((x) => x.rule?.expr ?? []).find((e) => e.counter)?.counter?.packets ?? -1;
}

describe('ProxyJump from an ssh config', () => {
  let dir = '';
  let config = '';
  let inv = '';

  beforeAll(async () => {
    await resetHost('hv3');
    dir = scratchDir('proxyjump');
    config = join(dir, 'ssh_config');
    const lab = labDir();
    writeFileSync(
      config,
      `# hv3 is reached through hv2, which is reached through hv1.
Host hv3
  HostName ${labHost('hv3').address}
  ProxyJump hv2
Host hv2
  HostName ${labHost('hv2').address}
  ProxyJump hv1
Host hv1
  HostName ${labHost('hv1').address}
Host hv*
  User root
  IdentityFile ${join(lab, 'id_ed25519')}
  IdentitiesOnly yes
  UserKnownHostsFile ${join(lab, 'known_hosts')}
  StrictHostKeyChecking yes
  ConnectTimeout 5
`,
    );
    inv = join(dir, 'inventory.yaml');
    writeFileSync(inv, 'all:\n  hosts:\n    hv3: {}\n');
    await onlyFrom('hv3', 'hv2');
    await onlyFrom('hv2', 'hv1');
  });

  afterAll(async () => {
    for (const h of ['hv2', 'hv3'] as const) await inHost(h, ['nft', 'delete', 'table', 'inet', table()], { check: false });
  });

  it('OpenSSH itself agrees with the config (the chain works for `ssh -F`)', async () => {
    const r = await spawnCollect(['ssh', '-F', config, '-o', 'BatchMode=yes', 'hv3', 'hostname -I']);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain(labHost('hv3').address);
  });

  it('the direct path is blocked: without the config hv3 is unreachable', async () => {
    const direct = join(dir, 'direct.yaml');
    writeFileSync(
      direct,
      `all:\n  vars:\n    user: root\n    ssh_key: ${join(labDir(), 'id_ed25519')}\n    known_hosts: ${join(labDir(), 'known_hosts')}\n    connect_timeout: 2\n  hosts:\n    hv3:\n      host: ${labHost('hv3').address}\n`,
    );
    const r = await kvmnet(['facts', '-i', direct, '-F', 'none', '--output', 'json'], { timeoutMs: 60_000 });
    expect(r.code, show(r)).toBe(4);
  });

  it('kvmnet run converges hv3 through hv1 and hv2 (exit 0, 4 changes), then changes nothing', async () => {
    const before = { hv3: await acceptedFrom('hv3'), hv2: await acceptedFrom('hv2') };
    const r = await kvmnet(['run', BRIDGED, '-i', inv, '-F', config, '--output', 'json']);
    expect(r.code, show(r)).toBe(0);
    expect(summaryOf(r).hosts.map((h) => [h.host, h.changed, h.failed, h.unreachable])).toEqual([['hv3', 4, 0, 0]]);
    // The state on hv3 itself, and its sshd was reached from hv2 only.
    expect((await link('hv3', 'br0'))?.linkinfo?.info_kind).toBe('bridge');
    expect((await link('hv3', 'eth1'))?.master).toBe('br0');
    expect(await addresses('hv3', 'br0')).toContain('192.168.0.90/24');
    expect(await acceptedFrom('hv3')).toBeGreaterThan(before.hv3);
    expect(await acceptedFrom('hv2')).toBeGreaterThan(before.hv2);

    const again = await kvmnet(['run', BRIDGED, '-i', inv, '-F', config, '--output', 'json']);
    expect(again.code, show(again)).toBe(0);
    expect(summaryOf(again).hosts.map((h) => [h.host, h.changed, h.failed, h.unreachable])).toEqual([['hv3', 0, 0, 0]]);
  });

  it('the ssh_config inventory variable chooses the file too; ProxyCommand is named once as not honoured', async () => {
    const withVar = join(dir, 'with-var.yaml');
    const extra = join(dir, 'extra_config');
    writeFileSync(extra, `Host hv3\n  ProxyCommand nc %h %p\nInclude ${config}\n`);
    // Two inventory names for the same host: the warning still comes once.
    writeFileSync(withVar, `all:\n  vars:\n    ssh_config: ${extra}\n  hosts:\n    hv3: {}\n    hv3-again:\n      host: hv3\n`);
    const r = await kvmnet(['facts', '-i', withVar, '--output', 'json'], { timeoutMs: 120_000 });
    // ProxyCommand came first, so (as in ssh) hv3's ProxyJump is not used: kvmnet tries directly and cannot get in.
    expect(r.code, show(r)).toBe(4);
    const warnings = r.stderr.split('\n').filter((l) => l.includes('does not honour ProxyCommand'));
    expect(warnings, r.stderr).toEqual([`warning: ssh config: kvmnet does not honour ProxyCommand (${extra})`]);
  });
});
