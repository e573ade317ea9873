// Parsers of option values. A bad value throws commander's InvalidArgumentError, which commander
// reports as a usage error naming the option and the value it got; the message says what was expected.
import { InvalidArgumentError } from 'commander';
import { MAX_HOSTS, validatePrefix } from '../lab/names.js';
import { MAX_SHARDS, ShardError, parseShardBy, parseShardSpec, type ShardBy, type ShardSpec } from '../run/shard.js';

/** Above this, timers overflow (setTimeout's limit is ~24.8 days); a day is already far more than any wait. */
export const MAX_SECONDS = 86_400;
/** Every fork is an SSH connection and a file descriptor. */
export const MAX_FORKS = 10_000;

const WHOLE = /^[0-9]+$/;
const DECIMAL = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/;

export function wholeNumber(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value.trim());
    if (!WHOLE.test(value.trim()) || n < min || n > max) throw new InvalidArgumentError(`Expected a whole number from ${min} to ${max}.`);
    return n;
  };
}

/** Seconds, possibly fractional; `allowZero` for waits where 0 means "do not wait". */
export function seconds(allowZero: boolean): (value: string) => number {
  return (value) => {
    const n = Number(value.trim());
    const ok = DECIMAL.test(value.trim()) && (allowZero ? n >= 0 : n > 0) && n <= MAX_SECONDS;
    if (!ok) throw new InvalidArgumentError(`Expected a number of seconds ${allowZero ? 'from 0' : 'above 0'} up to ${MAX_SECONDS}, like 2 or 0.5.`);
    return n;
  };
}

/** A comma-separated list that must name at least one tag: an empty --tags would silently mean "every task". */
export function tagList(value: string): string[] {
  const tags = value
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (tags.length === 0) throw new InvalidArgumentError('Expected one or more comma-separated tags, like net,bridges.');
  return tags;
}

/**
 * The host pattern itself is checked against the inventory later; here only that there is one, and that no
 * `!` or `&` stands alone: the pattern language ignores such a term, so `--limit '!'` would select every host.
 */
export function hostPattern(value: string): string {
  if (/^[\s,:]*$/.test(value)) throw new InvalidArgumentError("Expected a host pattern, like 'rack1:!hv2*', or @FILE with one host a line.");
  // Split like the pattern language: on ',' and on ':' outside `[…]`; a piece with '::' is an IPv6 address.
  const terms = value.split(',').flatMap((piece) => (piece.includes('::') ? [piece] : piece.split(/:(?![^[]*\])/)));
  const lone = terms.map((t) => t.trim()).find((t) => /^[!&]+$/.test(t));
  if (lone) throw new InvalidArgumentError(`Expected a host or group after '${lone}', like 'rack1:!hv2*'.`);
  return value;
}

export function nonEmpty(what: string): (value: string) => string {
  return (value) => {
    if (value.trim() === '') throw new InvalidArgumentError(`Expected ${what}.`);
    return value;
  };
}

export const labHostCount = wholeNumber(1, MAX_HOSTS);

export function labPrefix(value: string): string {
  try {
    return validatePrefix(value);
  } catch {
    throw new InvalidArgumentError('Expected 1 to 6 characters: a lowercase letter, then lowercase letters or digits.');
  }
}

export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** `--shard I/N` (1-based, 1 ≤ I ≤ N) or `auto` (from JOB_COMPLETION_INDEX, CI_NODE_INDEX… at run time). */
export function shardOption(value: string): ShardSpec | 'auto' {
  if (value.trim() === 'auto') return 'auto';
  let spec: ShardSpec | undefined;
  try {
    spec = parseShardSpec(value);
  } catch (e) {
    if (e instanceof ShardError) throw new InvalidArgumentError(`Expected I/N with 1 <= I <= N <= ${MAX_SHARDS}, like 2/3 (${e.message}).`);
    throw e;
  }
  if (!spec) throw new InvalidArgumentError(`Expected I/N with 1 <= I <= N <= ${MAX_SHARDS}, like 2/3, or auto.`);
  return spec;
}

/** `--shard-by VAR` (a host variable) or `--shard-by group:GLOB`. */
export function shardByOption(value: string): ShardBy {
  try {
    return parseShardBy(value);
  } catch (e) {
    if (e instanceof ShardError) throw new InvalidArgumentError('Expected a host variable name, like site, or group:GLOB, like group:site_*.');
    throw e;
  }
}
