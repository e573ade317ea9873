// Every change is read back: a planted divergence on ONE lab host — its `ip` (inside that host's
// own mount namespace only) turns `stp_state 1` into `stp_state 0`, a setting the "kernel" does
// not take — fails the task there as `applied, not in effect` while the other hosts converge;
// under `confirm: true` kvmnet rolls it back (no br0 left, read with ip -j). And a guarded group
// that also wrote a port-forward rules file is rolled back to exactly the files and the firewall
// rules the host had before.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectFresh,
  inHost,
  inventory,
  isUp,
  kvmnet,
  LAB_HOSTS,
  link,
  resetHost,
  resetHosts,
  show,
  snapshot,
  summaryOf,
  taskEvents,
  writePlaybook,
  type LabHost,
} from './helpers.js';

/** The host whose `ip` drops STP. */
const WRAPPED: LabHost = 'hv2';
const OTHERS = LAB_HOSTS.filter((h) => h !== WRAPPED);

// Inside the host's mount namespace (private propagation: nothing leaks to the machine or the
// other hosts): the real binary is copied to the host's private /tmp and a wrapper is
// bind-mounted over it. Prints the path it covered.
const PLANT = String.raw`
set -eu
real=$(readlink -f "$(command -v ip)")
cp "$real" /tmp/ip.real
cat > /tmp/ip-wrapper <<'EOF'
#!/bin/sh
# kvmnet e2e (20-verify-readback): this host's kernel does not take STP on.
n=$#; prev=
for a in "$@"; do
  if [ "$prev" = stp_state ] && [ "$a" = 1 ]; then a=0; fi
  set -- "$@" "$a"; prev=$a
done
shift "$n"
exec /tmp/ip.real "$@"
EOF
chmod 755 /tmp/ip-wrapper
mount --bind /tmp/ip-wrapper "$real"
echo "$real"
`;

const BRIDGE_TASK = (extra = '') => `    - name: bridge br0 with STP
      ensure_bridge: { name: br0, stp: true }${extra}
`;

const stpOf = async (h: LabHost) => (await link(h, 'br0'))?.linkinfo?.info_data?.stp_state;

// kvmnet's hooks and rules, as a failed test may leave them (by hand, like 13-nat-guests).
const CLEAN_FORWARDS =
  'rm -rf /etc/libvirt/hooks/network.d/kvmnet-port-forwards /etc/libvirt/hooks/daemon.d/kvmnet-port-forwards /etc/libvirt/hooks/kvmnet-port-forwards; for c in "nat PREROUTING KVMNET_DNAT" "filter FORWARD KVMNET_FWD"; do set -- $c; while iptables -t $1 -D $2 -j $3 2>/dev/null; do :; done; iptables -t $1 -F $3 2>/dev/null; iptables -t $1 -X $3 2>/dev/null; done; true';

