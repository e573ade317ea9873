// Telling the host's network manager about the files kvmnet wrote: NetworkManager loads (and
// activates) kvmnet's keyfile profiles, netplan generates its backend's files for the next boot,
// ifupdown2 checks its stanzas against what runs.
import { shellJoin } from '../connection/quote.js';
import type { Facts } from '../model/facts.js';
import { nmManages } from '../persist/managers.js';
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
  'nm.managed': {
    // Runtime state: NetworkManager 1.42 keeps it across its own restart (under /run), not across a
    // reboot (the conf.d file of ensure_nm_unmanaged is what lasts). Taking a device back may
    // re-configure it at once.
    lines: (op) => [shellJoin(['nmcli', 'device', 'set', op.dev, 'managed', op.managed ? 'yes' : 'no'])],
    touches: (op) => [{ kind: 'link', name: op.dev, op: 'settings' }],
    effect: (op, f) => {
      const d = f.managers?.nmDevices[op.dev];
      // What NetworkManager will make of a device it takes back is its own business: without a profile, disconnected.
      if (d) Object.assign(d, op.managed ? { state: 'disconnected', connection: undefined } : { state: 'unmanaged', connection: undefined });
    },
    inverse: (op, before) => (before.managers?.nmDevices[op.dev] ? [{ op: 'nm.managed', dev: op.dev, managed: nmManages(before.managers, op.dev) }] : []),
    check: (op, expected, actual) => checkManaged(op.dev, expected, actual),
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
    // Both wait for ifupdown2's lock: a link kvmnet just made starts udev's hotplug ifup, and while
    // it runs ifup/ifquery refuse with "Another instance of this program is already running"
    // (measured on the VM lab: the check after creating a bond failed so, a re-run passed). The
    // report of ifquery --check (stdout) goes to stderr: a failure says which stanza line differs.
    // `ifup -s` also fails a bridge's `mtu` (address.py _check_mtu_config: "bridge inherits mtu from
    // its ports"), yet without one ifupdown2 sets every bridge to 1500 (_process_mtu_config_mtu_none),
    // below a VXLAN port's 1450, and libvirt gives guests' taps the bridge's MTU. Proxmox VE's own
    // VXLAN bridges carry `mtu 1450`: that one complaint alone does not fail the check.
    lines: (op) => [waitingForLock(['ifup', '-a', '-s'], BRIDGE_MTU_WARNING), ...(op.devs.length ? [waitingForLock(['ifquery', '--check', ...op.devs])] : [])],
    touches: () => [],
    effect: () => {},
    inverse: () => [],
    check: () => undefined,
  },
};

const BRIDGE_MTU_WARNING = ': bridge inherits mtu from its ports. There is no need to assign mtu on a bridge';

/**
 * ARGV retried for up to a minute while another ifupdown2 holds its lock; its output on stderr when
 * it fails. With TOLERATED, a failure whose every output line contains it counts as success.
 */
function waitingForLock(argv: string[], tolerated?: string): string {
  const busy = "*'Another instance of this program is already running'*";
  const pass = tolerated ? ` || ! printf '%s\\n' "$out" | grep -qvF -e ${shellJoin([tolerated])}` : '';
  return `i=0; rc=1; while [ "$i" -le 60 ]; do if out=$(${shellJoin(argv)} 2>&1)${pass}; then rc=0; break; fi; case $out in ${busy}) i=$((i + 1)); sleep 1 ;; *) break ;; esac; done; [ "$rc" = 0 ] || { printf '%s\\n' "$out" >&2; false; }`;
}

/** Whether NetworkManager manages DEV as the step meant it to (read back from `nmcli device status`). */
function checkManaged(dev: string, expected: Facts, actual: Facts): string | undefined {
  // Only a read-back that lists the device can tell.
  if (!actual.managers?.active.networkmanager || !actual.managers.nmDevices[dev]) return undefined;
  const want = nmManages(expected.managers, dev);
  if (nmManages(actual.managers, dev) === want) return undefined;
  return want
    ? `NetworkManager does not manage ${dev} (${actual.managers.nmDevices[dev].state})`
    : `NetworkManager still manages ${dev} (${actual.managers.nmDevices[dev].state})`;
}
