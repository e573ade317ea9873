// `kvmnet graph` and the HTML run report on the lab: the picture of a converged lab holds every
// bridge, port and network the kernel and libvirt have, and the SSH path; a problem planted by
// hand is marked; the report opens in chromium without errors, failed host first.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactPath, openInChromium } from './browser.js';
import {
  convergeBoth,
  inHost,
  inventory,
  ipJson,
  kvmnet,
  LAB_HOSTS,
  labHost,
  link,
  netList,
  resetHosts,
  scratchDir,
  show,
  summaryOf,
  taskEvents,
  writePlaybook,
  type IpLink,
} from './helpers.js';
import { shown } from '../../src/text/shown.js';

const HOSTS = [...LAB_HOSTS];

/** The SVG's nodes, edges and clusters: id → classes and text. */
function svgParts(svg: string): Map<string, { classes: string[]; text: string }> {
  type G = { id: string; class: string; text?: unknown; g?: G[] };
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', htmlEntities: true, isArray: (tag) => tag === 'g' || tag === 'text' }).parse(
    svg,
  ) as { svg: { g: G[] } };
  const out = new Map<string, { classes: string[]; text: string }>();
  const textOf = (t: unknown): string =>
    Array.isArray(t)
      ? t.map(textOf).join('\n')
      : typeof t === 'object' && t !== null
        ? textOf((t as { '#text'?: unknown })['#text'])
        : t === undefined || t === null
          ? ''
          : shown(t);
  const walk = (gs: G[]) => {
    for (const g of gs) {
      out.set(g.id, { classes: g.class.split(' '), text: textOf(g.text) });
      if (g.g) walk(g.g);
    }
  };
  walk(doc.svg.g);
  return out;
}

const REPORT_PLAYBOOK = `- name: a bridge for tenants, and a mistake on hv2
  hosts: all
  tasks:
    - name: bridge br20
      ensure_bridge: { name: br20, stp: true }
    - name: eth2 into br10 (the NAT network's bridge)
      ensure_port: { bridge: br10, interface: eth2 }
      when: inventory_hostname == 'hv2'
`;

