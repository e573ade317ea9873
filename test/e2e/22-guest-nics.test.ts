// ensure_guest_nic on a REAL running guest: a TCG qemu domain, persistent, booted from the
// machine's kernel with a busybox initrd and ACPI (the lab's iPXE guest has no ACPI, so libvirt
// cannot hot-plug into it, and no OS to acknowledge an unplug). Everything is read back from
// libvirt (`virsh domid`, `dumpxml`, `dumpxml --inactive`, `domif-getlink`, `domiflist`), the
// kernel (`ip -j link`: the tap's master) and /proc (the qemu process's start time), not from
// kvmnet's report alone.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection, ExecOptions, ExecResult } from '../../src/connection/types.js';
import type { Facts } from '../../src/model/facts.js';
import { applyOps, inverseOps, opsLines, verifyOps, type Op } from '../../src/ops/index.js';
import { nicLine } from '../../src/ops/guest-nic.js';
import { gatherHostFacts } from '../../src/run/host-facts.js';
import { inHost, inventory, kvmnet, labDir, resetHost, show, taskEvents, virsh, waitFor, writePlaybook, type IpLink } from './helpers.js';

const HOST = 'hv1' as const;
const GUEST = 'e2e-nicvm';
const BRIDGE = 'brnic';
const BRIDGED = 'nicbr';
const SECOND = '52:54:00:e2:19:02';
// Documents go to virsh through a file: node's stdin pipe is a socket, which /dev/stdin cannot open.
// The host's /tmp is this directory of the lab (what qemu, started by the host's libvirtd, sees).
const hostTmp = () => join(labDir(), 'hosts', HOST, 'tmp');
const INITRD = '/tmp/e2e-nicvm-initrd.img';
const CONSOLE = '/tmp/e2e-nicvm-console.log';

const KERNEL = (() => {
  const k = readdirSync('/boot')
    .filter((f) => f.startsWith('vmlinuz-'))
    .sort()
    .at(-1);
  if (!k) throw new Error('e2e: the guest boots the machine’s kernel: no /boot/vmlinuz-*');
  return `/boot/${k}`;
})();

const GUEST_XML = `<domain type='qemu'>
  <name>${GUEST}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>${KERNEL}</kernel><initrd>${INITRD}</initrd><cmdline>console=ttyS0 quiet panic=-1</cmdline></os>
  <features><acpi/></features>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <interface type='network'><source network='default'/><model type='virtio'/></interface>
    <serial type='file'><source path='${CONSOLE}'/></serial>
    <video><model type='none'/></video>
    <memballoon model='none'/>
  </devices>
</domain>
`;

const BRIDGED_XML = `<network><name>${BRIDGED}</name><forward mode='bridge'/><bridge name='${BRIDGE}'/><portgroup name='plain' default='yes'/><portgroup name='ops'/></network>`;

