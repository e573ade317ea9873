// Ansible's play semantics on real hosts: handlers (once, and only after a change), loop + when +
// register together, strategy linear (proved by clocks read inside the hosts), --list-hosts /
// --list-tasks without contacting anything, and --tags / --skip-tags with `always` and `never`.
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addresses, kvmnet, link, links, show, writePlaybook, type LabHost } from '../helpers.js';
import { fleetInventory, growLab, hv, markerLines, outcomes, removeHostFiles, resetFleet, runJson } from './support.js';

const MARKERS = ['/root/handler-ran', '/root/handler-never', '/root/after-bridge', '/root/after-ports', '/root/after-eth9', '/root/steps', '/root/tags-always'];
const USED = [hv(1), hv(2), hv(3), hv(4), hv(5), hv(6)];

describe('play features on real hosts', () => {
  beforeAll(async () => {
    await growLab();
    await resetFleet(USED, MARKERS);
  });
  afterAll(async () => {
    await resetFleet(USED, MARKERS);
  });

  describe('handlers', () => {
    const HOSTS = [hv(1), hv(2)];
    const playbook = () =>
      writePlaybook(
        'handlers',
        `- name: handlers
  hosts: lab
  tasks:
    - name: bridge br0
      ensure_bridge: { name: br0 }
      notify: [count]
    - name: eth1 into br0
      ensure_port: { bridge: br0, interface: eth1 }
      notify: [count]
    - name: br0 again, nothing to change
      ensure_bridge: { name: br0 }
      notify: [never notified]
  handlers:
    - name: count
      command: { cmd: "echo x >> /root/handler-ran" }
    - name: never notified
      command: { cmd: "echo x >> /root/handler-never" }
`,
      );

    it('run once per host at the end, when notified by tasks that changed, and not at all when nothing changed', async () => {
      const pb = playbook();
      const inv = fleetInventory('handlers');
      const first = await runJson([pb, '-i', inv, '--limit', HOSTS.join(',')]);
      expect(first.r.code, show(first.r)).toBe(0);
      for (const h of HOSTS) {
        // Two notifying changes, one handler run, after the last task.
        expect(outcomes(first.tasks.filter((t) => t.host === h))).toEqual([
          [h, 'bridge br0', 'changed'],
          [h, 'eth1 into br0', 'changed'],
          [h, 'br0 again, nothing to change', 'ok'],
          [h, 'count', 'changed'],
        ]);
        expect(markerLines(h, '/root/handler-ran'), `${h}: handler runs`).toEqual(['x']);
        expect(markerLines(h, '/root/handler-never'), `${h}: handler notified by an unchanged task`).toEqual([]);
        expect((await link(h, 'eth1'))?.master).toBe('br0');
      }

      const second = await runJson([pb, '-i', inv, '--limit', HOSTS.join(',')]);
      expect(second.r.code, show(second.r)).toBe(0);
      expect(second.tasks.filter((t) => t.outcome !== 'ok')).toEqual([]);
      expect(second.tasks.map((t) => t.task)).not.toContain('count');
      for (const h of HOSTS) expect(markerLines(h, '/root/handler-ran'), `${h}: handler runs after the second run`).toEqual(['x']);
    });
  });

  describe('loop + when + register', () => {
    const playbook = () =>
      writePlaybook(
        'loop',
        `- name: ports from a list
  hosts: lab
  tasks:
    - name: bridge br0
      ensure_bridge: { name: br0 }
      register: br
    - name: port
      ensure_port: { bridge: br0, interface: "{{ item }}" }
      loop: "{{ nics }}"
      when: item in facts.links
      register: ports
    - name: after the bridge changed
      command: { cmd: "echo x >> /root/after-bridge" }
      when: br.changed
    - name: after a port changed
      command: { cmd: "echo x >> /root/after-ports" }
      when: ports.changed
    - name: the last item was skipped
      command: { cmd: "echo skipped >> /root/after-eth9" }
      when: ports.results[2].skipped and ports.results[2].item == 'eth9' and not ports.skipped
`,
      );

    it('a host var list of NICs: one port per NIC that exists, eth9 skipped, registered results drive later tasks', async () => {
      const H = hv(3);
      const pb = playbook();
      const inv = fleetInventory('loop', { [H]: { nics: ['eth1', 'eth2', 'eth9'] } });
      const first = await runJson([pb, '-i', inv, '--limit', H]);
      expect(first.r.code, show(first.r)).toBe(0);
      expect(outcomes(first.tasks)).toEqual([
        [H, 'bridge br0', 'changed'],
        [H, 'port (item="eth1")', 'changed'],
        [H, 'port (item="eth2")', 'changed'],
        [H, 'port (item="eth9")', 'skipped'],
        [H, 'after the bridge changed', 'changed'],
        [H, 'after a port changed', 'changed'],
        [H, 'the last item was skipped', 'changed'],
      ]);
      expect(first.tasks[3]!.message).toBe('condition is false: item in facts.links');

      const ls = await links(H);
      const master = Object.fromEntries(ls.map((l) => [l.ifname, l.master ?? null]));
      expect(master).toMatchObject({ eth1: 'br0', eth2: 'br0', mgmt0: null });
      expect(ls.map((l) => l.ifname)).not.toContain('eth9');
      expect(markerLines(H, '/root/after-bridge')).toEqual(['x']);
      expect(markerLines(H, '/root/after-ports')).toEqual(['x']);
      expect(markerLines(H, '/root/after-eth9')).toEqual(['skipped']);

      // Again: nothing changes, so neither registered result says changed and both tasks are skipped.
      const second = await runJson([pb, '-i', inv, '--limit', H]);
      expect(second.r.code, show(second.r)).toBe(0);
      expect(outcomes(second.tasks)).toEqual([
        [H, 'bridge br0', 'ok'],
        [H, 'port (item="eth1")', 'ok'],
        [H, 'port (item="eth2")', 'ok'],
        [H, 'port (item="eth9")', 'skipped'],
        [H, 'after the bridge changed', 'skipped'],
        [H, 'after a port changed', 'skipped'],
        [H, 'the last item was skipped', 'changed'],
      ]);
      expect(markerLines(H, '/root/after-bridge')).toEqual(['x']);
      expect(markerLines(H, '/root/after-ports')).toEqual(['x']);
    });

    it('the list can come from --extra-vars too', async () => {
      const H = hv(4);
      const r = await runJson([playbook(), '-i', fleetInventory('loop-e'), '--limit', H, '-e', JSON.stringify({ nics: ['eth2', 'eth9', 'eth1'] })]);
      expect(r.r.code, show(r.r)).toBe(0);
      expect(outcomes(r.tasks).slice(1, 4)).toEqual([
        [H, 'port (item="eth2")', 'changed'],
        [H, 'port (item="eth9")', 'skipped'],
        [H, 'port (item="eth1")', 'changed'],
      ]);
      expect((await link(H, 'eth1'))?.master).toBe('br0');
      expect((await link(H, 'eth2'))?.master).toBe('br0');
    });
  });

  describe('strategy', () => {
    const LINEAR = [hv(4), hv(5), hv(6)];
    const FREE = [hv(1), hv(2), hv(3)];
    // Each step writes "<step> start|end <ns>" into the host; one host is slow in step 1, another in step 2.
    // Slow is 8 s: a command task is guarded (arm, run, confirm over a new connection), and on a
    // loaded machine the fast hosts need seconds per step to get ahead of the slow one.
    const playbook = (strategy: string) =>
      writePlaybook(
        `strategy-${strategy}`,
        `- name: three steps
  hosts: lab
  strategy: ${strategy}
  tasks:
${[1, 2, 3]
  .map(
    (n) => `    - name: step ${n}
      command: { cmd: 'echo "${n} start $(date +%s%N)" >> /root/steps; [ {{ slow_step }} != ${n} ] || sleep 8; echo "${n} end $(date +%s%N)" >> /root/steps' }`,
  )
  .join('\n')}
`,
      );
    const slow = { hv1: { slow_step: 1 }, hv2: { slow_step: 2 }, hv3: { slow_step: 0 }, hv4: { slow_step: 1 }, hv5: { slow_step: 2 }, hv6: { slow_step: 0 } };

    /** Per step: the earliest start and the latest end over HOSTS (the lab hosts share this machine's clock). */
    function stepClock(hosts: readonly LabHost[]): Map<number, { firstStart: bigint; lastEnd: bigint }> {
      const clock = new Map<number, { firstStart: bigint; lastEnd: bigint }>();
      for (const h of hosts) {
        const lines = markerLines(h, '/root/steps');
        expect(lines, `${h}: steps`).toHaveLength(6);
        for (const l of lines) {
          const [step, what, ns] = l.split(' ');
          const c = clock.get(Number(step)) ?? { firstStart: BigInt(Number.MAX_SAFE_INTEGER) ** 2n, lastEnd: 0n };
          if (what === 'start' && BigInt(ns!) < c.firstStart) c.firstStart = BigInt(ns!);
          if (what === 'end' && BigInt(ns!) > c.lastEnd) c.lastEnd = BigInt(ns!);
          clock.set(Number(step), c);
        }
      }
      return clock;
    }

    it('linear: every host finishes task N before any host starts task N+1 (free, the control, lets fast hosts run ahead)', async () => {
      removeHostFiles([...LINEAR, ...FREE], ['/root/steps']);
      const inv = fleetInventory('strategy', slow);
      // Both at once, on three hosts each: the control costs no extra wall time.
      const [linear, free] = await Promise.all([
        runJson([playbook('linear'), '-i', inv, '--limit', LINEAR.join(',')]),
        runJson([playbook('free'), '-i', inv, '--limit', FREE.join(',')]),
      ]);
      expect(linear.r.code, show(linear.r)).toBe(0);
      expect(free.r.code, show(free.r)).toBe(0);

      const clock = stepClock(LINEAR);
      for (const n of [1, 2])
        expect(clock.get(n)!.lastEnd, `linear: step ${n} ended everywhere before step ${n + 1} started anywhere`).toBeLessThan(clock.get(n + 1)!.firstStart);
      // The event stream says the same: all of step N, then all of step N+1.
      expect(linear.tasks.map((t) => t.task)).toEqual(['step 1', 'step 1', 'step 1', 'step 2', 'step 2', 'step 2', 'step 3', 'step 3', 'step 3']);

      // The same clocks tell the strategies apart: under free, step 2 started somewhere while step 1 still ran elsewhere.
      const control = stepClock(FREE);
      expect(control.get(2)!.firstStart, 'free: step 2 started before step 1 ended everywhere').toBeLessThan(control.get(1)!.lastEnd);
    });
  });

  describe('listing and tags', () => {
    const playbook = () =>
      writePlaybook(
        'tags',
        `- name: tagged
  hosts: lab
  tasks:
    - name: bridge
      ensure_bridge: { name: br0 }
      tags: [bridge]
    - name: always marker
      command: { cmd: "echo x >> /root/tags-always" }
      tags: [always]
    - name: debug address
      ensure_ip: { dev: br0, address: 10.66.0.1/24 }
      tags: [never, debug]
    - name: untagged port
      ensure_port: { bridge: br0, interface: eth1 }
`,
      );

    let server: Server;
    let accepted = 0;
    let port = 0;
    beforeAll(async () => {
      await resetFleet([hv(6)], MARKERS);
      server = createServer((s) => {
        accepted += 1;
        s.destroy();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    /** An inventory whose hosts are a listener that counts connections and an address nothing answers on. */
    const nowhere = () =>
      writePlaybook(
        'nowhere-inventory',
        `all:
  vars: { user: root, connect_timeout: 3 }
  children:
    lab:
      hosts:
        counted: { host: 127.0.0.1, port: ${port} }
        far: { host: 198.18.255.254 }
`,
      );

    it('--list-hosts and --list-tasks print the plan without contacting any host', async () => {
      const pb = playbook();
      const inv = nowhere();
      const list = (extra: string[]) => kvmnet(['run', pb, '-i', inv, ...extra], { timeoutMs: 60_000 });
      const [hosts, tasks, limited] = await Promise.all([
        list(['--list-hosts']),
        list(['--list-tasks']),
        list(['--list-hosts', '--list-tasks', '--limit', 'far']),
      ]);
      expect(hosts.code, show(hosts)).toBe(0);
      expect(hosts.stdout).toBe('play: tagged (2 hosts)\n  counted\n  far\n');
      expect(tasks.code, show(tasks)).toBe(0);
      expect(tasks.stdout).toBe('play: tagged (2 hosts)\n  bridge  tags=[bridge]\n  always marker  tags=[always]\n  untagged port\n');
      expect(limited.code, show(limited)).toBe(0);
      expect(limited.stdout).toMatch(
        /^play: tagged \(1 hosts?\)\n {2}far\n {2}bridge {2}tags=\[bridge\]\n {2}always marker {2}tags=\[always\]\n {2}untagged port\n$/,
      );
      expect(accepted, 'connections to the listening host').toBe(0);

      // The control: a real run does connect (and finds no SSH server there).
      const real = await kvmnet(['run', pb, '-i', inv, '--limit', 'counted', '--connect-timeout', '3'], { timeoutMs: 60_000 });
      expect(real.code, show(real)).toBe(4);
      expect(accepted).toBeGreaterThan(0);
    });

    it('--tags / --skip-tags: always runs unless skipped by name, never only when asked for', async () => {
      const pb = playbook();
      const inv = nowhere();
      const cases: Array<[string[], string[]]> = [
        [
          ['--tags', 'bridge'],
          ['bridge', 'always marker'],
        ],
        [
          ['--tags', 'never'],
          ['always marker', 'debug address'],
        ],
        [['--tags', 'debug', '--skip-tags', 'always'], ['debug address']],
        [['--skip-tags', 'bridge,always'], ['untagged port']],
      ];
      const results = await Promise.all(cases.map(([flags]) => kvmnet(['run', pb, '-i', inv, '--list-tasks', ...flags], { timeoutMs: 60_000 })));
      results.forEach((r, i) => {
        expect(r.code, show(r)).toBe(0);
        const names = r.stdout
          .split('\n')
          .filter((l) => l.startsWith('  '))
          .map((l) => l.trim().split('  tags=')[0]);
        expect(names, cases[i]![0].join(' ')).toEqual(cases[i]![1]);
      });

      // And on a real host: --tags bridge makes br0 and runs the `always` task, nothing else.
      const H = hv(6);
      const lab = fleetInventory('tags');
      const bridge = await runJson([pb, '-i', lab, '--limit', H, '--tags', 'bridge']);
      expect(bridge.r.code, show(bridge.r)).toBe(0);
      expect(outcomes(bridge.tasks)).toEqual([
        [H, 'bridge', 'changed'],
        [H, 'always marker', 'changed'],
      ]);
      expect((await link(H, 'br0'))?.linkinfo?.info_kind).toBe('bridge');
      expect((await link(H, 'eth1'))?.master).toBeUndefined();
      expect(await addresses(H, 'br0')).toEqual([]);
      expect(markerLines(H, '/root/tags-always')).toEqual(['x']);

      // --tags debug --skip-tags always: only the `never` task asked for by name.
      const debug = await runJson([pb, '-i', lab, '--limit', H, '--tags', 'debug', '--skip-tags', 'always']);
      expect(debug.r.code, show(debug.r)).toBe(0);
      expect(outcomes(debug.tasks)).toEqual([[H, 'debug address', 'changed']]);
      expect(await addresses(H, 'br0')).toEqual(['10.66.0.1/24']);
      expect(markerLines(H, '/root/tags-always')).toEqual(['x']);
      expect((await link(H, 'eth1'))?.master).toBeUndefined();
    });
  });
});
