// Changing `default` under a REAL running guest (`kvmnet lab up --guest hv3`: qemu, TCG, 64 MiB,
// one virtio NIC whose iPXE asks dnsmasq for a lease). Everything is read back from the kernel
// (`ip -j link`: the tap's master, the bridge's ifindex) and libvirt (`virsh net-dumpxml`, live
// and --inactive), not from kvmnet's report alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guestName } from '../../src/lab/guest.js';
import { pidAlive } from '../../src/lab/processes.js';
import { inHost, inventory, kvmnet, labDir, labHost, netXml, resetHost, show, taskEvents, virsh, waitFor, writePlaybook, type IpLink } from './helpers.js';

const HOST = 'hv3' as const;
const GUEST = guestName(HOST);
const PLANT = '/tmp/kvmnet-e2e-plant-reattach';
// In network.d (libvirt ≥ 6.5 runs every script there), next to kvmnet's own port-forward hook,
// never over an operator's hooks/network.
const HOOK_FILE = '/etc/libvirt/hooks/network.d/zz-kvmnet-e2e-plant';

// A libvirt network hook that, when the plant file exists, renames the guest's tap as `default`
// starts: the planted failure to re-attach. Inert otherwise; removed after the tests.
const HOOK = `#!/bin/sh
[ "$1" = default ] && [ "$2" = started ] && [ -e ${PLANT} ] || exit 0
t=$(cat ${PLANT})
ip link set dev "$t" down && ip link set dev "$t" name kvmnet-planted
exit 0
`;

const DEFAULT = (range: string, forward = '<forward mode="nat"/>') => `- hosts: ${HOST}
  tasks:
    - name: default for the guests
      ensure_libvirt_net:
        name: default
        state: active
        xml: |
          <network>
            <name>default</name>
            ${forward}
            <bridge name="virbr0" stp="on" delay="0"/>
            <ip address="192.168.122.1" netmask="255.255.255.0">
              <dhcp>${range}</dhcp>
            </ip>
          </network>
`;
const NARROW = '<range start="192.168.122.100" end="192.168.122.150"/>';
const PORTS = '<forward mode="nat"><nat><port start="2000" end="65535"/></nat></forward>';

let tap = '';

async function linkOf(name: string): Promise<IpLink | undefined> {
  const r = await inHost(HOST, ['ip', '-j', 'link', 'show', 'dev', name], { check: false });
  return r.code === 0 ? (JSON.parse(r.stdout) as IpLink[])[0] : undefined;
}
const ifindex = async (name: string) => (await linkOf(name))?.ifindex;

/** Samples the tap's `ip -o link` line inside the host (every ~50 ms) until `stop()`, which returns the samples. */
async function sampleTap(): Promise<{ stop: () => Promise<string[]> }> {
  const stopFile = '/tmp/kvmnet-e2e-sampler-stop';
  const out = '/tmp/kvmnet-e2e-samples';
  const script = `rm -f ${stopFile} ${out}; while [ ! -e ${stopFile} ]; do ip -o link show dev "$1" 2>&1 | head -n1 >> ${out}; sleep 0.05; done`;
  const running = inHost(HOST, ['sh', '-c', script, 'sampler', tap], { timeoutMs: 170_000 });
  await waitFor('the first sample', async () => (await inHost(HOST, ['test', '-s', out], { check: false })).code === 0 || undefined, 20_000);
  return {
    stop: async () => {
      await inHost(HOST, ['touch', stopFile]);
      await running;
      return (await inHost(HOST, ['cat', out])).stdout.split('\n').filter(Boolean);
    },
  };
}

