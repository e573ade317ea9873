// Semantic comparison of libvirt network XML against what libvirt really returns.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseXml, prettyXml, project, xmlMatches } from '../../src/render/netxml.js';
import { renderXml } from '../../src/render/template.js';

const fixture = (state: string, net: string) =>
  readFileSync(new URL(`../fixtures/hosts/${state}/virsh-net-dumpxml-inactive-${net}.xml`, import.meta.url), 'utf8');
const template = (name: string) => readFileSync(new URL(`../../templates/${name}`, import.meta.url), 'utf8');
const net10 = {
  name: 'net10',
  forward: 'nat',
  nat_ports: { start: 1024, end: 65535 },
  bridge: { name: 'br10', stp: true, delay: 0 },
  ip: { address: '192.168.30.1', netmask: '255.255.255.0', dhcp: { ranges: [{ start: '192.168.30.50', end: '192.168.30.200' }] } },
};

describe('libvirt XML as a subset', () => {
  it('the shipped structured template matches what libvirt stored for net10 (uuid, mac added by libvirt)', () => {
    expect(xmlMatches(renderXml(template('network.xml.hbs'), net10, 't'), fixture('nat', 'net10'))).toBe(true);
  });
  it('the default template matches the stock default network as libvirt stored it', () => {
    expect(xmlMatches(renderXml(template('default-network.xml.hbs'), {}, 't'), fixture('fresh', 'default'))).toBe(true);
  });
  it('a changed DHCP range is a change', () => {
    const changed = { ...net10, ip: { ...net10.ip, dhcp: { ranges: [{ start: '192.168.30.50', end: '192.168.30.150' }] } } };
    expect(xmlMatches(renderXml(template('network.xml.hbs'), changed, 't'), fixture('nat', 'net10'))).toBe(false);
  });
  it('a removed or an added DHCP range is a change (repeated elements match one to one)', () => {
    const two = { ...net10, ip: { ...net10.ip, dhcp: { ranges: [...net10.ip.dhcp.ranges, { start: '192.168.30.210', end: '192.168.30.220' }] } } };
    expect(xmlMatches(renderXml(template('network.xml.hbs'), two, 't'), fixture('nat', 'net10'))).toBe(false);
  });
  it('attribute spellings libvirt normalises (on/yes) and quote styles are not changes', () => {
    expect(
      xmlMatches('<network><name>n</name><bridge name="b" stp="yes"/></network>', "<network><name>n</name><bridge name='b' stp='on' delay='0'/></network>"),
    ).toBe(true);
  });
  it('a different forward mode or bridge is a change', () => {
    expect(xmlMatches('<network><name>bridged-network</name><forward mode="nat"/></network>', fixture('bridged', 'bridged-network'))).toBe(false);
    expect(xmlMatches('<network><name>bridged-network</name><bridge name="br1"/></network>', fixture('bridged', 'bridged-network'))).toBe(false);
  });
  it('variables carrying markup stay text in templates', () => {
    const xml = renderXml(template('bridged-network.xml.hbs'), { name: 'x', bridge: 'br0"/></network><network>' }, 't');
    expect(parseXml(xml).children.find((c) => c.tag === 'bridge')!.attrs.name).toBe('br0"/></network><network>');
  });
  it('rejects malformed XML with a line number', () => {
    expect(() => parseXml('<network><name>x</network>')).toThrow(/invalid XML at line 1/);
  });
  it('projects the actual document onto what the playbook talks about, for diffs', () => {
    const desired = parseXml(renderXml(template('network.xml.hbs'), net10, 't'));
    const shown = prettyXml(project(parseXml(fixture('nat', 'net10')), desired));
    expect(shown).not.toMatch(/uuid|mac/);
    expect(shown).toContain('<range start="192.168.30.50" end="192.168.30.200"/>');
  });
});
