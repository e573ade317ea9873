// The devices handed to kvmnet (ensure_nm_unmanaged), as NetworkManager reads them at start:
// ONE kvmnet-owned conf.d file. `unmanaged-devices+=` APPENDS to what NetworkManager.conf and
// earlier conf.d files list (NetworkManager.conf(5): a list-valued key takes `+=`); a plain
// `unmanaged-devices=` would replace the host's own list (on the lab hosts: mgmt0) and hand
// those devices to NetworkManager. conf.d files are read in name order and a later plain `=`
// replaces the list again (the lab's own file is kvmlab.conf), so kvmnet's sorts last: `zz-`. Pure.
export const NM_UNMANAGED_CONF = '/etc/NetworkManager/conf.d/zz-kvmnet-unmanaged.conf';

const HEADER = '# kvmnet: devices handed to kvmnet (ensure_nm_unmanaged). NetworkManager leaves them alone, also after a reboot.\n';

/** The devices the file lists (`interface-name:` specs of its `unmanaged-devices+=` line); [] for no file. */
export function unmanagedInConf(content: string | undefined): string[] {
  if (content === undefined) return [];
  const line = content.split('\n').find((l) => l.startsWith('unmanaged-devices+='));
  if (!line) return [];
  return line
    .slice('unmanaged-devices+='.length)
    .split(';')
    .filter((s) => s.startsWith('interface-name:'))
    .map((s) => s.slice('interface-name:'.length));
}

/** The file listing DEVICES (sorted), or null when none is left (the file is removed). */
export function unmanagedConf(devices: readonly string[]): string | null {
  if (!devices.length) return null;
  const list = [...new Set(devices)].sort().map((d) => `interface-name:${d}`);
  return `${HEADER}[keyfile]\nunmanaged-devices+=${list.join(';')}\n`;
}
