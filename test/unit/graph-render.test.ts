// Grouping same-shape hosts, and the picture in each format (DOT, Mermaid, SVG through Graphviz
// WASM), from facts captured on lab hosts.
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { parseFactsJson, type FactsEntry } from '../../src/graph/facts-json.js';
import { formatFromFileName, hostGroups, limitNames, renderGraph } from '../../src/graph/render.js';
import { groupByShape } from '../../src/graph/shape.js';
import { captured, edited, summaryOf, topo } from './support/graph-facts.js';

/** The same captured host under another name, address and guest list, as in a fleet of one role. */
function twin(host: string, n: number, guests = 0): FactsEntry {
  const f = edited('with-guest', (x) => {
    x.hostname = host;
    x.addrs = x.addrs.map((a) => (a.dev === 'mgmt0' ? { ...a, address: `198.18.0.${n}` } : a));
    x.session = { ...x.session!, serverAddress: `198.18.0.${n}` };
    // Each running guest's interface is a tap, a port of the network's bridge.
    const tap = x.links.vnet0!;
    delete x.links.vnet0;
    for (let i = 0; i < guests; i++) x.links[`vnet${i}`] = { ...tap, name: `vnet${i}` };
    const lv = x.libvirt;
    if (lv.available)
      lv.guests = Array.from({ length: guests }, (_, i) => ({
        ...lv.guests[0]!,
        guest: `vm${n}-${i}`,
        interface: `vnet${i}`,
        mac: `52:54:00:00:0${n}:0${i}`,
      }));
  });
  return { host, facts: summaryOf(f) };
}

describe('same-shape hosts are one picture', () => {
  it('hosts differing only by name, addresses and guests group; a host with a problem stands out', () => {
    const odd = edited('with-guest', (f) => void (f.links.eth2!.master = 'br10'));
    const entries = [twin('hv1', 1, 1), twin('hv2', 2, 2), twin('hv3', 3, 0), { host: 'hv4', facts: summaryOf(odd) }];
    const groups = hostGroups(entries, true);
    expect(groups.map((g) => g.hosts)).toEqual([['hv1', 'hv2', 'hv3'], ['hv4']]);
    const fleet = groups[0]!.topology;
    // Per-host values fold; guests become one node per attachment point with their count.
    expect(fleet.nodes.find((n) => n.id === 'link:mgmt0')!.perHost).toEqual(['(per host)']);
    expect(fleet.nodes.find((n) => n.id === 'link:br0')!.perHost).toEqual(['192.168.0.90/24']);
    expect(fleet.nodes.filter((n) => n.kind === 'guest').map((n) => [n.name, n.detail])).toEqual([['3 guest interfaces', ['on 2 of 3 hosts']]]);
    expect(hostGroups(entries, false)).toHaveLength(4);
  });

  it('an unreadable host is its own group', () => {
    const groups = hostGroups([twin('hv1', 1), { host: 'hv9', error: 'connection refused', unreachable: true }], true);
    expect(groups.map((g) => [g.hosts, g.topology.error])).toEqual([
      [['hv1'], undefined],
      [['hv9'], 'unreachable: connection refused'],
    ]);
  });

  it('200 identical hosts: one cluster labelled ×200', async () => {
    const entries = Array.from({ length: 200 }, (_, i) => twin(`hv${i + 1}`, (i % 250) + 1));
    const dot = await renderGraph(hostGroups(entries, true), 'dot');
    expect(dot.match(/subgraph cluster_/g)).toHaveLength(1);
    expect(dot).toContain('×200: hv1, hv2, hv3, hv4, …');
  });
});

