// Facts on demand: a run's first facts exec reads the fragments its tasks declare and nothing
// else; a task that runs later and needs more gets one more exec; a planner never plans on facts
// that were not read. Against output captured on lab hosts (test/fixtures/facts).
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePlaybook, type PlaySpec } from '../../src/config/playbook.js';
import { ALL_FRAGMENTS, FactsNotGatheredError, playNeeds, selectFragments, taskNeeds } from '../../src/facts/needs.js';
import { parseFacts } from '../../src/facts/parse.js';
import { factsScript } from '../../src/facts/script.js';
import type { Facts } from '../../src/model/facts.js';
import type { TaskEvent } from '../../src/model/result.js';
import { runHost } from '../../src/run/host-pipeline.js';
import { planTask, prepareTask } from '../../src/run/prepare.js';
import type { Reporter } from '../../src/run/reporter.js';
import type { FactsFragment } from '../../src/facts/fragment.js';
import { FakeHost } from './support/fake-host.js';
import { testHostJob } from './support/host-job.js';

const PLAYBOOKS = new URL('../../playbooks/', import.meta.url).pathname;

function play(yaml: string, file = 'play.yaml'): PlaySpec {
  const { playbook, diagnostics } = parsePlaybook(file, yaml);
  if (!playbook) throw new Error(diagnostics.map((d) => d.message).join('\n'));
  return playbook.plays[0]!;
}
const playFile = (name: string) => play(readFileSync(PLAYBOOKS + name, 'utf8'), PLAYBOOKS + name);
const ids = (l: readonly FactsFragment[]) => l.map((f) => f.id);
const scriptFor = (p: PlaySpec) => factsScript(playNeeds(p.tasks));

/** Facts as gatherFacts leaves them when it read exactly these fragments. */
function factsReadWith(capture: string, need: readonly FactsFragment[]): Facts {
  const fragments = selectFragments(need);
  const facts = parseFacts(readFileSync(new URL(`../fixtures/facts/${capture}.stdout`, import.meta.url), 'utf8'), '', fragments).facts;
  facts.gathered = ids(fragments);
  return facts;
}

/**
 * Facts read with only `need`, where what the other fragments would have read is a tripwire: a
 * planner that reads a fact of a fragment it did not declare throws instead of silently planning
 * on "none" (dhcpState, for one, falls back to the persistent definition when facts.dhcp is absent).
 */
function declaredOnly(capture: string, need: readonly FactsFragment[]): Facts {
  const facts = factsReadWith(capture, need);
  const read = new Set(facts.gathered);
  const trip = (obj: object, key: string, fragment: string) =>
    Object.defineProperty(obj, key, {
      get() {
        throw new Error(`read ${key}, which fragment ${fragment} reads, without declaring it`);
      },
      enumerable: false,
    });
  if (!read.has('dhcp')) trip(facts, 'dhcp', 'dhcp');
  if (!read.has('port-forwards')) trip(facts, 'portForwards', 'port-forwards');
  if (!read.has('persisted')) {
    trip(facts, 'persisted', 'persisted');
    trip(facts, 'persistDirs', 'persisted');
  }
  if (!read.has('libvirt-version') && facts.libvirt.available) trip(facts.libvirt, 'version', 'libvirt-version');
  if (!read.has('bridge-vlans')) for (const l of Object.values(facts.links)) trip(l, 'vlans', 'bridge-vlans');
  return facts;
}

