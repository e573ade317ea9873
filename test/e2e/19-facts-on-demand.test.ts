// Facts on demand, seen from the host: a playbook of bridges and libvirt networks never runs
// iptables-save or nft there (issue 33). iptables-save and nft are replaced, in hv1's own mount
// namespace only, by wrappers that log every call (with the caller's command line) and then run the
// real program, so the log is what really ran on the host, whoever started it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BRIDGED, inHost, inventory, kvmnet, link, resetHosts, show, summaryOf, type LabHost } from './helpers.js';

const H: LabHost = 'hv1';
const DIR = '/run/kvmnet-e2e-facts-on-demand';
const LOG = `${DIR}/calls.log`;

// iptables-save is a link to xtables-*-multi, which tells the tool by argv[0]: the wrapper keeps it.
const wrapper = (real: string) => `#!/bin/bash
printf '%s %s <- %s\\n' "$0" "$*" "$(tr '\\0' ' ' < /proc/$PPID/cmdline | head -c 200)" >> ${LOG}
exec -a "$0" ${real} "$@"
`;
// $1, $2: the wrappers' texts (as arguments, so no quoting of them here).
const WRAP = `set -e
mkdir -p ${DIR}; : > ${LOG}
wrap() {
  real=$(readlink -f "$1"); cp "$real" "${DIR}/$2.real"
  printf '%s' "$3" > "${DIR}/$2.wrap"; chmod +x "${DIR}/$2.wrap"
  mount --bind "${DIR}/$2.wrap" "$real"
}
wrap /usr/sbin/iptables-save iptables "$1"
wrap /usr/sbin/nft nft "$2"
`;
const UNWRAP = `for f in $(readlink -f /usr/sbin/iptables-save) $(readlink -f /usr/sbin/nft); do while umount "$f" 2>/dev/null; do :; done; done; rm -rf ${DIR}`;

// Only the two programs (the wrapper of xtables-*-multi also sees libvirt's own iptables calls, if any).
const calls = async () => (await inHost(H, ['cat', LOG])).stdout.split('\n').filter((l) => /^\S*\/(iptables-save|nft) /.test(l));
const clearCalls = () => inHost(H, ['sh', '-c', `: > ${LOG}`]);

describe('facts on demand', () => {
  beforeAll(async () => {
    await resetHosts([H]);
    await inHost(H, ['sh', '-c', WRAP, 'wrap', wrapper(`${DIR}/iptables.real`), wrapper(`${DIR}/nft.real`)]);
  });
  afterAll(async () => {
    await inHost(H, ['sh', '-c', UNWRAP], { check: false });
  });

  it('the wrappers see a facts exec that reads everything (kvmnet facts): iptables-save and nft are logged', async () => {
    await clearCalls();
    const r = await kvmnet(['facts', '-i', inventory(), '--limit', H, '--output', 'json']);
    expect(r.code, show(r)).toBe(0);
    const log = await calls();
    expect(
      log.some((l) => /iptables-save /.test(l)),
      log.join('\n'),
    ).toBe(true);
    expect(
      log.some((l) => /\/nft list tables/.test(l)),
      log.join('\n'),
    ).toBe(true);
  });

  it('a bridged run (bridge, port, address, libvirt network), fresh and again: neither runs on the host', async () => {
    await clearCalls();
    for (const pass of ['fresh', 'again']) {
      const r = await kvmnet(['run', BRIDGED, '-i', inventory(), '--limit', H, '--output', 'json']);
      expect(r.code, `${pass}: ${show(r)}`).toBe(0);
      const summary = summaryOf(r) as ReturnType<typeof summaryOf> & { stats: { factsTopUps?: number } };
      expect(summary.stats.factsTopUps).toBe(0);
    }
    // The run did its work (read from the kernel, not from kvmnet).
    expect((await link(H, 'eth1'))?.master).toBe('br0');
    expect(await calls()).toEqual([]);
  });

  it('kvmnet facts --only reads only the fragments it names', async () => {
    await clearCalls();
    const r = await kvmnet(['facts', '-i', inventory(), '--limit', H, '--output', 'json', '--only', 'bridge-vlans,libvirt-version']);
    expect(r.code, show(r)).toBe(0);
    expect(await calls()).toEqual([]);
    const bad = await kvmnet(['facts', '-i', inventory(), '--limit', H, '--only', 'nope']);
    expect(bad.code, show(bad)).not.toBe(0);
    expect(bad.stderr).toMatch(/unknown facts fragment nope/);
  });
});
