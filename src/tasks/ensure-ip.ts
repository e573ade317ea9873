import { shellJoin } from '../connection/quote.js';
import type { EnsureIpArgs } from '../config/task-schemas.js';
import { parseCidr } from '../config/validators.js';
import { RefusedError } from '../errors.js';
import type { AddrFact, Facts } from '../model/facts.js';
import { noop, type Change, type Plan } from '../model/plan.js';
import { persistedFiles } from '../persist/desired.js';
import { withPersistence } from '../persist/plan.js';

const addrText = (a: { address: string; prefix: number }) => `${a.address}/${a.prefix}`;

export function planEnsureIp(args: EnsureIpArgs, facts: Facts, host: string): Plan {
  // The persisted files last: planned against the same facts (runtime effects never touch them).
  const runtime = planIpRuntime(args, facts, host);
  return withPersistence(runtime, args.persist ?? 'none', persistedFiles(args.persist, { type: 'ensure_ip', args }, facts, host), facts);
}

function planIpRuntime(args: EnsureIpArgs, facts: Facts, host: string): Plan {
  const want = parseCidr(args.address)!;
  const { dev } = args;
  const onDev = facts.addrs.filter((a) => a.dev === dev && a.family === want.family);
  const same = onDev.find((a) => sameAddress(a.address, want.address, want.family));
  const changes: Change[] = [];
  const removeAddr = (a: AddrFact, why: string): Change => {
    refuseSessionAddress(a, facts, host);
    return {
      summary: `remove ${addrText(a)} from ${dev}${why}`,
      commands: [shellJoin(['ip', 'address', 'del', addrText(a), 'dev', dev])],
      effect: (f) => {
        f.addrs = f.addrs.filter((x) => !(x.dev === dev && x.address === a.address && x.prefix === a.prefix));
      },
    };
  };

  if (args.state === 'absent') {
    if (!same) return noop(`${args.address} is not on ${dev}`);
    changes.push(removeAddr(same, ''));
    return { changes, devices: [dev] };
  }

  if (!facts.links[dev]) throw new RefusedError(`device ${dev} does not exist on ${host}; create it first (e.g. ensure_bridge)`);
  if (same && same.prefix !== want.prefix) changes.push(removeAddr(same, ` (prefix /${same.prefix} → /${want.prefix})`));
  if (!same || same.prefix !== want.prefix) {
    const added: AddrFact = { dev, family: want.family, address: want.address, prefix: want.prefix, scope: 'global' };
    changes.push({
      summary: `add ${addrText(want)} to ${dev}`,
      commands: [shellJoin(['ip', 'address', 'add', addrText(want), 'dev', dev])],
      effect: (f) => {
        f.addrs.push(added);
      },
    });
  }
  if (args.exclusive) {
    for (const other of onDev) {
      if (other === same || other.scope !== 'global') continue;
      changes.push(removeAddr(other, ' (exclusive)'));
    }
  }
  if (changes.length === 0) return noop(`${args.address} is already on ${dev}${args.exclusive ? ', and no other global address' : ''}`);
  return { changes, devices: [dev] };
}

function refuseSessionAddress(a: AddrFact, facts: Facts, host: string): void {
  if (facts.session && sameAddress(facts.session.serverAddress, a.address, a.family)) {
    throw new RefusedError(`${addrText(a)} on ${a.dev} is the address this SSH session uses on ${host}; removing it would cut the host off`);
  }
}

function sameAddress(a: string, b: string, family: 4 | 6): boolean {
  return family === 4 ? a === b : expand6(a) === expand6(b);
}

/** Canonical full form of an IPv6 address, so `2001:db8::1` equals `2001:0db8:0:0::1`. */
function expand6(addr: string): string {
  const [head = '', tail = ''] = addr.toLowerCase().split('::');
  const h = head ? head.split(':') : [];
  const t = addr.includes('::') && tail ? tail.split(':') : [];
  const zeros = addr.includes('::') ? Array(8 - h.length - t.length).fill('0') : [];
  return [...h, ...zeros, ...t].map((g) => g.padStart(4, '0')).join(':');
}