describe('which fragments a run reads', () => {
  it('bridges, ports, addresses and libvirt networks: no firewall dump, no leases, no persisted files', () => {
    for (const p of [playFile('bridged.yaml'), playFile('nat-network.yaml')]) {
      const script = scriptFor(p);
      expect(ids(playNeeds(p.tasks))).not.toEqual(expect.arrayContaining(['port-forwards']));
      expect(script).not.toContain('iptables-save');
      expect(script).not.toMatch(/\bnft\b/);
      expect(script).not.toContain('net-dhcp-leases');
      expect(script).not.toContain('@@kvmnet:persist@@');
      // Still ONE virsh invocation and the core reads.
      expect(script).toContain('virsh -q "$cmds');
      expect(script).toContain('ip -j -d link show');
    }
    expect(ids(playNeeds(playFile('nat-network.yaml').tasks))).toContain('libvirt-version');
  });

  it('the free fragments (reading the link section only) are always read: the rollback re-creates bonds, VLANs and bridges from them', () => {
    const none = ids(selectFragments([]));
    expect(none).toEqual(expect.arrayContaining(['bond-details', 'vlan-details', 'bridge-filtering']));
    expect(factsScript(selectFragments([]))).toBe(factsScript([]));
  });

  it('port forwards read the firewall, the DHCP reservations and the libvirt version they are read with', () => {
    const p = playFile('nat-guests.yaml');
    expect(ids(playNeeds(p.tasks))).toEqual(expect.arrayContaining(['port-forwards', 'libvirt-version', 'dhcp']));
    expect(scriptFor(p)).toContain('iptables-save');
    expect(scriptFor(p)).toContain('net-dhcp-leases');
  });

  it('persisted files only when a task may persist (play or task `persist`, a template counts), and for command tasks (their rollback restores them)', () => {
    const persisting = play(`- hosts: all\n  persist: networkd\n  tasks:\n    - ensure_bridge: { name: br0 }\n`);
    expect(ids(playNeeds(persisting.tasks))).toContain('persisted');
    const templated = play(`- hosts: all\n  tasks:\n    - ensure_ip: { dev: br0, address: 192.168.0.90/24, persist: "{{ fmt }}" }\n`);
    expect(ids(playNeeds(templated.tasks))).toContain('persisted');
    const none = play(`- hosts: all\n  tasks:\n    - ensure_bridge: { name: br0, persist: none }\n`);
    expect(ids(playNeeds(none.tasks))).not.toContain('persisted');
    const command = play(`- hosts: all\n  tasks:\n    - command: { cmd: "true" }\n`);
    expect(ids(playNeeds(command.tasks))).toContain('persisted');
  });

  it('a task under `when` is left to a later exec; the union over every task is what `kvmnet facts` reads', () => {
    const p = play(
      `- hosts: all\n  tasks:\n    - ensure_bridge: { name: br0 }\n    - ensure_dhcp_host: { network: net10, mac: "52:54:00:30:00:11", ip: 192.168.30.11 }\n      when: reserve\n`,
    );
    expect(ids(playNeeds(p.tasks))).not.toContain('dhcp');
    expect(ids(taskNeeds(p.tasks[1]!))).toContain('dhcp');
    expect(ids(selectFragments(ALL_FRAGMENTS)).sort()).toEqual(ids(ALL_FRAGMENTS).sort());
  });
});

