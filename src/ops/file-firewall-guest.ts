// File operations (kvmnet's persisted network files, its libvirt hooks and port-forward rules),
// the port-forward hook's `apply`, and guests' taps plugged back into a restarted network's bridge.
import { dirname } from 'node:path';
import { shellJoin, shellQuote } from '../connection/quote.js';
import type { Facts } from '../model/facts.js';
import { forwardRules, HOOK_SCRIPT, HOOKS_DIR, installedForwards } from '../tasks/port-forward-rules.js';
import { classifyPath } from '../persist/paths.js';
import { shellProgram, shellTemplate } from '../shell/program.js';
import type { FileOp, FirewallOp, GuestOp, OpKind } from './types.js';

type Of<K extends FileOp['op']> = Extract<FileOp, { op: K }>;

/** The facts that hold a file's content: the hooks' files, or the persisted network files. Undefined when the facts do not say. */
function filesOf(f: Facts, path: string, make = false): Record<string, string> | undefined {
  if (path.startsWith(`${HOOKS_DIR}/`)) return f.portForwards?.files;
  if (make) f.persisted ??= {};
  return f.persisted;
}

function checkFile(path: string, expected: Facts, actual: Facts): string | undefined {
  const files = filesOf(actual, path);
  // Only the files the facts read back can be compared.
  if (!files || (!path.startsWith(`${HOOKS_DIR}/`) && !classifyPath(path))) return undefined;
  const want = filesOf(expected, path)?.[path];
  const got = files[path];
  if (want === got) return undefined;
  return got === undefined ? `${path} does not exist` : want === undefined ? `${path} still exists` : `${path} has other content than was written`;
}

export const fileOps: { [K in FileOp['op']]: OpKind<Of<K>> } = {
  'file.write': {
    // Through a temporary file and a rename: a reader never sees half a file.
    lines: (op) => {
      const tmp = `${op.path}.kvmnet-tmp`;
      return [
        shellJoin(['mkdir', '-p', dirname(op.path)]),
        // A file with its own mode is never readable by others, not even before the chmod.
        op.mode ? `(umask 077; printf %s ${shellQuote(op.content)} > ${shellQuote(tmp)})` : `printf %s ${shellQuote(op.content)} > ${shellQuote(tmp)}`,
        ...(op.mode ? [shellJoin(['chmod', op.mode, tmp])] : []),
        shellJoin(['mv', '-f', tmp, op.path]),
      ];
    },
    touches: (op) => [{ kind: 'file', path: op.path }],
    effect: (op, f) => {
      const files = filesOf(f, op.path, true);
      if (files) files[op.path] = op.content;
    },
    inverse: (op, before) => {
      const old = filesOf(before, op.path)?.[op.path];
      return old === undefined ? [{ op: 'file.remove', path: op.path }] : [{ ...op, content: old }];
    },
    check: (op, expected, actual) => checkFile(op.path, expected, actual),
  },
  'file.remove': {
    lines: (op) => [shellJoin(['rm', '-f', op.path]), ...(op.rmdir ? [`${shellJoin(['rmdir', dirname(op.path)])} 2>/dev/null || :`] : [])],
    touches: (op) => [{ kind: 'file', path: op.path }],
    effect: (op, f) => {
      delete filesOf(f, op.path)?.[op.path];
    },
    inverse: (op, before) => {
      const old = filesOf(before, op.path)?.[op.path];
      // kvmnet's hooks are programs; its other files are data.
      return old === undefined ? [] : [{ op: 'file.write', path: op.path, content: old, ...(old.startsWith('#!') ? { mode: '755' } : {}) }];
    },
    check: (op, expected, actual) => checkFile(op.path, expected, actual),
  },
};

const sameRules = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

export const firewallOps: { 'firewall.apply': OpKind<FirewallOp> } = {
  'firewall.apply': {
    // The hook itself rebuilds kvmnet's rules from the rules files: one way to apply them, at run time and at libvirt's events.
    lines: () => [`printf '%s' ${shellQuote(HOOK_SCRIPT)} | sh -s -- - apply`],
    touches: () => [],
    effect: (op, f) => {
      const pf = f.portForwards;
      if (!pf) return;
      const forwards = installedForwards(pf);
      pf.rules = forwards.flatMap((x) => forwardRules(x.spec, op.backend));
      pf.jumpsFirst = forwards.length > 0;
    },
    // Rebuilt again from the files once the rollback has put them back.
    inverse: () => [],
    reapplyAfterRollback: true,
    check: (op, expected, actual) => {
      const want = expected.portForwards;
      const got = actual.portForwards;
      if (!want || !got) return undefined;
      if (!sameRules(want.rules, got.rules))
        return `the firewall has ${got.rules.length} kvmnet rule(s) that differ from the ${want.rules.length} its rules files give`;
      return want.rules.length && !got.jumpsFirst ? 'kvmnet’s rules are not evaluated before libvirt’s' : undefined;
    },
  },
};

/**
 * Every tap that was in the network's bridge is plugged into the new one and checked (master and
 * UP), as libvirtd does when it reconnects; the taps that failed are named, and the step fails.
 */
const reattach = shellTemplate(shellProgram(new URL('./guest-reattach.sh', import.meta.url)));
const reattachLines = (op: GuestOp): string[] =>
  reattach({ NETWORK: op.network, TAPS: op.taps.map((t) => `${t.tap}=${t.guest}`) })
    .trimEnd()
    .split('\n');

export const guestOps: { 'guest.reattach': OpKind<GuestOp> } = {
  'guest.reattach': {
    lines: (op) => (op.taps.length ? reattachLines(op) : []),
    touches: (op) => op.taps.map((t) => ({ kind: 'link' as const, name: t.tap, op: 'master' as const })),
    effect: (op, f) => {
      const br = f.libvirt.available ? f.libvirt.networks[op.network]?.bridge : undefined;
      for (const t of op.taps) {
        const link = f.links[t.tap];
        if (link && br) Object.assign(link, { master: br, up: true });
      }
    },
    // The rollback restarts the network as it was: the taps go back in once it is.
    inverse: () => [],
    reapplyAfterRollback: true,
    check: (op, expected, actual) => {
      for (const t of op.taps) {
        const want = expected.links[t.tap]?.master;
        const got = actual.links[t.tap]?.master;
        if (actual.links[t.tap] && want !== got) return `guest ${t.guest}'s ${t.tap} is in ${got ?? 'no bridge'}, expected ${want}`;
      }
      return undefined;
    },
  },
};
