// ifupdown has no keys for routes, policy rules or VXLAN flooding entries: they are `post-up` /
// `pre-down` commands in an interface's stanza, written from the same operations the runtime
// planner runs (so the file and the kernel agree by construction). Reusable by any stanza writer
// (ifupdown's, ifupdown2's). Pure.
import { opsLines, type Op } from '../ops/index.js';

/** `post-up CMD` for each line of the operations (ifupdown runs each with /bin/sh -c). */
export const postUpLines = (ops: readonly Op[]): string[] => opsLines(ops).map((l) => `post-up ${l}`);

/** `pre-down CMD 2>/dev/null || true`: taking the interface down goes on when the kernel already dropped it. */
export const preDownLines = (ops: readonly Op[]): string[] => opsLines(ops).map((l) => `pre-down ${l} 2>/dev/null || true`);

/**
 * `post-up` lines that are safe to run again (an `ifup` after an `ifdown --force`, a second
 * `ifup`): first the undo, without failing when there is nothing to undo, then the command.
 * `ip rule add` and `bridge fdb append` add a second copy when run twice.
 */
export const idempotentPostUpLines = (undo: readonly Op[], ops: readonly Op[]): string[] => [
  ...opsLines(undo).map((l) => `post-up ${l} 2>/dev/null || true`),
  ...postUpLines(ops),
];

/** The commands of a stanza's `KEY` lines (`post-up`, `pre-up`, …), in order. */
export function stanzaCommands(content: string, key: string): string[] {
  const re = new RegExp(`^[ \\t]*${key}[ \\t]+(.*?)[ \\t]*$`, 'gm');
  return [...content.matchAll(re)].map((m) => m[1]!);
}
