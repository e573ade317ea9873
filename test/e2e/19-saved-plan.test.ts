// Saved plans on the lab: `run --check --out plan.json` changes nothing; a host changed by hand
// afterwards is refused by `apply plan.json` naming what changed, while the other hosts get
// exactly what a direct run gives (read back with ip -j and virsh, compared with a freshly reset
// host converged by `run`); a second apply is refused everywhere and changes nothing; a plan
// edited by hand, or applied with another inventory, is refused before any host is contacted.
// Applied exactly, not planned again: the network's template, edited after planning, is not used.
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BRIDGED,
  expectFresh,
  hostState,
  inHost,
  inventory,
  isUp,
  jsonEvents,
  kvmnet,
  LAB_HOSTS,
  link,
  netList,
  netXml,
  REPO_PLAYBOOKS,
  resetHost,
  resetHosts,
  scratchDir,
  show,
  snapshot,
  taskEvents,
  type LabHost,
} from './helpers.js';

const DRIFTED: LabHost = 'hv3';
const APPLIED: LabHost[] = ['hv1', 'hv2'];

/**
 * What a converge leaves on a host, without what differs between hosts by nature (ifindex, MACs,
 * uuids, the lab's management address): every link with its kind, master, up flag and bridge
 * STP/forward delay; the global addresses of every link but mgmt0; the libvirt networks, their
 * state and their live XML without uuid and MAC (each host's own).
 */
