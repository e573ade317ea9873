// ensure_nm_unmanaged: devices handed from NetworkManager to kvmnet (the opt-in of issue 27). On a
// device NetworkManager manages, kvmnet refuses a change made behind its back (nm-guard.ts),
// because NetworkManager would undo it. This task says, in the plan, that NetworkManager stops
// managing the devices: at once (`nmcli device set DEV managed no`, runtime state that a reboot
// loses) and from every start on (a kvmnet-owned conf.d file, nm-unmanaged.ts).
// Later tasks of the play plan on facts where the devices are unmanaged, so the guard lets their
// changes through. A task of its own rather than a keyword on the changing task: the devices are
// named, not inferred from whatever a change happens to touch (a port's old master, a bond's
// members), the handover is a change with its own rollback, and `state: absent` gives them back.
import { z } from 'zod';
import type { Facts } from '../model/facts.js';
import { factsAfter, noop, type Change, type Plan } from '../model/plan.js';
import type { Op } from '../ops/types.js';
import { deviceOwners, nmManages } from '../persist/managers.js';
import { NM_UNMANAGED_CONF, unmanagedConf, unmanagedInConf } from '../persist/nm-unmanaged.js';
import { persistedFacts } from '../facts/persisted-files.js';
import { interfaceName, presence } from './common-args.js';
import type { PlannedTaskModule } from './contract.js';

const schema = z.strictObject({
  devices: z.array(interfaceName).min(1).meta({
    description:
      'the devices NetworkManager must leave to kvmnet (they need not exist yet: the file covers them when they appear after a restart of NetworkManager)',
  }),
  state: presence.meta({
    description: 'present: NetworkManager leaves the devices alone, now and after a reboot; absent: the devices kvmnet took are given back to NetworkManager',
  }),
});

export type EnsureNmUnmanagedArgs = z.output<typeof schema>;

const list = (devs: readonly string[]) => devs.join(', ');

function fileChange(facts: Facts, devices: string[]): Change[] {
  const current = facts.persisted?.[NM_UNMANAGED_CONF];
  const content = unmanagedConf(devices);
  if ((current ?? null) === content) return [];
  if (content === null)
    return [
      {
        summary: `NetworkManager manages every device again at its next start (remove ${NM_UNMANAGED_CONF})`,
        ops: [{ op: 'file.remove', path: NM_UNMANAGED_CONF }],
      },
    ];
  return [
    {
      summary: `NetworkManager leaves ${list(devices)} alone after a reboot too (${NM_UNMANAGED_CONF})`,
      ops: [{ op: 'file.write', path: NM_UNMANAGED_CONF, content }],
    },
  ];
}

const runtimeChange = (dev: string, managed: boolean): Change => {
  const op: Op = { op: 'nm.managed', dev, managed };
  return {
    summary: managed
      ? `NetworkManager manages ${dev} again (nmcli device set ${dev} managed yes)`
      : `NetworkManager stops managing ${dev} (nmcli device set ${dev} managed no)`,
    ops: [op],
  };
};

function planUnmanaged(args: EnsureNmUnmanagedArgs, facts: Facts, host: string): Plan {
  const m = facts.managers;
  if (!m?.active.networkmanager) return noop(`NetworkManager does not run on ${host}: it manages none of ${list(args.devices)}`);
  const listed = unmanagedInConf(facts.persisted?.[NM_UNMANAGED_CONF]);
  const changes: Change[] = [];
  if (args.state === 'present') {
    // Runtime first: should nmcli fail, no file claims what did not happen.
    for (const dev of args.devices) if (nmManages(m, dev)) changes.push(runtimeChange(dev, false));
    changes.push(...fileChange(facts, [...new Set([...listed, ...args.devices])].sort()));
  } else {
    // Only what kvmnet took goes back: a device the host's own configuration keeps unmanaged (a
    // management NIC) stays so, whatever the task names.
    const back = args.devices.filter((d) => listed.includes(d));
    changes.push(
      ...fileChange(
        facts,
        listed.filter((d) => !back.includes(d)),
      ),
    );
    for (const dev of back) if (m.nmDevices[dev] && !nmManages(m, dev) && m.nmDevices[dev].state === 'unmanaged') changes.push(runtimeChange(dev, true));
  }
  if (!changes.length) {
    return noop(
      args.state === 'present'
        ? `NetworkManager already leaves ${list(args.devices)} alone, and ${NM_UNMANAGED_CONF} lists them`
        : `NetworkManager was not told by kvmnet to leave ${list(args.devices)} alone`,
    );
  }
  const owners = (f: Facts) =>
    deviceOwners(f.managers!, args.devices)
      .map(([d, o]) => `${d}: ${o}`)
      .join('\n');
  return { changes, diff: { before: owners(facts), after: owners(factsAfter(changes, facts)) } };
}

export const ensureNmUnmanaged: PlannedTaskModule<'ensure_nm_unmanaged', typeof schema> = {
  kind: 'planned',
  type: 'ensure_nm_unmanaged',
  schema,
  defaultName: (args) => `ensure_nm_unmanaged ${Array.isArray(args.devices) ? args.devices.join(',') : String(args.devices)}`,
  plan: planUnmanaged,
  // kvmnet's conf.d file is read with its other files (its content decides what to write, and the rollback restores it).
  facts: persistedFacts,
};