describe('read-back: a setting the host does not take', () => {
  let covered = '';

  beforeAll(async () => {
    await resetHosts(LAB_HOSTS);
    covered = (await inHost(WRAPPED, ['sh', '-c', PLANT])).stdout.trim();
    expect(covered).toMatch(/^\/.*\/ip$/);
    // The plant works on WRAPPED only: the same command gives STP off there, on elsewhere.
    for (const h of LAB_HOSTS) {
      await inHost(h, ['ip', 'link', 'add', 'e2eprobe0', 'type', 'bridge', 'stp_state', '1']);
      const probe = (await link(h, 'e2eprobe0'))?.linkinfo?.info_data?.stp_state;
      await inHost(h, ['ip', 'link', 'del', 'e2eprobe0']);
      expect(probe, h).toBe(h === WRAPPED ? 0 : 1);
    }
  });

  afterAll(async () => {
    if (covered) await inHost(WRAPPED, ['sh', '-c', `umount ${covered} && rm -f /tmp/ip.real /tmp/ip-wrapper`]);
    await inHost(WRAPPED, ['sh', '-c', CLEAN_FORWARDS], { check: false });
    await resetHosts(LAB_HOSTS);
  });

  it('without confirm: the task fails there as `applied, not in effect` naming stp; the other hosts converge', async () => {
    const pb = writePlaybook('readback-plain', `- hosts: all\n  tasks:\n${BRIDGE_TASK()}`);
    const r = await kvmnet(['run', pb, '-i', inventory(), '--output', 'json']);
    expect(r.code, show(r)).toBe(2);
    const ev = taskEvents(r, WRAPPED);
    expect(
      ev.map((e) => [e.task, e.outcome]),
      show(r),
    ).toEqual([['bridge br0 with STP', 'failed']]);
    expect(ev[0]!.message).toMatch(/^create bridge br0 \(stp on[^)]*\): applied, not in effect: br0 stp is off, expected on$/);
    for (const h of OTHERS) {
      expect(
        taskEvents(r, h).map((e) => e.outcome),
        h,
      ).toEqual(['changed']);
      expect(await stpOf(h), h).toBe(1);
    }
    expect(summaryOf(r).hosts.map((x) => [x.host, x.changed, x.failed])).toEqual([
      ['hv1', 1, 0],
      ['hv2', 0, 1],
      ['hv3', 1, 0],
    ]);
    // Unguarded, the host keeps what it did (the bridge, STP off): the failure says so, nothing undoes it.
    expect(await stpOf(WRAPPED)).toBe(0);
  });

  it('under confirm: true the same change is rolled back by kvmnet (no br0 left); the other hosts are confirmed', async () => {
    await resetHosts(LAB_HOSTS);
    const pb = writePlaybook('readback-confirm', `- hosts: all\n  confirm_timeout: 15\n  tasks:\n${BRIDGE_TASK('\n      confirm: true')}`);
    const t0 = Date.now();
    const r = await kvmnet(['run', pb, '-i', inventory(), '--output', 'json']);
    const ms = Date.now() - t0;
    expect(r.code, show(r)).toBe(2);
    const ev = taskEvents(r, WRAPPED);
    expect(
      ev.map((e) => [e.task, e.outcome]),
      show(r),
    ).toEqual([['bridge br0 with STP', 'rolled_back']]);
    expect(ev[0]!.message).toMatch(/applied, not in effect: br0 stp is off, expected on; rolled back/);
    // Rolled back by kvmnet over the confirming connection, not by the 15 s timer.
    expect(ms).toBeLessThan(15_000);
    expect(await link(WRAPPED, 'br0')).toBeUndefined();
    await expectFresh(WRAPPED);
    for (const h of OTHERS) {
      expect(
        taskEvents(r, h).map((e) => e.outcome),
        h,
      ).toEqual(['changed']);
      const br0 = await link(h, 'br0');
      expect(br0?.linkinfo?.info_data?.stp_state, h).toBe(1);
      expect(isUp(br0), h).toBe(true);
    }
    console.log(`[e2e] read-back: confirm run with a rollback on ${WRAPPED}: ${ms} ms`);
  });

  describe('a guarded group that writes port-forward files, rolled back', () => {
    // Everything kvmnet's forwards live in: every entry under the hooks dir (type, mode, owner,
    // size, mtime, path), the files' sha256, and kvmnet's firewall rules (without counters).
    const FILES = String.raw`find /etc/libvirt/hooks -printf '%y %m %u %g %s %T@ %p\n' | sort -k7; find /etc/libvirt/hooks -type f -exec sha256sum {} + | sort -k2`;
    const files = async () => (await inHost(WRAPPED, ['sh', '-c', FILES])).stdout;
    const kvmnetRules = async () =>
      (await inHost(WRAPPED, ['iptables-save'])).stdout
        .split('\n')
        .filter((l) => l.includes('KVMNET'))
        .map((l) => l.replace(/\[\d+:\d+\]/, ''));
    /** Entries without the mtime of the directories (creating and removing a file in a directory changes its mtime). */
    const withoutDirTimes = (listing: string) => listing.replace(/^(d \S+ \S+ \S+ \S+) \S+ /gm, '$1 - ');

    beforeAll(async () => {
      await resetHost(WRAPPED);
      // The NAT network first, in its own run: the forward's planner reads the firewall backend from libvirt's rules.
      for (const [label, task] of [
        [
          'net10',
          'ensure_libvirt_net: { name: net10, forward: nat, nat_ports: { start: 1024, end: 65535 }, bridge: { name: br10, stp: true, delay: 0 }, ip: { address: 192.168.30.1, netmask: 255.255.255.0, dhcp: { ranges: [{ start: 192.168.30.50, end: 192.168.30.200 }] } }, state: active, autostart: true }',
        ],
        ['forward', 'ensure_port_forward: { network: net10, guest_ip: 192.168.30.11, host_port: 2222, guest_port: 22 }'],
      ]) {
        const r = await kvmnet([
          'run',
          writePlaybook(`readback-${label}`, `- hosts: ${WRAPPED}\n  tasks:\n    - ${task}\n`),
          '-i',
          inventory(),
          '--limit',
          WRAPPED,
        ]);
        expect(r.code, show(r)).toBe(0);
      }
    });

    it('leaves the hook files and the firewall rules exactly as before', async () => {
      const filesBefore = await files();
      const rulesBefore = await kvmnetRules();
      const stateBefore = await snapshot(WRAPPED);
      // The forward that is already there: its rules file and its rules.
      expect(filesBefore).toMatch(/^f 644 root root \d+ \S+ \/etc\/libvirt\/hooks\/kvmnet-port-forwards\/\S+\.rules$/m);
      expect(filesBefore).toMatch(/^f 755 root root \d+ \S+ \/etc\/libvirt\/hooks\/network\.d\/kvmnet-port-forwards$/m);
      expect(rulesBefore.filter((l) => l.includes('kvmnet-pf:net10:tcp:any:2222'))).toHaveLength(2);
      expect(rulesBefore.some((l) => l.includes(':2223'))).toBe(false);

      const pb = writePlaybook(
        'readback-forward-group',
        `- hosts: ${WRAPPED}
  confirm_timeout: 15
  tasks:
    - name: second forward
      ensure_port_forward: { network: net10, guest_ip: 192.168.30.12, host_port: 2223, guest_port: 22 }
      confirm_group: g
${BRIDGE_TASK('\n      confirm_group: g')}`,
      );
      const r = await kvmnet(['run', pb, '-i', inventory(), '--limit', WRAPPED, '--output', 'json']);
      expect(r.code, show(r)).toBe(2);
      const ev = taskEvents(r);
      expect(
        ev.map((e) => [e.task, e.outcome]),
        show(r),
      ).toEqual([
        ['second forward', 'rolled_back'],
        ['bridge br0 with STP', 'rolled_back'],
      ]);
      expect(ev.map((e) => e.message).join('\n')).toMatch(/applied, not in effect: .*br0 stp is off, expected on/);

      const filesAfter = await files();
      // The step did write into the rules dir (its mtime moved: a file was made there and removed again) …
      const dirTime = (l: string) => /^d \S+ \S+ \S+ \S+ (\S+) \/etc\/libvirt\/hooks\/kvmnet-port-forwards$/m.exec(l)?.[1];
      expect(dirTime(filesBefore)).toBeDefined();
      expect(dirTime(filesAfter), 'the rules dir was written to').not.toBe(dirTime(filesBefore));
      // … and every file is back: same names, modes, owners, sizes, mtimes and content.
      expect(withoutDirTimes(filesAfter)).toEqual(withoutDirTimes(filesBefore));
      expect(await kvmnetRules()).toEqual(rulesBefore);
      expect(await link(WRAPPED, 'br0')).toBeUndefined();
      expect(await snapshot(WRAPPED)).toEqual(stateBefore);
    });
  });
});