describe('planning on facts that were not read', () => {
  it('fails loudly, as a bug of kvmnet, naming the fragment', () => {
    const p = playFile('nat-guests.yaml');
    const dhcpTask = p.tasks.find((t) => t.type === 'ensure_dhcp_host')!;
    const facts = factsReadWith('nat-guests', playNeeds(playFile('bridged.yaml').tasks));
    const prepared = prepareTask(dhcpTask, {}, 'hv1', PLAYBOOKS);
    if (prepared.kind !== 'planned') throw new Error('expected a planned task');
    expect(() => planTask(prepared, facts, 'hv1')).toThrow(FactsNotGatheredError);
    expect(() => planTask(prepared, facts, 'hv1')).toThrow(/internal error: planning a ensure_dhcp_host task on hv1 needs the facts fragment\(s\) dhcp/);
    // The same task on facts read with what it declares plans normally.
    expect(() => planTask(prepared, factsReadWith('nat-guests', taskNeeds(dhcpTask)), 'hv1')).not.toThrow();
  });

  it("every playbook's task plans the same on facts read with only what it declares as on facts read with everything", () => {
    const captures = ['fresh', 'converged', 'nat-guests', 'nat-dns', 'nft-dns'];
    let compared = 0;
    for (const name of ['bridged.yaml', 'nat-network.yaml', 'nat-guests.yaml', 'bonded-vlans.yaml']) {
      const p = playFile(name);
      for (const task of p.tasks) {
        let prepared;
        try {
          prepared = prepareTask(task, p.vars, 'hv1', PLAYBOOKS);
        } catch {
          continue; // templated arguments without their vars
        }
        if (prepared.kind !== 'planned') continue;
        for (const capture of captures) {
          const outcome = (f: Facts) => {
            try {
              const plan = planTask(prepared, f, 'hv1');
              return { changes: plan.changes.map((c) => c.summary), noop: plan.noop };
            } catch (err) {
              if (err instanceof FactsNotGatheredError) throw err;
              return { error: (err as Error).message };
            }
          };
          expect(outcome(declaredOnly(capture, taskNeeds(task))), `${name} ${task.name} on ${capture}`).toEqual(outcome(factsReadWith(capture, ALL_FRAGMENTS)));
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(40);
  });
});

describe('a later task that needs more', () => {
  const hosts: FakeHost[] = [];
  afterEach(async () => {
    await Promise.all(hosts.splice(0).map((h) => h.close()));
  });
  const recorder = (): Reporter & { events: TaskEvent[] } => {
    const events: TaskEvent[] = [];
    return { events, playStart() {}, taskStart() {}, taskDone: (e) => events.push(e), hostDone() {}, warn() {}, finish() {} };
  };

  it('a handler gets what it needs in ONE more exec, after the queued changes, and plans on it', async () => {
    const p = play(`- hosts: all
  tasks:
    - ensure_bridge: { name: br10, stp: false }
      notify: reserve web1
  handlers:
    - name: reserve web1
      ensure_dhcp_host: { network: net10, mac: "52:54:00:30:00:99", ip: 192.168.30.99 }
`);
    const host = new FakeHost({ facts: 'nat-guests' });
    hosts.push(host);
    const reporter = recorder();
    const outcome = await runHost(testHostJob(p, host, reporter));
    expect(reporter.events.map((e) => [e.task, e.outcome])).toEqual([
      ['ensure_bridge br10', 'changed'],
      ['reserve web1', 'changed'],
    ]);
    expect(outcome.factsTopUps).toBe(1);
    const [first, batch, topUp, ...rest] = host.scripts;
    expect(first).toContain("echo '@@kvmnet:hostname@@'");
    expect(first).not.toContain('net-dhcp-leases');
    // The bridge's change went first, then the read of the DHCP state, then the handler's change.
    expect(batch).toContain('br10');
    expect(topUp).toContain("echo '@@kvmnet:top-up@@'");
    expect(topUp).toContain('net-dhcp-leases');
    expect(topUp).not.toContain('ip -j -d link show');
    expect(topUp).not.toContain('iptables-save');
    expect(rest.join('\n')).toContain('52:54:00:30:00:99');
  });

  it("a `when` on the play's vars is decided before the first exec: false costs nothing, true is read with the rest", async () => {
    const yaml = (reserve: boolean) => `- hosts: all
  vars: { reserve: ${reserve} }
  tasks:
    - ensure_bridge: { name: br10, stp: false }
    - ensure_dhcp_host: { network: net10, mac: "52:54:00:30:00:98", ip: 192.168.30.98 }
      when: reserve
    - ensure_dns_host: { network: net10, ip: 192.168.30.98, hostnames: [w98.lab.example] }
      when: reserve
`;
    for (const reserve of [false, true]) {
      const host = new FakeHost({ facts: 'nat-guests' });
      hosts.push(host);
      const reporter = recorder();
      const p = play(yaml(reserve));
      const outcome = await runHost(testHostJob(p, host, reporter, { check: true, vars: p.vars }));
      expect(
        reporter.events.every((e) => e.outcome !== 'failed'),
        JSON.stringify(reporter.events),
      ).toBe(true);
      expect(outcome.factsTopUps).toBe(0);
      expect(host.scripts).toHaveLength(1);
      expect(host.scripts[0]!.includes('net-dhcp-leases')).toBe(reserve);
    }
  });

  it('a `when` on a registered result is decided when the task runs: one more exec then, however many tasks like it follow', async () => {
    const yaml = `- hosts: all
  tasks:
    - ensure_bridge: { name: br10, stp: false }
      register: br
    - ensure_dhcp_host: { network: net10, mac: "52:54:00:30:00:98", ip: 192.168.30.98 }
      when: br.changed
    - ensure_dns_host: { network: net10, ip: 192.168.30.98, hostnames: [w98.lab.example] }
      when: br.changed
`;
    const host = new FakeHost({ facts: 'nat-guests' });
    hosts.push(host);
    const reporter = recorder();
    const outcome = await runHost(testHostJob(play(yaml), host, reporter, { check: true }));
    expect(reporter.events.map((e) => e.outcome)).toEqual(['changed', 'changed', 'changed']);
    expect(outcome.factsTopUps).toBe(1);
    expect(host.scripts[0]).not.toContain('net-dhcp-leases');
    expect(host.scripts.filter((s) => s.includes('net-dhcp-leases'))).toHaveLength(1);
  });
});
