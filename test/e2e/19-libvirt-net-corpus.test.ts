// Every network definition of libvirt's own test suite (tests/networkxml2xmlin of libvirt 9.0.0,
// plus one from a later libvirt: test/fixtures/libvirt-networkxml/README.md), defined on a lab host
// through kvmnet in ONE run, then run again: the second run must change nothing and restart
// nothing (uuid, bridge ifindex and dnsmasq pid of every network as before), although libvirt
// writes back many of them differently from how they were written (upper-case MACs, defaults,
// an element 9.0.0 does not know). Definitions libvirt refuses fail with libvirt's own message.
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inHost, inventory, kvmnet, resetHost, show, summaryOf, taskEvents, writePlaybook } from './helpers.js';

const HOST = 'hv3';
const DIR = new URL('../fixtures/libvirt-networkxml/', import.meta.url);
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.xml'))
  .sort();

// What libvirt 9.0.0 answers to net-define, in its own words (checked on a lab host by hand).
const REFUSED: Record<string, RegExp> = {
  '8021Qbh-net.xml': /<vlan> element specified for network \S+, whose type doesn't support vlan configuration/,
  'hostdev-duplicate.xml': /PCI device '0000:03:00.3' can only be listed once in network/,
  'hostdev.xml': /is not an SR-IOV Virtual Function/,
  'open-network-with-forward-dev.xml': /forward dev not allowed for network '\S+' with forward mode='open'/,
  'openvswitch-net.xml': /<vlan> element specified for network \S+, whose type doesn't support vlan configuration/,
  'passthrough-address-crash.xml': /lists a device by PCI address in the device pool/,
  'passthrough-duplicate.xml': /interface 'eth3' can only be listed once in network/,
  'passthrough-pf.xml': /Unsupported <ip> element in network \S+ with forward mode='passthrough'/,
  'routed-network-no-dns-extra-elements.xml': /Extra data in disabled network/,
};
// Accepted, but a lab host cannot start them: defined only (state: defined).
const NOT_STARTABLE: Record<string, string> = {
  'bandwidth-network.xml': "the machine's kernel has no sfq qdisc",
  'dnsmasq-options.xml': "its dnsmasq option 'foo=bar' is not one dnsmasq knows",
  'host-bridge-no-flood.xml': "the machine's kernel has no bridge VLAN filtering",
  'hostdev-pf.xml': 'eth2 has no SR-IOV VFs',
  'hostdev-pf-driver-model.xml': 'eth2 has no SR-IOV VFs',
  'netboot-network.xml': 'its tftp root does not exist',
  'netboot-tftp.xml': 'its tftp root does not exist',
  'routed-network.xml': 'its bridge zone needs firewalld',
};

const netName = (i: number) => `lx${String(i).padStart(2, '0')}`;

/**
 * The file as written, made to live beside the others on one host: its own name, bridge and
 * uuid (libvirt refuses a second network with the same bridge or uuid) and its own subnets (two
 * running networks may not share one). Everything else stays as libvirt's authors wrote it.
 */
