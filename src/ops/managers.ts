// Telling the host's network manager about the files kvmnet wrote: NetworkManager loads (and
// activates) kvmnet's keyfile profiles, netplan generates its backend's files for the next boot.
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
    // NetworkManager now runs the device with the profile: a later task of the run only loads its
    // update. Activating it again would make NetworkManager add the profile's policy rules a second
    // time next to those kvmnet just added (measured: rule 1210 twice on br10).
    effect: (op, f) => {
      if (f.managers) f.managers.nmDevices[op.dev] = { type: f.managers.nmDevices[op.dev]?.type ?? '', state: 'connected', connection: op.profile };
    },
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
};
