// Telling the host's network manager about the files kvmnet wrote: NetworkManager loads (and
// activates) kvmnet's keyfile profiles, netplan generates its backend's files for the next boot,
// ifupdown2 checks its stanzas against what runs.
import { shellJoin } from '../connection/quote.js';
import type { ManagerOp, OpKind } from './types.js';

type Of<K extends ManagerOp['op']> = Extract<ManagerOp, { op: K }>;

// Nothing to compare in the facts: what they change is the manager's own state, which the files
// (checked by their own operations) and the next boot decide.
export const managerOps: { [K in ManagerOp['op']]: OpKind<Of<K>> } = {
  'nm.load': {
    lines: (op) => [...(op.paths.length ? [shellJoin(['nmcli', 'connection', 'load', ...op.paths])] : []), ...(op.reload ? ['nmcli connection reload'] : [])],
    touches: () => [],
    effect: () => {},
    // Once the rollback has put the files back, NetworkManager reads them again.
    inverse: () => [],
    reapplyAfterRollback: true,
    check: () => undefined,
  },
  'nm.up': {
    // An activation re-configures the device: said in touches, so the SSH-path guard sees it.
    lines: (op) => [shellJoin(['nmcli', '-w', '60', 'connection', 'up', 'id', op.profile])],
    touches: (op) => [{ kind: 'link', name: op.dev, op: 'settings' }],
    effect: () => {},
    inverse: () => [],
    check: () => undefined,
  },
  'netplan.generate': {
    lines: () => ['netplan generate'],
    touches: () => [],
    effect: () => {},
    // Generated again from the files the rollback put back.
    inverse: () => [],
    reapplyAfterRollback: true,
    check: () => undefined,
  },
  'ifupdown2.check': {
    // Read-only: `ifup -a -s` runs ifupdown2's parser and its addons' syntax checks over every
    // stanza (measured: `bond-miimon abc` fails it; `ifquery --check` passes it), then `ifquery
    // --check` compares the devices' stanzas with the kernel (measured: `mtu 1400` on a 1500 link
    // fails it). Exit 1 fails the task: the host stops there, as at any failed change.
    lines: (op) => ['ifup -a -s', ...(op.devs.length ? [shellJoin(['ifquery', '--check', ...op.devs])] : [])],
    touches: () => [],
    effect: () => {},
    inverse: () => [],
    check: () => undefined,
  },
};
