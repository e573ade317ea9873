// The persisted-files section of the facts, parsed from output captured on lab hosts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cutPersisted, parseFacts } from '../../src/facts/parse.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/facts/${name}.stdout`, import.meta.url), 'utf8');

describe('persisted files in the facts', () => {
  it('reads every kvmnet networkd file, exactly, even one that looks like facts output', () => {
    const { facts } = parseFacts(fixture('persist-networkd-drift'), '');
    expect(facts.persistDirs).toEqual(['/etc/systemd/network', '/etc/network/interfaces.d']);
    expect(Object.keys(facts.persisted!).sort()).toEqual([
      '/etc/systemd/network/10-kvmnet-br0.netdev',
      '/etc/systemd/network/10-kvmnet-br0.network',
      '/etc/systemd/network/10-kvmnet-br0.network.d/address-192.168.0.90.conf',
      '/etc/systemd/network/10-kvmnet-br0.network.d/address-2001:db8::1.conf',
      '/etc/systemd/network/10-kvmnet-br9.netdev',
      '/etc/systemd/network/10-kvmnet-eth1.network',
    ]);
    expect(facts.persisted!['/etc/systemd/network/10-kvmnet-br0.network.d/address-192.168.0.90.conf']).toBe(
      '# Written by kvmnet; changes made here are overwritten on its next run.\n# ensure_ip 192.168.0.90/24 on br0\n[Network]\nAddress=192.168.0.90/24\n',
    );
    // No final newline, a blank line, a line starting with '|', and a marker inside the file.
    expect(facts.persisted!['/etc/systemd/network/10-kvmnet-br9.netdev']).toBe(
      '# hand-made, no newline at the end\n@@kvmnet:virsh@@ a marker inside a file\n|pipe line\n\n[NetDev]\nName=br9\nKind=bridge',
    );
  });

  it('leaves the rest of the facts as they were (the marker in a file does not split them)', () => {
    const { facts, missingNetworks } = parseFacts(fixture('persist-networkd-drift'), '');
    expect(facts.hostname).toBe('hv1');
    expect(facts.session).toMatchObject({ serverAddress: '198.18.110.11', dev: 'mgmt0' });
    expect(Object.keys(facts.links).sort()).toEqual(['br0', 'eth1', 'eth2', 'lo', 'mgmt0']);
    expect(facts.libvirt.available).toBe(true);
    expect(facts.libvirt.available && Object.keys(facts.libvirt.networks)).toEqual(['default']);
    expect(missingNetworks).toEqual([]);
  });

  it('reads ifupdown stanzas', () => {
    const { facts } = parseFacts(fixture('persist-ifupdown'), '');
    expect(facts.persisted).toEqual({
      '/etc/network/interfaces.d/kvmnet-br0': expect.stringContaining(
        'auto br0\niface br0 inet manual\n    bridge_ports eth1 eth2\n    bridge_stp on\n    bridge_fd 4\n    mtu 1400\n',
      ),
      '/etc/network/interfaces.d/kvmnet-br0__192-168-0-91': expect.stringMatching(/iface br0 inet static\n {4}address 192\.168\.0\.91\/24\n$/),
      '/etc/network/interfaces.d/kvmnet-br0__2001-db8--2': expect.stringMatching(/iface br0 inet6 static\n {4}address 2001:db8::2\/64\n$/),
    });
  });

  it('knows which directories exist, and that there are no files', () => {
    const { facts } = parseFacts(fixture('persist-fresh-no-ifupdown-dir'), '');
    expect(facts.persistDirs).toEqual(['/etc/systemd/network']);
    expect(facts.persisted).toEqual({});
    expect(facts.session).toBeUndefined();
    expect(Object.keys(facts.links).sort()).toEqual(['eth1', 'eth2', 'lo', 'mgmt0']);
  });

  it('says nothing (not "no files") when the output has no such section', () => {
    const text = fixture('persist-fresh-no-ifupdown-dir').replace(/@@kvmnet:persist@@[\s\S]*?@@kvmnet:persist-end@@\n/, '');
    const { facts } = parseFacts(text, '');
    expect(facts.persisted).toBeUndefined();
    expect(facts.persistDirs).toBeUndefined();
    expect(facts.hostname).toBe('hv1');
  });

  it.each([
    ['empty file', '@@kvmnet:file:/x@@\n\n', ''],
    ['one empty line', '@@kvmnet:file:/x@@\n|\n\n', '\n'],
    ['no final newline', '@@kvmnet:file:/x@@\n|a\n|b\n', 'a\nb'],
    ['final newline', '@@kvmnet:file:/x@@\n|a\n|b\n\n', 'a\nb\n'],
    ['a line that is the end marker', '@@kvmnet:file:/x@@\n|@@kvmnet:persist-end@@\n\n', '@@kvmnet:persist-end@@\n'],
  ])('%s', (_, body, content) => {
    const out = cutPersisted(`before\n@@kvmnet:persist@@\n${body}@@kvmnet:persist-end@@\nafter\n`);
    expect(out.persisted).toEqual({ '/x': content });
    expect(out.rest).toBe('before\n\nafter\n');
  });
});
