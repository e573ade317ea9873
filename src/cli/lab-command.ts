import { labDown, labPaths, labStatus, labUp } from '../lab/index.js';
import { EXIT, exitCodeForHosts } from './exit-codes.js';
import type { LabDirFlags, LabUpFlags } from './flags.js';
import { err, out } from './output.js';

export async function labUpCommand(flags: LabUpFlags): Promise<number> {
  const state = await labUp(
    {
      dir: flags.dir,
      n: flags.hosts,
      prefix: flags.prefix,
      kernel: flags.kernel,
      guests: flags.guest,
      libvirt: flags.libvirt,
      untaggedMgmt: flags.untaggedMgmt,
      init: flags.init,
      manager: flags.manager,
    },
    (line) => err(line),
  );
  const paths = labPaths(flags.dir);
  out(`lab up: ${state.hosts.length} hosts (${state.hosts.map((h) => `${h.name} ${h.address}`).join(', ')})`);
  if (state.vm) out(`switch: sw ${state.vm.switch.address} (VMs booted kernel ${state.vm.release}; ssh with the lab key, see docs/lab.md)`);
  out(`inventory: ${paths.inventory}`);
  out(`try: kvmnet run playbooks/bridged.yaml -i ${paths.inventory} --check --diff`);
  return EXIT.ok;
}

export async function labDownCommand(flags: LabDirFlags): Promise<number> {
  await labDown({ dir: flags.dir }, (line) => err(line));
  out('lab down: everything the lab made is gone');
  return EXIT.ok;
}

export async function labStatusCommand(flags: LabDirFlags): Promise<number> {
  const hosts = await labStatus({ dir: flags.dir });
  const yes = (b: boolean) => (b ? 'up' : 'DOWN');
  out(['host'.padEnd(6), 'address'.padEnd(16), 'netns'.padEnd(14), 'sshd'.padEnd(5), 'libvirtd'].join(' '));
  for (const h of hosts) out([h.name.padEnd(6), h.address.padEnd(16), (h.netns || '(VM)').padEnd(14), yes(h.sshd).padEnd(5), yes(h.libvirtd)].join(' '));
  // A lab host whose sshd or libvirtd does not answer is an unreachable host.
  return exitCodeForHosts({ failed: false, unreachable: hosts.some((h) => !h.sshd || !h.libvirtd) });
}
