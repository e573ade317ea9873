// A host that presents another key than known_hosts says: kvmnet refuses to talk to it
// (unreachable, exit 4), names both SHA256 fingerprints and says the key changed, and changes nothing.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnCollect } from './exec.js';
import { BRIDGED, expectFresh, inventory, kvmnet, labDir, labHost, resetHost, scratchDir, show, summaryOf, type LabHost } from './helpers.js';

const HOST: LabHost = 'hv1';

async function fingerprint(pubFile: string): Promise<string> {
  const r = await spawnCollect(['ssh-keygen', '-l', '-E', 'sha256', '-f', pubFile]);
  expect(r.code, show(r)).toBe(0);
  const fp = /SHA256:[A-Za-z0-9+/]+/.exec(r.stdout)?.[0];
  if (!fp) throw new Error(`no fingerprint in ${r.stdout}`);
  return fp;
}

describe('a changed host key', () => {
  let inv = '';
  let knownHosts = '';
  let fakeFp = '';
  let realFp = '';

  beforeAll(async () => {
    await resetHost(HOST);
    const dir = scratchDir('hostkey');
    const fakeKey = join(dir, 'fake_ed25519');
    const gen = await spawnCollect(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'not-hv1', '-f', fakeKey]);
    expect(gen.code, show(gen)).toBe(0);
    fakeFp = await fingerprint(`${fakeKey}.pub`);

    // The lab's known_hosts holds the host's real key: that is what the host will present.
    const address = labHost(HOST).address;
    const original = readFileSync(join(labDir(), 'known_hosts'), 'utf8');
    const lines = original.split('\n');
    const i = lines.findIndex((l) => l.startsWith(`${address} `));
    expect(i).toBeGreaterThanOrEqual(0);
    const realPub = join(dir, 'real.pub');
    writeFileSync(realPub, `${lines[i]!.split(/\s+/).slice(1, 3).join(' ')}\n`);
    realFp = await fingerprint(realPub);
    expect(fakeFp).not.toBe(realFp);

    // The same file with HOST's key replaced by the generated one.
    const fakePub = readFileSync(`${fakeKey}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
    lines[i] = `${address} ${fakePub}`;
    knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, lines.join('\n'));

    const invText = readFileSync(inventory(), 'utf8');
    const replaced = invText.replace(/^(\s*known_hosts:\s*).*$/m, `$1${JSON.stringify(knownHosts)}`);
    expect(replaced).not.toBe(invText);
    inv = join(dir, 'inventory.yaml');
    writeFileSync(inv, replaced);
  });

  it('refuses the host: unreachable, exit 4, both fingerprints, "changed"; nothing changed there', async () => {
    const known = readFileSync(knownHosts, 'utf8');
    const playbook = join(scratchDir('hostkey-pb'), 'bridged.yaml');
    writeFileSync(playbook, readFileSync(BRIDGED, 'utf8'));

    const r = await kvmnet(['run', playbook, '-i', inv, '--limit', HOST]);
    expect(r.code, show(r)).toBe(4);
    const text = r.stdout + r.stderr;
    expect(text).toMatch(/unreachable/);
    expect(text).toMatch(/changed/i);
    expect(text).toContain(realFp);
    expect(text).toContain(fakeFp);

    const json = await kvmnet(['run', playbook, '-i', inv, '--limit', HOST, '--output', 'json']);
    expect(json.code, show(json)).toBe(4);
    expect(summaryOf(json).hosts).toMatchObject([{ host: HOST, unreachable: 1, changed: 0 }]);
    expect(summaryOf(json).hosts[0]?.error).toMatch(/SHA256:[A-Za-z0-9+/]+/);

    await expectFresh(HOST);
    // A changed key is the user's to resolve: known_hosts is left exactly as it was.
    expect(readFileSync(knownHosts, 'utf8')).toBe(known);
  });

  it('the same run with the lab inventory (the right key) reaches the host', async () => {
    const r = await kvmnet(['run', BRIDGED, '-i', inventory(), '--limit', HOST, '--check', '--output', 'json']);
    expect(r.code, show(r)).toBe(0);
    expect(summaryOf(r).hosts).toMatchObject([{ host: HOST, unreachable: 0, changed: 4 }]);
  });
});
