// libvirt's canonical form: every definition of libvirt's test corpus matches what libvirt 9.0.0
// kept of it (captured on a lab host), although a fifth of them differ as written; real changes
// still show; what 9.0.0 drops is reported, not compared.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isSubset, parseXml } from '../../src/render/netxml.js';
import { canonicalIPv6, canonicalMac, canonicalPair, canonicalUuid, describeIgnored } from '../../src/render/netxml-canon.js';

const DIR = new URL('../fixtures/libvirt-networkxml/', import.meta.url);
const read = (f: string) => parseXml(readFileSync(new URL(f, DIR), 'utf8'));
const dumped = readdirSync(new URL('dumped-9.0.0/', DIR)).sort();
const same = (desired: string, actual: string, version = '9.0.0') => {
  const c = canonicalPair(parseXml(desired), parseXml(actual), version);
  return isSubset(c.desired, c.actual!);
};

describe("libvirt's network corpus against what libvirt 9.0.0 kept", () => {
  it('has a dump for every file libvirt accepted (38 of 47)', () => {
    expect(dumped).toHaveLength(38);
  });
  it.each(dumped)('%s matches what libvirt kept of it', (file) => {
    const c = canonicalPair(read(file), read(`dumped-9.0.0/${file}`), '9.0.0');
    expect(isSubset(c.desired, c.actual!)).toBe(true);
    expect(c.ignored).toEqual(file === 'hostdev-pf-driver-model.xml' ? [{ what: '<forward><driver model>', why: 'not supported before 10.0.0' }] : []);
  });
  it('compared as written, without the canonical form, 9 of them would be redefined on every run', () => {
    expect(dumped.filter((f) => !isSubset(read(f), read(`dumped-9.0.0/${f}`)))).toEqual([
      'bandwidth-network.xml',
      'dhcp6host-routed-network.xml',
      'empty-allow-ipv6.xml',
      'hostdev-pf-driver-model.xml',
      'isolated-network.xml',
      'open-network.xml',
      'routed-network-no-dns.xml',
      'routed-network.xml',
      'set-mtu.xml',
    ]);
  });
  it('a libvirt that knows <driver model> compares it (and ignores nothing)', () => {
    const c = canonicalPair(read('hostdev-pf-driver-model.xml'), read('dumped-9.0.0/hostdev-pf-driver-model.xml'), '10.0.0');
    expect(c.ignored).toEqual([]);
    expect(isSubset(c.desired, c.actual!)).toBe(false);
  });
  it('says once what the host ignores', () => {
    const c = canonicalPair(read('hostdev-pf-driver-model.xml'), undefined, '9.0.0');
    expect(describeIgnored(c.ignored, '9.0.0', 'hv1')).toBe('libvirt 9.0.0 on hv1 ignores <forward><driver model> (not supported before 10.0.0)');
  });
});

describe('real differences stay differences', () => {
  const isolated = readFileSync(new URL('dumped-9.0.0/isolated-network.xml', DIR), 'utf8');
  it('ipv6=no matches a network without the attribute, ipv6=yes does not', () => {
    expect(same("<network ipv6='no'><name>private</name></network>", isolated)).toBe(true);
    expect(same("<network ipv6='yes'><name>private</name></network>", isolated)).toBe(false);
  });
  it('a MAC in upper case is the same MAC; another MAC is not', () => {
    expect(same("<network><name>private</name><mac address='52:54:00:17:3F:37'/></network>", isolated)).toBe(true);
    expect(same("<network><name>private</name><mac address='52:54:00:17:3F:38'/></network>", isolated)).toBe(false);
  });
  it("stp='no' is on to libvirt (only 'off' is off)", () => {
    const actual = "<network><name>n</name><bridge name='b' stp='on' delay='0'/></network>";
    expect(same("<network><name>n</name><bridge name='b' stp='no'/></network>", actual)).toBe(true);
    expect(same("<network><name>n</name><bridge name='b' stp='off'/></network>", actual)).toBe(false);
  });
  it('an SRV record with port 0 equals one without a port; a lease of 0 has no unit', () => {
    expect(
      same(
        "<network><name>n</name><dns><srv service='s' protocol='tcp' port='0'/></dns></network>",
        "<network><name>n</name><dns><srv service='s' protocol='tcp'/></dns></network>",
      ),
    ).toBe(true);
    expect(
      same(
        "<network><name>n</name><dns><srv service='s' protocol='tcp' port='1'/></dns></network>",
        "<network><name>n</name><dns><srv service='s' protocol='tcp'/></dns></network>",
      ),
    ).toBe(false);
    const lease = (l: string) =>
      `<network><name>n</name><ip address='10.0.0.1' prefix='24'><dhcp><range start='10.0.0.2' end='10.0.0.9'>${l}</range></dhcp></ip></network>`;
    expect(same(lease("<lease expiry='0' unit='hours'/>"), lease("<lease expiry='0'/>"))).toBe(true);
    expect(same(lease("<lease expiry='60'/>"), lease("<lease expiry='60' unit='minutes'/>"))).toBe(true);
    expect(same(lease("<lease expiry='60' unit='minutes'/>"), lease("<lease expiry='60' unit='hours'/>"))).toBe(false);
  });
  it('values in their canonical spelling', () => {
    expect(canonicalMac('52:54:0:A:b:FF')).toBe('52:54:00:0a:0b:ff');
    expect(canonicalUuid('81FF0D90C91E674264DA4A736EDB9A9B')).toBe('81ff0d90-c91e-6742-64da-4a736edb9a9b');
    expect(canonicalIPv6('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(canonicalIPv6('2001:db8:0:1:0:0:0:1')).toBe('2001:db8:0:1::1');
  });
});
