// `kvmnet lab status` reports every host up (sshd banner and libvirtd answer), exit 0.
import { describe, expect, it } from 'vitest';
import { inHost, kvmnet, LAB_HOSTS, labDir, labHost, show } from './helpers.js';

describe('kvmnet lab status', () => {
  it('shows every host with sshd and libvirtd up', async () => {
    const r = await kvmnet(['lab', 'status', '--dir', labDir()]);
    expect(r.code, show(r)).toBe(0);
    const rows = r.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/));
    expect(rows.map((row) => row[0])).toEqual([...LAB_HOSTS]);
    for (const row of rows) {
      const h = labHost(row[0] as (typeof LAB_HOSTS)[number]);
      expect(row).toEqual([h.name, h.address, h.netns, 'up', 'up']);
    }
  });

  it('agrees with the hosts themselves: hostname and libvirtd answer inside each namespace', async () => {
    for (const h of LAB_HOSTS) {
      expect((await inHost(h, ['hostname'])).stdout.trim()).toBe(h);
      expect((await inHost(h, ['virsh', '-q', 'net-list', '--all'])).code).toBe(0);
    }
  });
});
