// Host keys. strict: a changed key is refused, naming the known AND the presented SHA256
// fingerprints. accept-new: a changed key is refused too and known_hosts is left byte for byte as it
// was; an unknown host is recorded, and the next strict run trusts exactly that key.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnCollect } from '../exec.js';
import { BRIDGED, expectFresh, kvmnet, labDir, labHost, resetHost, scratchDir, show, summaryOf, type LabHost } from '../helpers.js';
import { fingerprintOf, inventoryCopy, knownHostsEntry, newKeyPair } from './support.js';

const HOST: LabHost = 'hv2';

describe('host keys', () => {
  let dir = '';
  let playbook = '';
  let realFp = '';
  let fakeFp = '';
  let changedKnownHosts = '';

  /** A copy of the lab inventory using KNOWN_HOSTS with host_key_checking MODE. */
  const inv = (label: string, knownHosts: string, mode: 'strict' | 'accept-new') =>
    inventoryCopy(dir, (doc) => Object.assign(doc.all.vars, { known_hosts: knownHosts, host_key_checking: mode }), `${label}.yaml`);

  const run = (inventory: string, extra: string[] = []) => kvmnet(['run', playbook, '-i', inventory, '--limit', HOST, '--check', '--output', 'json', ...extra]);

  beforeAll(async () => {
    await resetHost(HOST);
    dir = scratchDir('hostkeys');
    playbook = join(dir, 'bridged.yaml');
    writeFileSync(playbook, readFileSync(BRIDGED, 'utf8'));
    const real = knownHostsEntry(HOST);
    realFp = await fingerprintOf(real.key);
    const fake = await newKeyPair(dir, 'impostor');
    fakeFp = await fingerprintOf(fake.pub);
    expect(fakeFp).not.toBe(realFp);
    // The lab's known_hosts with the host's line saying another key: to kvmnet, the host's key "changed".
    changedKnownHosts = join(dir, 'known_hosts_changed');
    writeFileSync(changedKnownHosts, readFileSync(join(labDir(), 'known_hosts'), 'utf8').replace(`${real.name} ${real.key}`, `${real.name} ${fake.pub}`));
    expect(readFileSync(changedKnownHosts, 'utf8')).toContain(fake.pub);
  });

  it('strict, changed key: refused (unreachable, exit 4) naming the known and the presented fingerprints', async () => {
    const r = await run(inv('strict-changed', changedKnownHosts, 'strict'));
    expect(r.code, show(r)).toBe(4);
    const [h] = summaryOf(r).hosts;
    expect(h).toMatchObject({ host: HOST, unreachable: 1, changed: 0 });
    expect(h?.error).toMatch(/HOST KEY CHANGED/);
    // known_hosts has fakeFp (the old, "known" key); the host presents realFp (the new one).
    expect(h?.error).toContain(`key ${fakeFp}`);
    expect(h?.error).toContain(`presents ${realFp}`);
    await expectFresh(HOST);
  });

  it('accept-new, changed key: refused just the same, and known_hosts is not touched', async () => {
    const before = readFileSync(changedKnownHosts);
    const r = await run(inv('accept-new-changed', changedKnownHosts, 'accept-new'));
    expect(r.code, show(r)).toBe(4);
    const [h] = summaryOf(r).hosts;
    expect(h).toMatchObject({ host: HOST, unreachable: 1, changed: 0 });
    expect(h?.error).toContain(fakeFp);
    expect(h?.error).toContain(realFp);
    expect(readFileSync(changedKnownHosts).equals(before)).toBe(true);
  });

  it('accept-new, unknown host: recorded with its real key; then strict trusts it', async () => {
    // Only the other hosts' lines: this host is unknown.
    const knownHosts = join(dir, 'known_hosts_partial');
    const address = labHost(HOST).address;
    const others = readFileSync(join(labDir(), 'known_hosts'), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith(`${address} `));
    writeFileSync(knownHosts, `${others.join('\n')}\n`);

    const strictFirst = await run(inv('strict-unknown', knownHosts, 'strict'));
    expect(strictFirst.code, show(strictFirst)).toBe(4);
    expect(summaryOf(strictFirst).hosts[0]?.error).toMatch(new RegExp(`not in .*known_hosts_partial.*${realFp.replace(/[+/]/g, '\\$&')}`));

    const r = await run(inv('accept-new-unknown', knownHosts, 'accept-new'));
    expect(r.code, show(r)).toBe(0);
    expect(summaryOf(r).hosts).toMatchObject([{ host: HOST, unreachable: 0, changed: 4 }]);
    expect(r.stderr).toContain(`added host key ${realFp}`);
    // Appended, the other lines untouched, and it is the host's real key (ssh-keygen finds it by address).
    const after = readFileSync(knownHosts, 'utf8');
    expect(after.startsWith(`${others.join('\n')}\n`)).toBe(true);
    const found = await spawnCollect(['ssh-keygen', '-F', address, '-f', knownHosts]);
    expect(found.code, show(found)).toBe(0);
    expect(found.stdout).toContain(knownHostsEntry(HOST).key);

    const strict = await run(inv('strict-after', knownHosts, 'strict'));
    expect(strict.code, show(strict)).toBe(0);
    expect(summaryOf(strict).hosts).toMatchObject([{ host: HOST, unreachable: 0, changed: 4 }]);
    expect(readFileSync(knownHosts, 'utf8')).toBe(after);
  });
});