function adapt(text: string, i: number): string {
  return (
    text
      .replace(/<name>[^<]*<\/name>/, `<name>${netName(i)}</name>`)
      .replace(/(<uuid>[^<]*)[0-9a-fA-F]{2}(<\/uuid>)/, `$1${i.toString(16).padStart(2, '0')}$2`)
      .replace(/<bridge name=(['"])[^'"]*\1/, `<bridge name='lxb${String(i).padStart(2, '0')}'`)
      .replace(/192\.168\./g, `10.${100 + i}.`)
      // An <ip> without netmask is classful: 10.24.10.1 would claim 10.0.0.0/8 and collide with every other.
      .replace(/10\.24\.10\./g, `198.18.${i}.`)
      .replace(/2001:db8:ac10:/gi, `2001:db8:${(0xac00 + i).toString(16)}:`)
  );
}

const yamlScalar = (s: string) => JSON.stringify(s);
const entries = FILES.map((file, i) => ({ file, name: netName(i + 1), xml: adapt(readFileSync(new URL(file, DIR), 'utf8'), i + 1) }));
const accepted = entries.filter((e) => !REFUSED[e.file]);
const refused = entries.filter((e) => REFUSED[e.file]);

function playbook(list: typeof entries, ignoreErrors: boolean): string {
  const tasks = list.map((e) =>
    [
      `      - name: ${e.file}`,
      ...(ignoreErrors ? ['        ignore_errors: true'] : []),
      '        ensure_libvirt_net:',
      `          name: ${e.name}`,
      `          state: ${NOT_STARTABLE[e.file] || REFUSED[e.file] ? 'defined' : 'active'}`,
      `          xml: ${yamlScalar(e.xml)}`,
    ].join('\n'),
  );
  return `- name: libvirt's network test corpus\n  hosts: ${HOST}\n  tasks:\n${tasks.join('\n')}\n`;
}

interface NetState {
  uuid: string;
  active: boolean;
  ifindex?: number;
  dnsmasq?: string;
}

/** uuid, state, the bridge's ifindex and dnsmasq's pid of every corpus network, read in one exec. */
async function readState(): Promise<Record<string, NetState>> {
  const script = accepted
    .map(
      (e) =>
        `echo "@@ ${e.name} $(virsh -q net-uuid ${e.name}) $(virsh -q net-info ${e.name} | sed -n 's/^Active:[[:space:]]*//p') $(cat /sys/class/net/$(virsh -q net-info ${e.name} | sed -n 's/^Bridge:[[:space:]]*//p')/ifindex 2>/dev/null || echo -) $(cat /run/libvirt/network/${e.name}.pid 2>/dev/null || echo -)"`,
    )
    .join('\n');
  const out = (await inHost(HOST, ['sh', '-c', script])).stdout;
  const state: Record<string, NetState> = {};
  for (const line of out.split('\n').filter((l) => l.startsWith('@@ '))) {
    const [, name, uuid, active, ifindex, pid] = line.split(/\s+/);
    state[name!] = {
      uuid: uuid!,
      active: active === 'yes',
      ...(ifindex !== '-' ? { ifindex: Number(ifindex) } : {}),
      ...(pid !== '-' ? { dnsmasq: pid } : {}),
    };
  }
  return state;
}

describe("libvirt's own network definitions: defined once, then left alone", () => {
  beforeAll(async () => {
    await resetHost(HOST);
  });
  afterAll(async () => {
    await resetHost(HOST);
  });

  it(`has at least 40 real definitions (${FILES.length}), ${refused.length} of which libvirt 9.0.0 refuses`, () => {
    expect(FILES.length).toBeGreaterThanOrEqual(40);
    expect(refused.map((e) => e.file).sort()).toEqual(Object.keys(REFUSED).sort());
  });

  it('the first run defines each accepted network (and starts those a lab host can run)', async () => {
    const r = await kvmnet(['run', writePlaybook('corpus-accepted', playbook(accepted, false)), '-i', inventory(), '--output', 'json'], { timeoutMs: 170_000 });
    expect(r.code, show(r)).toBe(0);
    const events = taskEvents(r, HOST);
    expect(
      events.map((e) => [e.task, e.outcome]),
      show(r),
    ).toEqual(accepted.map((e) => [e.file, 'changed']));
    // libvirt 9.0.0 drops <driver model>: said once, when the network is defined.
    const driverModel = events.find((e) => e.task === 'hostdev-pf-driver-model.xml')!;
    expect(JSON.stringify(driverModel)).toMatch(/libvirt 9\.0\.0 on hv3 ignores <forward><driver model> \(not supported before 10\.0\.0\)/);
    const st = await readState();
    for (const e of accepted) expect(st[e.name]?.active, `${e.file} (${e.name}) active`).toBe(!NOT_STARTABLE[e.file]);
    const running = accepted.filter((e) => !NOT_STARTABLE[e.file]);
    expect(running.length).toBeGreaterThanOrEqual(25);
  });

  it('the second run changes nothing and restarts nothing (uuid, bridge and dnsmasq as before)', async () => {
    const before = await readState();
    const r = await kvmnet(['run', writePlaybook('corpus-accepted-2', playbook(accepted, false)), '-i', inventory(), '--output', 'json'], {
      timeoutMs: 170_000,
    });
    expect(r.code, show(r)).toBe(0);
    expect(summaryOf(r).hosts).toMatchObject([{ host: HOST, changed: 0, failed: 0, ok: accepted.length }]);
    const events = taskEvents(r, HOST);
    expect(events.filter((e) => e.outcome !== 'ok').map((e) => `${e.task}: ${e.outcome} ${e.message}`)).toEqual([]);
    expect(events.find((e) => e.task === 'hostdev-pf-driver-model.xml')?.message).toMatch(
      /defined as wanted .*libvirt 9\.0\.0 on hv3 ignores <forward><driver model>/,
    );
    const after = await readState();
    expect(after).toEqual(before);
    // The check measures something: running networks have a bridge and (with an <ip>) a dnsmasq.
    expect(Object.values(after).filter((s) => s.ifindex !== undefined).length).toBeGreaterThanOrEqual(25);
    expect(Object.values(after).filter((s) => s.dnsmasq !== undefined).length).toBeGreaterThanOrEqual(15);
  });

  it("definitions libvirt refuses fail with libvirt's own message, and nothing is defined", async () => {
    const r = await kvmnet(['run', writePlaybook('corpus-refused', playbook(refused, true)), '-i', inventory(), '--output', 'json'], { timeoutMs: 170_000 });
    const events = taskEvents(r, HOST);
    expect(
      events.map((e) => e.task),
      show(r),
    ).toEqual(refused.map((e) => e.file));
    for (const e of refused) {
      const ev = events.find((x) => x.task === e.file)!;
      expect(ev.outcome, `${e.file}: ${ev.message}`).toBe('failed');
      expect(ev.message, e.file).toMatch(REFUSED[e.file]!);
    }
    const list = (await inHost(HOST, ['virsh', '-q', 'net-list', '--all', '--name'])).stdout.split('\n').map((l) => l.trim());
    for (const e of refused) expect(list, e.file).not.toContain(e.name);
  });
});