async function shape(h: LabHost): Promise<unknown> {
  const st = await hostState(h);
  const links = st.links
    .map((l) => ({
      ifname: l.ifname,
      kind: l.linkinfo?.info_kind ?? null,
      master: l.master ?? null,
      up: isUp(l),
      stp_state: l.linkinfo?.info_kind === 'bridge' ? l.linkinfo.info_data?.stp_state : null,
      forward_delay: l.linkinfo?.info_kind === 'bridge' ? l.linkinfo.info_data?.forward_delay : null,
    }))
    .sort((a, b) => a.ifname.localeCompare(b.ifname));
  const addrs = st.addrs
    .filter((l) => l.ifname !== 'mgmt0')
    .map((l) => ({ ifname: l.ifname, addrs: l.addr_info.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`) }))
    .sort((a, b) => a.ifname.localeCompare(b.ifname));
  const xmls: Record<string, string> = {};
  // The plan never touches `default`, and earlier test files redefine it on some hosts: its state is
  // compared (nets), its definition is not.
  for (const n of st.nets.filter((x) => x.name !== 'default'))
    xmls[n.name] = (await inHost(h, ['virsh', 'net-dumpxml', n.name])).stdout.replace(/<uuid>[^<]*<\/uuid>/, '').replace(/<mac address='[^']*'\/>/, '');
  return { links, addrs, nets: st.nets, xmls };
}

type Plan = {
  hosts: Record<string, { tasks: Array<{ name: string; plan?: { changes: Array<{ ops: Array<Record<string, unknown>> }> } }> }>;
  selection: { hosts: string[] };
};

describe('saved plans: plan, review, apply exactly that', () => {
  let dir: string;
  let planFile: string;
  /** bridged.yaml with its network template beside it (looked up there first), in a scratch dir. */
  let playbook: string;
  let template: string;

  beforeAll(async () => {
    dir = scratchDir('saved-plan');
    planFile = join(dir, 'plan.json');
    playbook = join(dir, 'bridged.yaml');
    template = join(dir, 'bridged-network.xml.hbs');
    copyFileSync(BRIDGED, playbook);
    copyFileSync(join(REPO_PLAYBOOKS, '../templates/bridged-network.xml.hbs'), template);
    await resetHosts(LAB_HOSTS);
  });

  afterAll(async () => {
    await resetHosts(LAB_HOSTS);
  });

  it('run --check --out plan.json writes the plan of every host and changes nothing', async () => {
    const r = await kvmnet(['run', playbook, '-i', inventory(), '--check', '--out', planFile]);
    expect(r.code, show(r)).toBe(0);
    expect(existsSync(planFile)).toBe(true);
    const plan = JSON.parse(readFileSync(planFile, 'utf8')) as Plan;
    expect(plan.selection.hosts).toEqual([...LAB_HOSTS]);
    for (const h of LAB_HOSTS) {
      const ops = plan.hosts[h]!.tasks.flatMap((t) => (t.plan?.changes ?? []).flatMap((c) => c.ops));
      expect(ops, h).toContainEqual(expect.objectContaining({ op: 'link.add', name: 'br0', kind: 'bridge' }));
      expect(ops, h).toContainEqual(expect.objectContaining({ op: 'net.define', name: 'bridged-network' }));
      await expectFresh(h);
    }
  });

  it('report plan.json writes HTML with the operations’ shell', async () => {
    const html = join(dir, 'plan.html');
    const r = await kvmnet(['report', planFile, '-o', html]);
    expect(r.code, show(r)).toBe(0);
    const text = readFileSync(html, 'utf8');
    expect(text).toMatch(/<html/i);
    expect(text).toContain('ip link add br0 type bridge stp_state 1');
    expect(text).toContain('ip link set eth1 master br0');
    for (const h of LAB_HOSTS) expect(text).toContain(h);
  });

  it('apply refuses the host changed by hand (exit 2, naming br0) and applies the plan on the others', async () => {
    await inHost(DRIFTED, ['ip', 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0']);
    // The template changes after planning: a plan applied exactly does not read it again.
    const original = readFileSync(template, 'utf8');
    writeFileSync(template, original.replace('{{bridge}}', 'br1'));
    // Planning again would read it (the template beside the playbook wins).
    const replanned = await kvmnet(['run', playbook, '-i', inventory(), '--limit', 'hv1', '--check', '--diff']);
    expect(replanned.code, show(replanned)).toBe(0);
    expect(replanned.stdout).toMatch(/<bridge name=.br1.\/>/);
    const r = await kvmnet(['apply', planFile, '--output', 'json']);
    writeFileSync(template, original);
    expect(r.code, show(r)).toBe(2);
    const refused = taskEvents(r, DRIFTED);
    expect(refused, show(r)).toHaveLength(1);
    expect(refused[0]!.outcome).toBe('failed');
    expect(refused[0]!.message).toMatch(/^hv3: .*br0.* changed since the plan was made; re-plan$/);
    console.log(`[e2e] saved plan, hv3 changed by hand: ${refused[0]!.message}`);
    const summary = jsonEvents(r.stdout).find((e) => e.event === 'summary') as { hosts: Array<{ host: string; changed: number; failed: number }> };
    expect(summary.hosts.map((x) => [x.host, x.changed, x.failed])).toEqual([
      ['hv1', 4, 0],
      ['hv2', 4, 0],
      ['hv3', 0, 1],
    ]);
    // hv3 untouched: its own br0 (STP off, no port), no bridged-network.
    const br0 = await link(DRIFTED, 'br0');
    expect(br0?.linkinfo?.info_data?.stp_state).toBe(0);
    expect(isUp(br0)).toBe(false);
    expect((await link(DRIFTED, 'eth1'))?.master).toBeUndefined();
    expect((await netList(DRIFTED)).map((n) => n.name)).toEqual(['default']);
    // The saved definition, not the edited template.
    for (const h of APPLIED) expect((await netXml(h, 'bridged-network')).bridge?.name, h).toBe('br0');
    // A failed apply leaves no retry file (the plan, not the playbook, is what is applied again).
    expect(readdirSync(dir).filter((f) => f.endsWith('.retry'))).toEqual([]);
  });

  it('the applied hosts are exactly as a direct run leaves a fresh host', async () => {
    const applied = await Promise.all(APPLIED.map((h) => shape(h)));
    await resetHost(DRIFTED);
    const r = await kvmnet(['run', BRIDGED, '-i', inventory(), '--limit', DRIFTED]);
    expect(r.code, show(r)).toBe(0);
    const direct = await shape(DRIFTED);
    // Not vacuous: the direct run made the bridge, its port, the address and the network.
    expect(JSON.stringify(direct)).toContain('"ifname":"br0","kind":"bridge","master":null,"up":true,"stp_state":1');
    expect(JSON.stringify(direct)).toContain('192.168.0.90/24');
    expect(JSON.stringify(direct)).toContain('"name":"bridged-network","state":"active","autostart":true,"persistent":true');
    for (const [i, h] of APPLIED.entries()) expect(applied[i], `${h} after apply vs ${DRIFTED} after a direct run`).toEqual(direct);
  });

  it('a second apply of the same plan is refused on every host and changes nothing', async () => {
    const before = await Promise.all(LAB_HOSTS.map((h) => snapshot(h)));
    const r = await kvmnet(['apply', planFile, '--output', 'json']);
    expect(r.code, show(r)).toBe(2);
    for (const h of LAB_HOSTS) {
      const ev = taskEvents(r, h);
      expect(
        ev.map((e) => [e.task, e.outcome]),
        `${h}\n${show(r)}`,
      ).toEqual([['saved plan', 'failed']]);
    }
    for (const h of APPLIED) expect(taskEvents(r, h)[0]!.message).toMatch(new RegExp(`^${h}: the plan looks applied already: .*; re-plan$`));
    for (const h of LAB_HOSTS) console.log(`[e2e] saved plan applied again: ${taskEvents(r, h)[0]!.message}`);
    expect(await Promise.all(LAB_HOSTS.map((h) => snapshot(h)))).toEqual(before);
  });

  describe('refused before anything is contacted, on fresh hosts the plan would apply to', () => {
    beforeAll(async () => {
      await resetHosts(LAB_HOSTS);
    });

    it('a plan with one operation added by hand: exit 1, nothing changed', async () => {
      const plan = JSON.parse(readFileSync(planFile, 'utf8')) as Plan;
      const first = plan.hosts.hv1!.tasks.find((t) => (t.plan?.changes.length ?? 0) > 0)!;
      first.plan!.changes[0]!.ops.push({ op: 'link.up', name: 'eth2', up: true });
      const edited = join(dir, 'edited.json');
      writeFileSync(edited, JSON.stringify(plan, null, 1) + '\n');
      const r = await kvmnet(['apply', edited]);
      expect(r.code, show(r)).toBe(1);
      expect(r.stderr).toMatch(/was changed after it was made .*re-plan/);
      for (const h of LAB_HOSTS) await expectFresh(h);
    });

    it('the plan with another inventory (one more host variable): exit 1, nothing changed', async () => {
      const other = join(dir, 'inventory-other.yaml');
      copyFileSync(inventory(), other);
      const text = readFileSync(other, 'utf8');
      const withVar = text.replace(/^( {8}hv2:\n {10}host: \S+\n)/m, '$1          rack: r42\n');
      expect(withVar).not.toBe(text);
      writeFileSync(other, withVar);
      const r = await kvmnet(['apply', planFile, '-i', other]);
      expect(r.code, show(r)).toBe(1);
      expect(r.stderr).toMatch(/was made from another inventory \(hosts, groups or variables differ.*re-plan/);
      for (const h of LAB_HOSTS) await expectFresh(h);
      // The same copy without the extra variable is the same inventory: accepted (it converges the hosts).
      writeFileSync(other, text);
      const ok = await kvmnet(['apply', planFile, '-i', other]);
      expect(ok.code, show(ok)).toBe(0);
      for (const h of LAB_HOSTS) expect((await link(h, 'eth1'))?.master, h).toBe('br0');
    });
  });
});
