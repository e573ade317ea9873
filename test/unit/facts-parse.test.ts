// The ONE facts exec, parsed from output captured on real lab hosts (scripts/capture-facts.sh).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseFacts, splitSections } from '../../src/facts/parse.js';
import { detachStrings } from '../../src/facts/gather.js';
import { parseLinks } from '../../src/facts/parse-ip.js';
import { parseNetList } from '../../src/facts/parse-virsh.js';

const capture = (name: string) => {
  const read = (ext: string) => readFileSync(new URL(`../fixtures/facts/${name}.${ext}`, import.meta.url), 'utf8');
  return parseFacts(read('stdout'), read('stderr'));
};

describe('facts from one exec', () => {
  it('fresh host: links, the SSH interface, and the stock default network (inactive)', () => {
    const { facts, missingNetworks } = capture('fresh');
    expect(facts.hostname).toMatch(/^hv\d+$/);
    expect(Object.keys(facts.links).sort()).toEqual(['eth1', 'eth2', 'lo', 'mgmt0']);
    expect(facts.links.eth1).toMatchObject({ kind: 'veth', up: false });
    expect(facts.session).toMatchObject({ dev: 'mgmt0', serverPort: 22 });
    expect(facts.session!.serverAddress).toMatch(/^198\.1[89]\./);
    expect(facts.routes.find((r) => r.dst === 'default')).toMatchObject({ dev: 'mgmt0', family: 4 });
    expect(facts.libvirt.available).toBe(true);
    if (!facts.libvirt.available) return;
    expect(facts.libvirt.networks.default).toMatchObject({ active: false, autostart: false, persistent: true, bridge: 'virbr0', forwardMode: 'nat' });
    expect(facts.libvirt.networks.default!.xml).toContain('<uuid>');
    expect(missingNetworks).toEqual([]);
  });

  it('converged host: br0 with STP and its port, the address, three networks', () => {
    const { facts } = capture('converged');
    expect(facts.links.br0).toMatchObject({ kind: 'bridge', up: true, bridge: { stp: true, forwardDelay: 15 } });
    expect(facts.links.eth1!.master).toBe('br0');
    expect(facts.addrs).toContainEqual({ dev: 'br0', family: 4, address: '192.168.0.90', prefix: 24, scope: 'global' });
    expect(facts.libvirt.available).toBe(true);
    if (!facts.libvirt.available) return;
    expect(Object.keys(facts.libvirt.networks).sort()).toEqual(['bridged-network', 'default', 'net10']);
    expect(facts.libvirt.networks['bridged-network']).toMatchObject({ active: true, autostart: true, forwardMode: 'bridge', bridge: 'br0' });
    expect(facts.libvirt.networks.net10).toMatchObject({ active: true, autostart: true, forwardMode: 'nat', bridge: 'br10' });
    // libvirt's stp on / delay 0 reads back clamped to 2 s.
    expect(facts.links.br10!.bridge).toEqual({ stp: true, forwardDelay: 2 });
  });

  it('libvirtd down: libvirt is unavailable with the reason, while virsh itself exited 0', () => {
    const { facts } = capture('no-libvirtd');
    expect(readFileSync(new URL('../fixtures/facts/no-libvirtd.stdout', import.meta.url), 'utf8')).toContain('@@kvmnet:virsh-exit:0@@');
    expect(facts.libvirt).toEqual({ available: false, reason: "Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory" });
    expect(Object.keys(facts.links)).toContain('mgmt0');
  });

  it('markers are found mid-line (virsh echo prints no newline)', () => {
    expect(splitSections('@@kvmnet:a@@x@@kvmnet:b@@y\n')).toEqual([
      { key: 'a', body: 'x' },
      { key: 'b', body: 'y\n' },
    ]);
  });

  it('no virsh on the host: clear reason', () => {
    expect(parseFacts('@@kvmnet:link@@[]\n@@kvmnet:virsh@@\n@@kvmnet:no-virsh@@\n', '').facts.libvirt).toEqual({
      available: false,
      reason: 'virsh is not installed (install libvirt-clients)',
    });
  });

  it('net-list rows parse from the right, so names with spaces survive', () => {
    expect(parseNetList(' my net   active   yes   no\n')).toEqual([{ name: 'my net', active: true, autostart: true, persistent: false }]);
  });

  it('bad JSON from ip is reported, not crashed on', () => {
    expect(() => parseLinks('[{')).toThrow(/cannot parse the output of 'ip -j -d link show' as JSON/);
  });
});

describe('running guests', () => {
  it('domiflist rows of running guests are part of the same exec', () => {
    const { facts } = capture('with-guest');
    expect(facts.libvirt.available && facts.libvirt.guests).toEqual([
      { guest: 'guest1', interface: 'vnet0', type: 'network', source: 'net10', model: 'virtio', mac: expect.stringMatching(/^52:54:00:/) },
    ]);
  });
  it('a restart (this capture predates the libvirt version fact: no live update) names the guests it re-attaches', async () => {
    const { planOf } = await import('./support/plan-task.js');
    const { facts } = capture('with-guest');
    const xml = facts.libvirt.available ? facts.libvirt.networks.net10!.xml!.replace("end='192.168.30.200'", "end='192.168.30.150'") : '';
    const p = planOf('ensure_libvirt_net', { name: 'net10', state: 'active' }, facts, 'hv2', { desiredXml: xml });
    expect(p.diff!.notes).toEqual([
      'restart: net10 is active and the libvirt version on the host is unknown (live updates need 1.2.6 or later); guests attached are cut off briefly and re-attached after the restart: guest1 (vnet0)',
    ]);
    expect(p.changes.at(-1)!.summary).toBe('network net10 restarted; 1 guest interface re-attached (guest1 vnet0)');
  });
});

describe('facts kept for the run', () => {
  it('detachStrings copies the facts out of the command output without changing a value', () => {
    const { facts } = capture('converged');
    const before = structuredClone(facts);
    const detached = detachStrings(facts);
    expect(detached).toBe(facts);
    expect(detached).toEqual(before);
    // Long strings are new copies (equal text); short ones and non-strings are untouched.
    expect(detachStrings({ a: 'x'.repeat(40), b: ['y'.repeat(20), 3, null], c: 'short' })).toEqual({
      a: 'x'.repeat(40),
      b: ['y'.repeat(20), 3, null],
      c: 'short',
    });
  });
});
