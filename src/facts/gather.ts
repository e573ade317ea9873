// Runs FACTS_SCRIPT on a host (one exec) and parses it.
import type { Connection } from '../connection/types.js';
import { shellQuote } from '../connection/quote.js';
import { KvmnetError, RemoteCommandError } from '../errors.js';
import { lockPreamble, parseLock, parseRollbacks, type LockRequest } from './lock-script.js';
import type { Facts } from '../model/facts.js';
import { cutPersisted, parseFacts, parseLibvirtDetails, splitSections } from './parse.js';
import type { FactsFragment } from './fragment.js';
import { factsScript, topUpScript } from './script.js';

const SAFE_NAME = /^[A-Za-z0-9_.+-]+$/;

export class HostLockedError extends KvmnetError {
  override readonly code = 'LOCKED';
}

export interface GatherOptions {
  /** The task types' facts fragments (run/host-facts.ts has the registry's). */
  fragments: readonly FactsFragment[];
  /** Take the host's run lock in the same exec (see lock-script.ts). */
  lock?: LockRequest;
}

// One script per set of fragments (a run uses one or two sets): built once, not per host.
const scripts = new Map<string, string>();

export async function gatherFacts(conn: Connection, host: string, { fragments, lock }: GatherOptions): Promise<Facts> {
  const key = fragments.map((f) => f.id).join(',');
  let script = scripts.get(key);
  if (script === undefined) scripts.set(key, (script = factsScript(fragments)));
  const res = await conn.exec(lock ? lockPreamble(lock) + script : script);
  if (lock) {
    const state = parseLock(res.stdout);
    if (state && !state.ok) throw new HostLockedError(`${host} is locked by another run: ${state.holder} (use --wait-lock SECONDS to wait for it)`);
    if (!state) throw new RemoteCommandError(`could not take the run lock on ${host}: ${res.stderr.trim().split('\n')[0] ?? ''}`, res.exitCode, res.stderr);
  }
  const rollbacks = lock ? parseRollbacks(res.stdout) : [];
  if (res.exitCode !== 0) {
    throw new RemoteCommandError(
      `gathering facts on ${host} failed (exit ${res.exitCode}): ${res.stderr.trim().split('\n')[0] ?? ''}`,
      res.exitCode,
      res.stderr,
    );
  }
  let parsed;
  try {
    parsed = parseFacts(res.stdout, res.stderr, fragments);
  } catch (err) {
    throw new RemoteCommandError(`cannot read the facts of ${host}: ${(err as Error).message}`, res.exitCode, res.stderr);
  }
  const { facts, missingNetworks } = parsed;
  const fetchable = missingNetworks.filter((n) => SAFE_NAME.test(n));
  if (fetchable.length && facts.libvirt.available) {
    // Only when libvirt keeps its configs somewhere unusual: a second virsh invocation.
    const cmds = fetchable.map((n) => `echo @@kvmnet:net:${n}@@; net-info ${n}; echo @@kvmnet:xml@@; net-dumpxml --inactive ${n}`).join('; ');
    const more = await conn.exec(`LC_ALL=C virsh -q ${shellQuote(cmds)}`);
    Object.assign(facts.libvirt.networks, parseLibvirtDetails(splitSections(more.stdout)).networks);
  }
  if (rollbacks.length) facts.rollbacks = rollbacks;
  facts.gathered = fragments.map((f) => f.id);
  return detachStrings(facts);
}

/**
 * One more exec for fragments the first one did not read (a task enabled by `when`, a handler, a
 * later play): only their commands run, their parsers add to the facts in place.
 */
export async function topUpFacts(conn: Connection, host: string, facts: Facts, fragments: readonly FactsFragment[]): Promise<void> {
  const res = await conn.exec(topUpScript(fragments, facts.libvirt.available));
  if (res.exitCode !== 0) {
    throw new RemoteCommandError(
      `reading more facts (${fragments.map((f) => f.id).join(', ')}) on ${host} failed (exit ${res.exitCode}): ${res.stderr.trim().split('\n')[0] ?? ''}`,
      res.exitCode,
      res.stderr,
    );
  }
  const { rest, persisted, persistDirs } = cutPersisted(res.stdout);
  const sections = splitSections(rest);
  const added: Partial<Facts> = {};
  if (persisted) Object.assign(added, { persisted, persistDirs });
  Object.assign(facts, detachStrings(added));
  for (const f of fragments) f.parse(sections, facts);
  // The fragments' parsers keep substrings of this output: copy them out (see detachStrings).
  detachStrings(facts);
  facts.gathered = [...new Set([...(facts.gathered ?? []), ...fragments.map((f) => f.id)])];
}

/**
 * Copies every long string of the facts out of the command's output. V8 makes a substring of 13
 * characters or more a view of its parent, so one network name or XML text kept in the facts kept
 * the whole output alive (about 25 KB per host: 250 MB at 10,000 hosts, facts are kept for the run).
 */
export function detachStrings<T>(value: T): T {
  if (typeof value === 'string') return (value.length >= 13 ? Buffer.from(value, 'utf8').toString('utf8') : value) as T;
  if (Array.isArray(value)) {
    const list = value as unknown[];
    for (let i = 0; i < list.length; i++) list[i] = detachStrings(list[i]);
  } else if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) obj[key] = detachStrings(obj[key]);
  }
  return value;
}
