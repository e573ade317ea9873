// The libvirt version of the network daemon: ensure_libvirt_net's facts fragment, also read with
// ensure_port_forward's (which firewall backend libvirt uses depends on it).
import type { FactsFragment } from '../facts/fragment.js';

/**
 * Which libvirt runs the networks decides what net-update can change live. Asked of the daemon's
 * binary, not of virsh: `virsh version` makes a fresh libvirtd probe qemu (8 s on a lab host).
 * The modular daemon (virtnetworkd) when its socket is there, else the monolithic libvirtd.
 * Starting the daemon's binary costs ~15 ms on every facts exec (more than the rest of the
 * script's reads of a host with nothing to change), so its answer is kept in /run/kvmnet (gone at
 * reboot) and used while it is newer than the binary, the daemon's pid file and its socket (a
 * restarted or upgraded daemon asks again). Shell built-ins only when the answer is kept.
 */
export const libvirtVersionFacts: FactsFragment = {
  id: 'libvirt-version',
  shell: `echo '@@kvmnet:libvirt-version@@'
if [ -S /run/libvirt/virtnetworkd-sock ] && [ -x /usr/sbin/virtnetworkd ]; then lv_d=virtnetworkd lv_s=/run/libvirt/virtnetworkd-sock
elif [ -x /usr/sbin/libvirtd ]; then lv_d=libvirtd lv_s=/run/libvirt/libvirt-sock
else lv_d=; fi
if [ -n "$lv_d" ]; then
  lv_c=/run/kvmnet/$lv_d.version
  # shellcheck disable=SC3013 # test's -nt is not POSIX, but every Linux /bin/sh has it (dash, bash, busybox)
  if [ -s "$lv_c" ] && [ "$lv_c" -nt /usr/sbin/$lv_d ] && { [ ! -e /run/$lv_d.pid ] || [ "$lv_c" -nt /run/$lv_d.pid ]; } && { [ ! -e "$lv_s" ] || [ "$lv_c" -nt "$lv_s" ]; }; then
    while IFS= read -r lv_l; do printf '%s\\n' "$lv_l"; done < "$lv_c"
  else
    lv_v=$(/usr/sbin/$lv_d --version 2>/dev/null)
    printf '%s\\n' "$lv_v"
    case "$lv_v" in *'(libvirt)'*) { [ -d /run/kvmnet ] || mkdir -p /run/kvmnet; } 2>/dev/null && printf '%s\\n' "$lv_v" > "$lv_c.$$" 2>/dev/null && mv -f "$lv_c.$$" "$lv_c" 2>/dev/null;; esac
  fi
fi
`,
  parse(sections, facts) {
    const text = sections.find((s) => s.key === 'libvirt-version')?.body ?? '';
    const m = /\(libvirt\)\s+([0-9]+\.[0-9]+(?:\.[0-9]+)?)/.exec(text);
    if (m && facts.libvirt.available) facts.libvirt.version = m[1];
  },
};
