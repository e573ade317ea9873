// `kvmnet lab`: disposable KVM hypervisors on this machine. Each host is a network namespace
// (mgmt0 on the lab bridge, spare eth1/eth2) with private mount and UTS namespaces held open by
// a `sleep` process, its own sshd and its own libvirtd. State lives in DIR/lab.json.
//
// With `--kernel vm` the hosts (and a lab switch) are QEMU VMs with their own kernel instead (vm-up.ts).
//
// Tests can look at a namespace host without going through SSH:
//   ip -n <host.netns> -j link show                      (network only)
//   [...hostCommand(state, 'hv1'), 'virsh', '-q', 'net-list', '--all']   (the host's own libvirtd)
export { labUp, type LabOptions, type LabKernel } from './up.js';
export { labVmLink } from './vm-up.js';
export { DEFAULT_VM_HOSTS, MAX_VM_HOSTS, MGMT_VLAN, TRUNK_MAX_VLAN, VM_HOST_NICS, hostBondAddress, switchAddress, type VmHostNic } from './vm-names.js';
export { VM_PACKAGES } from './vm-boot.js';
export { labDown } from './down.js';
export { labStatus, hostCommand, sshCommand, type LabHostStatus } from './status.js';
export { readLabState, labPaths, type LabState, type LabHostState, type LabPaths, type LabVmState } from './state.js';
export { DEFAULT_PREFIX, DEFAULT_HOSTS, MAX_HOSTS, subnetForPrefix, validatePrefix, type LabSubnet } from './names.js';
export { LAB_PACKAGES } from './preflight.js';