describe('kvmnet graph and the HTML report', () => {
  let dir: string;
  beforeAll(async () => {
    dir = scratchDir('graph');
    await resetHosts(HOSTS);
    await convergeBoth(HOSTS);
  });
  afterAll(async () => {
    await resetHosts(HOSTS);
  });

  it('the SVG of a converged lab holds each bridge, port and network the hosts have, and the SSH path', async () => {
    const started = Date.now();
    const r = await kvmnet(['graph', '-i', inventory(), '--no-group', '-o', join(dir, 'lab.svg')]);
    expect(r.code, show(r)).toBe(0);
    console.log(`[e2e] kvmnet graph of ${HOSTS.length} hosts (facts + SVG): ${Date.now() - started} ms`);
    const parts = svgParts(readFileSync(join(dir, 'lab.svg'), 'utf8'));
    for (const h of HOSTS) {
      // What the kernel and libvirt say, read by hand: every bridge, every port, every network.
      const links = await ipJson<IpLink[]>(h, ['-d', 'link', 'show']);
      const bridges = links.filter((l) => l.linkinfo?.info_kind === 'bridge').map((l) => l.ifname);
      expect(bridges.sort()).toEqual(['br0', 'br10', 'virbr0']);
      for (const b of bridges) expect(parts.get(`${h}/link:${b}`)?.classes, `${h} ${b}`).toContain('bridge');
      for (const port of links.filter((l) => l.master))
        expect(parts.get(`${h}/link:${port.ifname}->link:${port.master}`), `${h} ${port.ifname} in ${port.master}`).toBeDefined();
      expect(parts.get(`${h}/link:eth1->link:br0`)).toBeDefined();
      const nets = await netList(h);
      expect(nets.map((n) => n.name).sort()).toEqual(['bridged-network', 'default', 'net10']);
      for (const n of nets) expect(parts.get(`${h}/net:${n.name}`)?.classes, `${h} ${n.name}`).toContain('network');
      expect(parts.get(`${h}/link:br0->net:bridged-network`)).toBeDefined();
      expect(parts.get(`${h}/link:br10->net:net10`)).toBeDefined();
      // The SSH path: the session's node, its edge to mgmt0, and mgmt0, which holds the lab address.
      expect(parts.get(`${h}/ssh`)?.text).toContain(labHost(h).address);
      expect(parts.get(`${h}/ssh->link:mgmt0`)?.classes).toContain('ssh');
      expect(parts.get(`${h}/link:mgmt0`)?.classes).toContain('ssh');
      expect(parts.get(`${h}/link:mgmt0`)?.text).toContain(`${labHost(h).address}/24`);
      // Only what is really wrong is marked: bridged.yaml does not persist br0, which bridged-network needs.
      const marked = [...parts.entries()].filter(([id, p]) => id.startsWith(`${h}/`) && p.classes.includes('problem')).map(([id]) => id);
      expect(marked).toEqual([`${h}/link:br0`]);
    }
  });

  it('a problem planted by hand is marked where it is, and that host stands out of the same-shape group', async () => {
    await inHost('hv2', ['ip', 'link', 'set', 'eth2', 'master', 'br10']);
    try {
      const facts = await kvmnet(['facts', '-i', inventory(), '--output', 'json']);
      expect(facts.code, show(facts)).toBe(0);
      writeFileSync(join(dir, 'facts.json'), facts.stdout);

      // Offline, from the saved facts, grouped by shape (the default).
      const r = await kvmnet(['graph', '--from', join(dir, 'facts.json'), '--format', 'html', '-o', join(dir, 'lab.html')]);
      expect(r.code, show(r)).toBe(0);
      const html = readFileSync(join(dir, 'lab.html'), 'utf8');
      const parts = svgParts(html.slice(html.indexOf('<svg'), html.indexOf('</svg>') + 6));
      expect(parts.get('host:hv1')?.text).toContain('×2: hv1, hv3');
      expect(parts.get('hv2/link:eth2')?.classes).toContain('problem');
      expect(parts.get('hv2/link:eth2')?.text).toContain("⚠ port of br10, which libvirt's nat network net10 owns");
      expect(parts.get('hv2/link:eth2->link:br10')?.classes).toContain('problem');
      expect(parts.get('hv1/link:eth2')?.classes).not.toContain('problem');

      const page = await openInChromium(join(dir, 'lab.html'), { width: 1400, height: 900 });
      try {
        expect(page.problems).toEqual([]);
        expect(await page.page.locator('svg g.node.problem').count()).toBeGreaterThan(0);
        await page.page.screenshot({ path: artifactPath('graph.png'), fullPage: true });
      } finally {
        await page.close();
      }

      const dot = await kvmnet(['graph', '--from', join(dir, 'facts.json'), '--limit', 'hv2', '--format', 'dot']);
      expect(dot.code, show(dot)).toBe(0);
      expect(dot.stdout).toMatch(/"hv2\/link:eth2" \[id="hv2\/link:eth2", class="nic problem"/);
      const mermaid = await kvmnet(['graph', '--from', join(dir, 'facts.json'), '--format', 'mermaid']);
      expect(mermaid.stdout).toMatch(/^ {2}class .*h1_link_3a_eth2.* problem$/m);
    } finally {
      await inHost('hv2', ['ip', 'link', 'set', 'eth2', 'nomaster']);
    }
  });

  it('kvmnet run --report: the page opens in chromium without errors, the failed host first, the changed hosts drawn', async () => {
    const playbook = writePlaybook('report', REPORT_PLAYBOOK);
    const reportFile = join(dir, 'report.html');
    const r = await kvmnet(['run', playbook, '-i', inventory(), '--output', 'json', '--diff', '--report', reportFile]);
    expect(r.code, show(r)).toBe(2);
    expect(summaryOf(r).hosts.find((h) => h.host === 'hv2')).toMatchObject({ failed: 1 });
    writeFileSync(join(dir, 'results.jsonl'), r.stdout);
    console.log(`[e2e] report: ${(readFileSync(reportFile).length / 1024).toFixed(0)} KiB`);

    const opened = await openInChromium(reportFile);
    try {
      const { page } = opened;
      expect(opened.problems).toEqual([]);
      expect(await page.locator('tr.recap').first().getAttribute('data-host')).toBe('hv2');
      expect(await page.locator('section.host').first().getAttribute('data-host')).toBe('hv2');
      expect(await page.locator('section.host').first().getAttribute('class')).toBe('host failed');
      expect(await page.locator('section.host').first().innerText()).toMatch(/eth2 into br10[\s\S]*failed[\s\S]*libvirt/);
      // The failed host's section is open and its first thing a reader sees is above the fold.
      expect(await page.locator('section.host').first().locator('table.tasks').isVisible()).toBe(true);
      expect(await page.locator('svg.timeline rect').count()).toBe(taskEvents(r).length);
      // Topology after the run: br20, created by the run, on the changed hosts.
      const ids = await page.locator('.picture svg g.node').evaluateAll((gs) => gs.map((g) => g.id));
      expect(ids.filter((id) => id.endsWith('/link:br20'))).not.toEqual([]);
      await page.screenshot({ path: artifactPath('report.png'), fullPage: true });
    } finally {
      await opened.close();
    }

    // The same report from the saved JSON Lines, with the picture from a facts file.
    const again = await kvmnet(['report', join(dir, 'results.jsonl'), '-o', join(dir, 'report2.html'), '--facts', join(dir, 'facts.json')]);
    expect(again.code, show(again)).toBe(0);
    const html = readFileSync(join(dir, 'report2.html'), 'utf8');
    expect(html.indexOf('data-host="hv2"')).toBeLessThan(html.indexOf('data-host="hv1"'));
    expect(html).toContain('<svg');
  });

  it('--report with the plain output, in check mode: the recap as usual, and a picture of the hosts as they are', async () => {
    const playbook = writePlaybook(
      'report-check',
      `- name: one more bridge
  hosts: all
  tasks:
    - name: bridge br21
      ensure_bridge: { name: br21 }
`,
    );
    const reportFile = join(dir, 'check.html');
    const r = await kvmnet(['run', playbook, '-i', inventory(), '--check', '--report', reportFile]);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/^RECAP \(check mode: nothing was changed\)$/m);
    const html = readFileSync(reportFile, 'utf8');
    expect(html).toContain('check mode: nothing was changed');
    expect(html).toContain('the 3 hosts with pending changes, as they are');
    // Nothing was created: the picture (read after the run) has br20 from before, and no br21.
    expect(html).toMatch(/id="hv1\/link:br20"/);
    expect(html).not.toContain('link:br21');
    for (const h of HOSTS) expect(await link(h, 'br21')).toBeUndefined();
  });
});
