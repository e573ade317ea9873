// The persistence formats and where their files live: shared by the loader (the play keyword),
// the facts exec (which files to read back) and the persistence layer.
// `auto`: the host's own manager (src/persist/managers.ts hostManager), decided per host from its facts.
// `networkmanager`: keyfile profiles rendered from the running state (src/persist/nm-profiles.ts),
// not by the task modules: PersistFormat is what those render.
// `netplan` and `ifupdown2` likewise (src/persist/netplan-files.ts, ifupdown2-files.ts).
export type PersistKind = 'networkd' | 'ifupdown' | 'networkmanager' | 'netplan' | 'ifupdown2' | 'auto' | 'none';
export type PersistFormat = Exclude<PersistKind, 'none' | 'auto' | 'networkmanager' | 'netplan' | 'ifupdown2'>;
export const PERSIST_KINDS = ['networkd', 'ifupdown', 'networkmanager', 'netplan', 'ifupdown2', 'auto', 'none'] as const;

export const NETWORKD_DIR = '/etc/systemd/network';
export const IFUPDOWN_DIR = '/etc/network/interfaces.d';
export const PERSIST_DIRS: Record<PersistFormat, string> = { networkd: NETWORKD_DIR, ifupdown: IFUPDOWN_DIR };
