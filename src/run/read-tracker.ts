import { RAW_FACTS } from '../model/facts.js';

// What a plan depends on: the facts its planners (and the SSH-path guard) actually read. Planning
// runs on a proxy of the facts that records each path it reads; the plan saves, for each path, the
// value the host had before the first task. Applying the plan later re-reads the host and refuses
// it when any of those values changed — exactly the facts the plan was made on, no more.

/** A path into the facts, and how it was read: a value, an array as a whole, an object's keys, or a key's presence. */
export interface Read {
  path: string[];
  as: 'value' | 'keys' | 'has';
}

// Values that change by themselves on a live host and that no plan depends on: carrier, LACP
// negotiation, DHCP leases, the per-run rollback records.
const VOLATILE = new Set(['operstate', 'aggregator', 'activeMember', 'bondMember', 'leases', 'rollbacks']);

/** Records the paths read through the objects it hands out; the target is never changed through it. */
export class ReadTracker {
  private readonly reads = new Map<string, Read>();
  private readonly proxies = new WeakMap<object, object>();

  wrap<T extends object>(target: T, path: string[] = []): T {
    const known = this.proxies.get(target);
    if (known) return known as T;
    const record = (read: Read) => {
      if (!read.path.some((p) => VOLATILE.has(p))) this.reads.set(`${read.as} ${JSON.stringify(read.path)}`, read);
    };
    const proxy = new Proxy(target, {
      get: (t, key, receiver) => {
        if (key === RAW_FACTS) return t;
        const value = Reflect.get(t, key, receiver);
        if (typeof key === 'symbol' || typeof value === 'function') return value;
        const at = [...path, key];
        // An array counts as one value (a new address anywhere in the list is a change).
        if (value !== null && typeof value === 'object' && !Array.isArray(value)) return this.wrap(value, at);
        record({ path: at, as: 'value' });
        return value;
      },
      has: (t, key) => {
        if (typeof key !== 'symbol') record({ path: [...path, key], as: 'has' });
        return Reflect.has(t, key);
      },
      ownKeys: (t) => {
        record({ path, as: 'keys' });
        return Reflect.ownKeys(t);
      },
      set: () => {
        throw new Error('a planner changed the facts it plans on');
      },
    });
    this.proxies.set(target, proxy);
    return proxy;
  }

  all(): Read[] {
    return [...this.reads.values()];
  }
}

/** The facts a read resolves to on a host, as JSON (undefined when the path is not there). */
export function readValue(root: unknown, read: Read): unknown {
  let v: unknown = root;
  const path = read.as === 'has' ? read.path.slice(0, -1) : read.path;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
  if (read.as === 'has') return v !== null && typeof v === 'object' && read.path.at(-1)! in v;
  if (read.as === 'keys') return v !== null && typeof v === 'object' ? keysOf(read.path, v as Record<string, unknown>) : undefined;
  if (v === undefined) return undefined;
  // Read as absent then: that it exists now is the change, not what it holds.
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) return PRESENT;
  return JSON.parse(JSON.stringify(kept(read.path, v), (k, x: unknown) => (VOLATILE.has(k) ? undefined : x))) as unknown;
}

export const PRESENT = '(present)';

// What the kernel adds by itself next to a change (IPv6 link-local addresses, prefix routes) is
// in no plan: the lists count without it.
function kept(path: string[], v: unknown): unknown {
  if (!Array.isArray(v) || path.length !== 1) return v;
  // In no particular order: the kernel lists routes by table and prefix, an effect appends.
  const sorted = (list: unknown[]) =>
    list
      .map((x) => [JSON.stringify(x), x] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, x]) => x);
  if (path[0] === 'addrs') return sorted(v.filter((a: { scope?: string }) => a.scope === 'global'));
  if (path[0] === 'routes') return sorted(v.filter((r: { protocol?: string }) => r.protocol !== 'kernel'));
  return v;
}

// Guests come and go on a live hypervisor: their taps appearing or leaving changes no plan that
// does not read them by name.
function keysOf(path: string[], obj: Record<string, unknown>): string[] {
  const keys = Object.keys(obj).sort();
  if (path.length !== 1 || path[0] !== 'links') return keys;
  return keys.filter((k) => (obj[k] as { kind?: string } | undefined)?.kind !== 'tun');
}
