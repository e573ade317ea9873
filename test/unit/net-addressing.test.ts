// A libvirt network's addresses and DHCP ranges, as the topology picture shows them.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { netAddressing } from '../../src/render/net-addressing.js';

const captured = (file: string) => readFileSync(new URL(`../fixtures/hosts/${file}`, import.meta.url), 'utf8');

describe('netAddressing', () => {
  it.each([
    ['net10 (captured)', captured('nat/virsh-net-dumpxml-inactive-net10.xml'), { ip: ['192.168.30.1/24'], dhcp: ['192.168.30.50-192.168.30.200'] }],
    ['default (captured)', captured('nat/virsh-net-dumpxml-inactive-default.xml'), { ip: ['192.168.122.1/24'], dhcp: ['192.168.122.2-192.168.122.254'] }],
    ['bridged (captured): no addressing', captured('bridged/virsh-net-dumpxml-inactive-bridged-network.xml'), { ip: [], dhcp: [] }],
    [
      'prefix attribute and IPv6',
      "<network><ip address='10.0.0.1' prefix='16'/><ip family='ipv6' address='2001:db8::1' prefix='64'><dhcp><range start='2001:db8::10' end='2001:db8::ff'/></dhcp></ip></network>",
      { ip: ['10.0.0.1/16', '2001:db8::1/64'], dhcp: ['2001:db8::10-2001:db8::ff'] },
    ],
    ['a netmask that is not one', "<network><ip address='10.0.0.1' netmask='junk'/></network>", { ip: ['10.0.0.1'], dhcp: [] }],
    ['XML that does not parse', '<network><ip', { ip: [], dhcp: [] }],
    ['no XML', undefined, { ip: [], dhcp: [] }],
  ])('%s', (_name, xml, expected) => {
    expect(netAddressing(xml)).toEqual(expected);
  });
});
