// The package index parser of `kvmnet lab up --libvirt backports`, on stanzas cut from the real
// bookworm-backports index (test/fixtures/lab/README.md).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePackages } from '../../src/lab/libvirt-backports.js';

const index = readFileSync(new URL('../fixtures/lab/bookworm-backports-libvirt.Packages', import.meta.url), 'utf8');

describe('parsePackages (bookworm-backports index)', () => {
  it('finds each wanted package: version, pool path, SHA256; leaves the others out', () => {
    const wanted = ['libvirt0', 'libvirt-daemon-driver-network', 'libvirt-clients'];
    const found = parsePackages(index, wanted);
    expect([...found.keys()].sort()).toEqual([...wanted].sort());
    expect(found.get('libvirt0')).toEqual({
      package: 'libvirt0',
      version: '11.3.0-2~bpo12+1',
      filename: 'pool/main/libv/libvirt/libvirt0_11.3.0-2~bpo12+1_amd64.deb',
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    // libvirt-daemon-log is in the index but not asked for; libvirt-daemon must not match libvirt-daemon-log.
    expect(parsePackages(index, ['libvirt-daemon']).get('libvirt-daemon')!.filename).toBe('pool/main/libv/libvirt/libvirt-daemon_11.3.0-2~bpo12+1_amd64.deb');
  });

  it('a package the index does not list is simply absent (up then names it)', () => {
    expect(parsePackages(index, ['libvirt-nonexistent']).size).toBe(0);
  });
});