describe('formats', () => {
  const entries: FactsEntry[] = [
    { host: 'hv1', facts: summaryOf(captured('with-guest')) },
    { host: 'hv2', facts: summaryOf(edited('converged', (f) => void (f.links.eth2!.master = 'br10'))) },
  ];
  const groups = () => hostGroups(entries, false);

  it('SVG: every node and edge keeps its id and classes; SSH path and problems are classed', async () => {
    const svg = await renderGraph(groups(), 'svg');
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', htmlEntities: true }).parse(svg) as {
      svg: { g: { g: Array<{ id: string; class: string }> } };
    };
    const byId = new Map(doc.svg.g.g.map((g) => [g.id, g.class]));
    expect(byId.get('host:hv1')).toBe('cluster host');
    expect(byId.get('hv1/link:br0')).toBe('node bridge problem');
    expect(byId.get('hv1/link:mgmt0')).toBe('node nic ssh');
    expect(byId.get('hv1/net:net10')).toBe('node network');
    expect(byId.get('hv1/guest:guest1/vnet0')).toBe('node guest');
    expect(byId.get('hv1/ssh->link:mgmt0')).toBe('edge link ssh');
    expect(byId.get('hv2/link:eth2')).toBe('node nic problem');
    expect(byId.get('hv2/link:eth2->link:br10')).toBe('edge link problem');
    expect(svg).toContain('⚠ port of br10, which libvirt&#39;s nat network net10 owns');
  });

  it('DOT: one cluster per host, quotes in names escaped', async () => {
    const dot = await renderGraph(groups(), 'dot');
    expect(dot.match(/subgraph cluster_/g)).toHaveLength(2);
    expect(dot).toContain('"hv1/link:eth1" -> "hv1/link:br0"');
  });

  it('Mermaid: a subgraph per host, SSH and problem classes, problem edges dashed', async () => {
    const m = await renderGraph(groups(), 'mermaid');
    expect(m.split('\n')[0]).toBe('flowchart LR');
    expect(m.match(/^ {2}subgraph /gm)).toHaveLength(2);
    expect(m).toMatch(/^ {2}class .*h0_link_3a_mgmt0.* ssh$/m);
    expect(m).toMatch(/^ {2}class .*h1_link_3a_eth2.* problem$/m);
    expect(m).toContain('h1_link_3a_eth2 -.-> h1_link_3a_br10');
  });

  it('HTML: the picture inline and the problems listed, nothing loaded from elsewhere', async () => {
    const html = await renderGraph(groups(), 'html');
    expect(html).toContain('<svg');
    expect(html).toContain('<td><code>eth2</code></td>');
    expect(html).not.toMatch(/<script|<link |src="http|href="http/);
  });

  it.each([
    ['topo.svg', 'svg'],
    ['topo.DOT', 'dot'],
    ['topo.gv', 'dot'],
    ['topo.mmd', 'mermaid'],
    ['topo.html', 'html'],
    ['topo.txt', undefined],
  ])('format of %s: %s', (file, format) => {
    expect(formatFromFileName(file)).toBe(format);
  });
});

describe('facts JSON (kvmnet facts --output json) as input', () => {
  it('reads back what factsSummary wrote, one host per line, and unreachable hosts', () => {
    const text = [
      JSON.stringify({ host: 'hv1', ...summaryOf(captured('converged')) }),
      JSON.stringify({ host: 'hv2', error: 'timed out', unreachable: true }),
      '',
    ].join('\n');
    const entries = parseFactsJson(text, 'f.json');
    expect(entries.map((e) => e.host)).toEqual(['hv1', 'hv2']);
    expect(groupByShape([topo(captured('converged'))])[0]!.topology.nodes.map((n) => n.id)).toEqual(
      hostGroups(entries.slice(0, 1), true)[0]!.topology.nodes.map((n) => n.id),
    );
    expect(entries[1]).toEqual({ host: 'hv2', error: 'timed out', unreachable: true });
  });

  it('facts of an older kvmnet (no links): ports come from the bridges', () => {
    const { links: _l, persisted_bridges: _p, ...old } = summaryOf(captured('converged'));
    const [e] = parseFactsJson(JSON.stringify([{ host: 'hv1', ...old }]), 'old.json');
    const t = hostGroups([e!], false)[0]!.topology;
    expect(t.edges.map((x) => `${x.from} -> ${x.to}`)).toContain('link:eth1 -> link:br0');
  });

  it.each([
    ['not json', 'f.json:1: not JSON'],
    ['{"hostname":"x"}', 'entry 1: expected an object with a "host"'],
    ['{"host":"hv1"}', 'entry 1 (hv1): expected "bridges" and "addresses"'],
    ['\n\n', 'no hosts in it'],
  ])('rejects %j', (text, message) => {
    expect(() => parseFactsJson(text, 'f.json')).toThrow(message);
  });

  it.each([
    ['hv1,hv3', ['hv1', 'hv3']],
    ['hv*:!hv2', ['hv1', 'hv3', 'hv10']],
    ['all', ['hv1', 'hv2', 'hv3', 'hv10']],
    ['hv1?', []],
  ])('--limit %s on hosts of a file', (pattern, hosts) => {
    expect(limitNames(['hv1', 'hv2', 'hv3', 'hv10'], pattern)).toEqual(hosts);
  });
});