/** A busybox initrd whose init prints a marker and sleeps: a Linux that answers ACPI unplug requests. */
function buildInitrd(target: string): void {
  const staging = mkdtempSync(join(hostTmp(), 'initrd-'));
  try {
    mkdirSync(join(staging, 'bin'));
    cpSync('/bin/busybox', join(staging, 'bin', 'busybox'));
    const libs = execFileSync('ldd', ['/bin/busybox'], { encoding: 'utf8' }).match(/\/\S+/g) ?? [];
    for (const lib of libs) cpSync(lib, join(staging, lib), { dereference: true });
    writeFileSync(join(staging, 'init'), '#!/bin/busybox sh\n/bin/busybox echo kvmnet-e2e-guest-up\nwhile :; do /bin/busybox sleep 3600; done\n', {
      mode: 0o755,
    });
    execFileSync('sh', ['-c', 'cd "$1" && find . | cpio -o -H newc --quiet | gzip -1 > "$2"', 'sh', staging, target]);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

let mac = '';

async function linkOf(name: string): Promise<IpLink | undefined> {
  const r = await inHost(HOST, ['ip', '-j', 'link', 'show', 'dev', name], { check: false });
  return r.code === 0 ? (JSON.parse(r.stdout) as IpLink[])[0] : undefined;
}

/** The domain's id and its qemu process's start time (field 22 of /proc/PID/stat): both change when the guest restarts. */
async function identity(): Promise<{ id: string; started: string }> {
  const id = (await virsh(HOST, ['-q', 'domid', GUEST])).trim();
  const pid = (await inHost(HOST, ['cat', `/run/libvirt/qemu/${GUEST}.pid`])).stdout.trim();
  const stat = (await inHost(HOST, ['cat', `/proc/${pid}/stat`])).stdout;
  const started = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
  return { id, started };
}

interface NicXml {
  type: string;
  network?: string;
  bridge?: string;
  portgroup?: string;
  tap?: string;
  link?: string;
}

/** The <interface> with this MAC in `virsh dumpxml` (or --inactive), read with a regexp over libvirt's own output. */
async function nicXml(m: string, inactive: boolean): Promise<NicXml | undefined> {
  const xml = await virsh(HOST, ['dumpxml', ...(inactive ? ['--inactive'] : []), GUEST]);
  const el = [...xml.matchAll(/<interface type='([^']+)'>([\s\S]*?)<\/interface>/g)].find((x) => x[2]!.includes(`<mac address='${m}'/>`));
  if (!el) return undefined;
  const attr = (tag: string, name: string) => new RegExp(`<${tag}\\b[^>]*\\b${name}='([^']*)'`).exec(el[2]!)?.[1];
  const out: NicXml = { type: el[1]! };
  for (const [k, tag, name] of [
    ['network', 'source', 'network'],
    ['bridge', 'source', 'bridge'],
    ['portgroup', 'source', 'portgroup'],
    ['tap', 'target', 'dev'],
    ['link', 'link', 'state'],
  ] as const) {
    const v = attr(tag, name);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

const domifList = async () =>
  (await virsh(HOST, ['-q', 'domiflist', GUEST]))
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .map(([tap, type, source, , m]) => ({ tap, type, source, mac: m }));

/** kvmnet's Connection over the lab host's namespaces (what SSH gives, without the session). */
const conn: Connection = {
  description: `${HOST} (nsenter)`,
  stats: { connections: 1, execs: 0 },
  async exec(command: string, o: ExecOptions = {}): Promise<ExecResult> {
    const r = await inHost(HOST, ['sh', '-c', command], { check: false, input: o.stdin, timeoutMs: o.timeoutMs ?? 120_000 });
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.code };
  },
  async close() {},
};

async function runOps(ops: readonly Op[]): Promise<void> {
  const script = ['set -e', ...opsLines(ops)].join('\n');
  const r = await conn.exec(script);
  if (r.exitCode !== 0) throw new Error(`ops failed (exit ${r.exitCode}): ${r.stderr}\n${script}`);
}

/** The guest's NICs per definition, each with the bridge its tap is in (a re-attached NIC gets a new tap name, in the same bridge). */
const guestState = (f: Facts) =>
  Object.fromEntries(
    (['live', 'config'] as const).map((side) => [
      side,
      (f.guestNics?.[GUEST]?.[side] ?? []).map((n) => `${n.mac} ${nicLine(n)}${n.tap ? ` in ${f.links[n.tap]?.master ?? 'no bridge'}` : ''}`),
    ]),
  );

const play = (label: string, task: string) =>
  writePlaybook(
    label,
    `- hosts: ${HOST}
  tasks:
    - ensure_guest_nic: ${task}
`,
  );

async function runTwice(pb: string): Promise<string> {
  const r = await kvmnet(['run', pb, '-i', inventory(), '--output', 'json'], { timeoutMs: 170_000 });
  expect(r.code, show(r)).toBe(0);
  const [event] = taskEvents(r, HOST);
  expect(event?.outcome, show(r)).toBe('changed');
  const again = await kvmnet(['run', pb, '-i', inventory(), '--output', 'json'], { timeoutMs: 170_000 });
  expect(again.code, show(again)).toBe(0);
  expect(taskEvents(again, HOST)[0]?.outcome, show(again)).toBe('ok');
  return event!.message;
}

describe('ensure_guest_nic on a running guest', () => {
  beforeAll(async () => {
    await resetHost(HOST);
    buildInitrd(join(hostTmp(), INITRD.slice('/tmp/'.length)));
    await inHost(HOST, ['sh', '-c', 'ip link add "$1" type bridge && ip link set "$1" up', 'setup', BRIDGE]);
    await inHost(
      HOST,
      [
        'sh',
        '-c',
        'f=$(mktemp) && cat > "$f" && virsh -q net-start default >/dev/null && virsh -q net-define "$f" >/dev/null && rm -f "$f" && virsh -q net-start "$1" >/dev/null',
        'setup',
        BRIDGED,
      ],
      { input: BRIDGED_XML },
    );
    const def = await inHost(
      HOST,
      ['sh', '-c', 'f=$(mktemp) && cat > "$f" && virsh -q define "$f" >/dev/null && rm -f "$f" && virsh -q start "$1"', 'setup', GUEST],
      { input: GUEST_XML, timeoutMs: 170_000 },
    );
    expect(def.code, show(def)).toBe(0);
    // The kernel is up (and with it ACPI hotplug) once init prints its marker; TCG on a loaded machine is slow.
    const t0 = Date.now();
    await waitFor(
      'the guest kernel to reach init',
      async () => (await inHost(HOST, ['cat', CONSOLE], { check: false })).stdout.includes('kvmnet-e2e-guest-up') || undefined,
      240_000,
      1000,
    );
    console.log(`[e2e] guest ${GUEST} booted in ${Date.now() - t0} ms`);
    const [nic] = await domifList();
    mac = nic!.mac!;
    expect((await linkOf(nic!.tap!))?.master).toBe('virbr0');
  }, 400_000);

  afterAll(async () => {
    await inHost(HOST, ['sh', '-c', 'virsh -q destroy "$1"; virsh -q undefine "$1"; rm -f "$2" "$3"', 'teardown', GUEST, INITRD, CONSOLE], { check: false });
    await resetHost(HOST);
  }, 120_000);

  it('moves the NIC to a bridged network and back, in place: same domain id and qemu process, the tap in the new bridge, both definitions updated', async () => {
    const before = await identity();
    const [nic] = await domifList();
    const tap = nic!.tap!;

    const pb = play('nic-move', `{ domain: ${GUEST}, mac: "${mac}", network: ${BRIDGED}, portgroup: ops }`);
    const check = await kvmnet(['run', pb, '-i', inventory(), '--check', '--diff']);
    expect(check.code, show(check)).toBe(0);
    expect(check.stdout).toContain(`update NIC ${mac} of ${GUEST} in place: network default → network ${BRIDGED}, portgroup (default) → ops`);
    expect(await nicXml(mac, false)).toMatchObject({ network: 'default' });

    expect(await runTwice(pb)).toContain(`update NIC ${mac} of ${GUEST} in place`);
    expect(await identity()).toEqual(before);
    expect((await linkOf(tap))?.master).toBe(BRIDGE);
    // Live: libvirt's actual type for a network of forward mode bridge; persistent: as written.
    expect(await nicXml(mac, false)).toMatchObject({ type: 'bridge', network: BRIDGED, portgroup: 'ops', bridge: BRIDGE, tap });
    expect(await nicXml(mac, true)).toMatchObject({ type: 'network', network: BRIDGED, portgroup: 'ops' });
    console.log(`[e2e] ${GUEST} (id ${before.id}, qemu started at tick ${before.started}): ${tap} moved virbr0 → ${BRIDGE} in place`);

    const back = play('nic-back', `{ domain: ${GUEST}, mac: "${mac}", network: default }`);
    expect(await runTwice(back)).toContain(`network ${BRIDGED} → network default, portgroup ops → (default)`);
    expect(await identity()).toEqual(before);
    expect((await linkOf(tap))?.master).toBe('virbr0');
    for (const inactive of [false, true]) {
      const x = await nicXml(mac, inactive);
      expect(x, `inactive=${inactive}`).toMatchObject({ type: 'network', network: 'default' });
      expect(x?.portgroup, `inactive=${inactive}`).toBeUndefined();
    }
  }, 600_000);

  it('sets the link down and up again', async () => {
    const before = await identity();
    await runTwice(play('nic-down', `{ domain: ${GUEST}, mac: "${mac}", network: default, link: down }`));
    expect((await virsh(HOST, ['-q', 'domif-getlink', GUEST, mac])).trim()).toMatch(/\bdown$/);
    expect((await nicXml(mac, true))?.link).toBe('down');
    await runTwice(play('nic-up', `{ domain: ${GUEST}, mac: "${mac}", network: default, link: up }`));
    expect((await virsh(HOST, ['-q', 'domif-getlink', GUEST, mac])).trim()).toMatch(/\bup$/);
    expect((await nicXml(mac, true))?.link).toBe('up');
    expect(await identity()).toEqual(before);
  }, 600_000);

  it('adds a second NIC and removes it again, live and persistent', async () => {
    const before = await identity();
    await runTwice(play('nic-add', `{ domain: ${GUEST}, mac: "${SECOND}", network: ${BRIDGED} }`));
    const added = (await domifList()).find((n) => n.mac === SECOND);
    expect(added?.source).toBe(BRIDGED);
    expect((await linkOf(added!.tap!))?.master).toBe(BRIDGE);
    expect(await nicXml(SECOND, true)).toMatchObject({ type: 'network', network: BRIDGED });

    await runTwice(play('nic-del', `{ domain: ${GUEST}, mac: "${SECOND}", state: absent }`));
    expect((await domifList()).map((n) => n.mac)).toEqual([mac]);
    expect(await nicXml(SECOND, true)).toBeUndefined();
    expect(await linkOf(added!.tap!)).toBeUndefined();
    expect(await identity()).toEqual(before);
  }, 600_000);

  it('refuses a domain that does not exist and a MAC another guest uses; nothing changes', async () => {
    const missing = await kvmnet([
      'run',
      play('nic-missing', `{ domain: no-such-vm, mac: "${SECOND}", network: default }`),
      '-i',
      inventory(),
      '--output',
      'json',
    ]);
    expect(missing.code, show(missing)).not.toBe(0);
    expect(taskEvents(missing, HOST)[0]?.message).toContain(`domain no-such-vm does not exist on ${HOST}`);

    // A second, defined (not running) domain holding the MAC of a NIC we would add.
    await inHost(HOST, ['sh', '-c', 'f=$(mktemp) && cat > "$f" && virsh -q define "$f" >/dev/null; r=$?; rm -f "$f"; exit $r'], {
      input: `<domain type='qemu'><name>e2e-other</name><memory unit='MiB'>64</memory><os><type arch='x86_64' machine='pc'>hvm</type></os><devices><interface type='network'><mac address='${SECOND}'/><source network='default'/></interface></devices></domain>`,
    });
    try {
      const dup = await kvmnet(['run', play('nic-dup', `{ domain: ${GUEST}, mac: "${SECOND}", network: default }`), '-i', inventory(), '--output', 'json']);
      expect(dup.code, show(dup)).not.toBe(0);
      expect(taskEvents(dup, HOST)[0]?.message).toContain(`MAC ${SECOND} is already used by guest e2e-other on ${HOST}`);
      expect((await domifList()).map((n) => n.mac)).toEqual([mac]);
      expect(await nicXml(SECOND, true)).toBeUndefined();
    } finally {
      await virsh(HOST, ['-q', 'undefine', 'e2e-other'], { check: false });
    }
  }, 300_000);

  it('each guest-nic operation, run as kvmnet sends it, takes (its read-back check agrees) and is undone by its inverse', async () => {
    const before0 = await identity();
    const cases: Array<{ name: string; setup?: string; ops: Op[] }> = [
      {
        name: 'update: moved to the bridged network, portgroup ops',
        ops: [
          {
            op: 'guest-nic.update',
            domain: GUEST,
            nic: { mac, type: 'network', source: BRIDGED, portgroup: 'ops', model: 'virtio', link: 'up' },
            live: true,
            config: true,
          },
        ],
      },
      {
        name: 'update: link down, live only',
        ops: [
          { op: 'guest-nic.update', domain: GUEST, nic: { mac, type: 'network', source: 'default', model: 'virtio', link: 'down' }, live: true, config: false },
        ],
      },
      {
        name: 'attach: a second NIC on the bridge',
        ops: [
          {
            op: 'guest-nic.attach',
            domain: GUEST,
            nic: { mac: SECOND, type: 'bridge', source: BRIDGE, model: 'virtio', link: 'up' },
            live: true,
            config: true,
          },
        ],
      },
      {
        name: 'detach: a second NIC plugged by hand',
        setup: `printf '%s' '<interface type="network"><mac address="${SECOND}"/><source network="default"/><model type="virtio"/></interface>' > /tmp/e2e-nic.xml && virsh -q attach-device ${GUEST} /tmp/e2e-nic.xml --live --config >/dev/null`,
        ops: [
          {
            op: 'guest-nic.detach',
            domain: GUEST,
            nic: { mac: SECOND, type: 'network', source: 'default', model: 'virtio', link: 'up' },
            live: true,
            config: true,
          },
        ],
      },
    ];
    for (const c of cases) {
      if (c.setup) await inHost(HOST, ['sh', '-c', c.setup]);
      const before = await gatherHostFacts(conn, HOST);
      await runOps(c.ops);
      const mid = await gatherHostFacts(conn, HOST);
      const expected = structuredClone(before);
      applyOps(c.ops, expected);
      expect(verifyOps(c.ops, expected, mid), c.name).toEqual([]);
      expect(guestState(mid), c.name).not.toEqual(guestState(before));
      const { undo, again } = inverseOps(c.ops, before);
      await runOps([...undo, ...again]);
      const after = await gatherHostFacts(conn, HOST);
      expect(guestState(after), `${c.name}: inverse ${JSON.stringify(undo)}`).toEqual(guestState(before));
      // The hand-plugged NIC goes again, so every case starts from the guest's one NIC.
      if (c.setup) await runOps(c.ops);
    }
    expect((await domifList()).map((n) => n.mac)).toEqual([mac]);
    expect(await identity()).toEqual(before0);
  }, 600_000);

  it('kvmnet facts lists the guest NICs (text and JSON)', async () => {
    const json = await kvmnet(['facts', '-i', inventory(), '--limit', HOST, '--output', 'json']);
    expect(json.code, show(json)).toBe(0);
    expect(json.stdout).toContain(`"mac":"${mac}"`);
    const text = await kvmnet(['facts', '-i', inventory(), '--limit', HOST]);
    expect(text.stdout).toContain('Guest NICs');
    expect(text.stdout).toMatch(new RegExp(`${GUEST}\\s+running\\s+${mac}\\s+network\\s+default`));
  }, 120_000);
});
