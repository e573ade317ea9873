// What the two NAT-guests e2e files (13-nat-guests: iptables, 13-nat-guests-nftables) share: one
// TCP connection to a lab host's forwarded port, retried until the guest's listener answers,
// and waiting for kvmnet's daemon hook to finish in a host.
import { connect } from 'node:net';
import { spawnCollect } from './exec.js';
import { waitFor } from './helpers.js';

/** The "guests" of playbooks/nat-guests.yaml (namespaces with these MACs on net10's bridge). */
export const GUESTS = [
  { id: 'g1', mac: '52:54:00:30:00:11', ip: '192.168.30.11', name: 'web1' },
  { id: 'g2', mac: '52:54:00:30:00:12', ip: '192.168.30.12', name: 'db1' },
] as const;

export type Outcome = { kind: 'data'; text: string } | { kind: 'refused' } | { kind: 'timeout' } | { kind: 'error'; code: string };

/** One TCP connection to ADDRESS:PORT: what it got. */
export function tryConnect(address: string, port: number, timeoutMs = 3000): Promise<Outcome> {
  return new Promise((resolve) => {
    const s = connect({ host: address, port });
    let text = '';
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ kind: 'timeout' });
    }, timeoutMs);
    s.on('data', (d) => (text += d.toString()));
    s.on('end', () => {
      clearTimeout(timer);
      resolve({ kind: 'data', text });
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(e.code === 'ECONNREFUSED' ? { kind: 'refused' } : { kind: 'error', code: e.code ?? e.message });
    });
  });
}

/** Connects until the answer contains GREETING (a bridge port with STP takes ~2 s to forward); counts the tries in COUNTER. */
export async function reaches(address: string, port: number, greeting: string, counter: { attempts: number }): Promise<string> {
  return waitFor(
    `${greeting} on ${address}:${port}`,
    async () => {
      counter.attempts++;
      const o = await tryConnect(address, port);
      return o.kind === 'data' && o.text.includes(greeting) ? o.text : undefined;
    },
    40_000,
    250,
  );
}

/** Waits until no kvmnet hook runs in the network namespace NETNS (the daemon hook waits for libvirt in the background); ms waited. */
export async function hookSettled(netns: string, timeoutMs = 90_000): Promise<number> {
  const t0 = Date.now();
  await waitFor(
    'kvmnet’s daemon hook to finish',
    async () => {
      const r = await spawnCollect(['sh', '-c', `for p in $(ip netns pids ${netns}); do tr '\\0' ' ' < /proc/$p/cmdline 2>/dev/null; echo; done`], {
        timeoutMs: 30_000,
      });
      return r.stdout.includes('kvmnet-port-forwards') ? undefined : true;
    },
    timeoutMs,
    250,
  );
  return Date.now() - t0;
}
