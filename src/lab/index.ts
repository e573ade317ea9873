// `kvmnet lab`: disposable KVM hypervisors (own sshd + libvirtd) in network namespaces on this machine.
export { labUp, type LabOptions } from './up.js';
export { labDown } from './down.js';
export { labStatus, hostCommand, sshCommand, type LabHostStatus } from './status.js';
export { readLabState, labPaths, type LabState, type LabHostState, type LabPaths } from './state.js';
export { DEFAULT_PREFIX, DEFAULT_HOSTS, MAX_HOSTS, subnetForPrefix, validatePrefix } from './names.js';
export { LAB_PACKAGES } from './preflight.js';