describe('ensure_libvirt_net under a running guest', () => {
  beforeAll(async () => {
    await resetHost(HOST);
    // The hook is read when libvirtd starts: plant it, stop libvirtd, and let `lab up` restart it.
    await inHost(HOST, ['sh', '-c', 'mkdir -p "${1%/*}" && cat > "$1" && chmod 0755 "$1"', 'hook', HOOK_FILE], { input: HOOK });
    const libvirtd = labHost(HOST).libvirtdPid!;
    process.kill(libvirtd, 'SIGTERM');
    await waitFor('libvirtd to stop', () => !pidAlive(libvirtd) || undefined, 30_000);
    const up = await kvmnet(['lab', 'up', '--dir', labDir(), '--guest', HOST], { timeoutMs: 170_000 });
    expect(up.code, show(up)).toBe(0);
    expect(up.stderr).toMatch(new RegExp(`${HOST}: guest ${GUEST} started in \\d+ ms \\(tap vnet\\d+ on network default\\)`));
    console.log(`[e2e] ${up.stderr.split('\n').find((l) => l.includes(`guest ${GUEST}`))}`);
    const domif = await virsh(HOST, ['-q', 'domiflist', GUEST]);
    tap = domif.trim().split(/\s+/)[0]!;
    expect((await linkOf(tap))?.master).toBe('virbr0');
  });

  afterAll(async () => {
    await inHost(HOST, ['rm', '-f', PLANT, HOOK_FILE]);
    await virsh(HOST, ['-q', 'destroy', GUEST], { check: false });
    await resetHost(HOST);
  });

  it('a narrower DHCP range is applied live: the tap stays in virbr0 before, during and after, both definitions updated', async () => {
    const pb = writePlaybook('guest-range', DEFAULT(NARROW));
    const check = await kvmnet(['run', pb, '-i', inventory(), '--check', '--diff']);
    expect(check.code, show(check)).toBe(0);
    expect(check.stdout).toContain('live update, guests keep their link');

    const bridgeBefore = await ifindex('virbr0');
    const sampler = await sampleTap();
    const r = await kvmnet(['run', pb, '-i', inventory(), '--output', 'json']);
    const samples = await sampler.stop();
    expect(r.code, show(r)).toBe(0);
    const [event] = taskEvents(r, HOST);
    expect(event?.outcome).toBe('changed');
    expect(event?.message).toMatch(/^update network default live, guests keep their link: delete ip-dhcp-range .*; add ip-dhcp-range/);

    // During: every sample has the tap in virbr0 (a restart deletes the bridge under it).
    console.log(`[e2e] ${samples.length} samples of ${tap} during the live update: all in virbr0`);
    expect(samples.length).toBeGreaterThan(3);
    expect(
      samples.filter((s) => !s.includes(' master virbr0 ')),
      samples.join('\n'),
    ).toEqual([]);
    // After: same tap, same bridge (same ifindex: it was never re-created).
    expect((await linkOf(tap))?.master).toBe('virbr0');
    expect(await ifindex('virbr0')).toBe(bridgeBefore);
    for (const inactive of [false, true]) {
      expect((await netXml(HOST, 'default', { inactive })).ip?.[0]?.dhcp?.range, `inactive=${inactive}`).toEqual([
        { start: '192.168.122.100', end: '192.168.122.150' },
      ]);
    }
    const again = await kvmnet(['run', pb, '-i', inventory(), '--output', 'json']);
    expect(taskEvents(again, HOST)[0]?.outcome, show(again)).toBe('ok');
  });

  it('a NAT port range needs a restart: the tap is re-attached to the new virbr0 and the task says so', async () => {
    const pb = writePlaybook('guest-ports', DEFAULT(NARROW, PORTS));
    const check = await kvmnet(['run', pb, '-i', inventory(), '--check', '--diff']);
    expect(check.stdout).toContain(`re-attached after the restart: ${GUEST} (${tap})`);

    const bridgeBefore = await ifindex('virbr0');
    const r = await kvmnet(['run', pb, '-i', inventory(), '--output', 'json']);
    expect(r.code, show(r)).toBe(0);
    expect(taskEvents(r, HOST)[0]?.message).toContain(`network default restarted; 1 guest interface re-attached (${GUEST} ${tap})`);
    // A new bridge (the restart happened), and the guest's tap is in it, up.
    expect(await ifindex('virbr0')).not.toBe(bridgeBefore);
    const l = await linkOf(tap);
    expect(l?.master).toBe('virbr0');
    expect(l?.flags).toContain('UP');
    expect((await netXml(HOST, 'default')).forward?.nat?.port).toEqual({ start: '2000', end: '65535' });
  });

  it('a tap that cannot be re-attached fails the task, naming it', async () => {
    await inHost(HOST, ['sh', '-c', `printf '%s' "$1" > ${PLANT}`, 'plant', tap]);
    try {
      // Back to libvirt's NAT ports: another restart, with the hook armed.
      const pb = writePlaybook('guest-plant', DEFAULT(NARROW, PORTS.replace('2000', '1024')));
      const r = await kvmnet(['run', pb, '-i', inventory(), '--output', 'json']);
      expect(r.code, show(r)).toBe(2);
      const [event] = taskEvents(r, HOST);
      expect(event?.outcome).toBe('failed');
      expect(event?.message).toContain(`network default restarted, but guest interfaces could not be re-attached to virbr0: ${tap} (guest ${GUEST}`);
      // What the hook did, seen in the kernel: the tap under its planted name, in no bridge.
      expect((await linkOf('kvmnet-planted'))?.master).toBeUndefined();
    } finally {
      await inHost(HOST, ['rm', '-f', PLANT]);
      await inHost(HOST, ['sh', '-c', `ip link set dev kvmnet-planted name "$1" && ip link set dev "$1" master virbr0 up`, 'restore', tap], { check: false });
    }
    expect((await linkOf(tap))?.master).toBe('virbr0');
  });
});
