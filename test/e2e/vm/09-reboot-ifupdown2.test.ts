// persist: auto on an ifupdown2 host (Proxmox VE's network stack; ifupdown2 3.0 unpacked per VM,
// its networking unit runs `ifup -a` at boot), proven by a real reboot: kvmnet writes
// /etc/network/interfaces.d/kvmnet-DEV.ifupdown2 stanzas rendered from the running state, checks
// them with `ifup -a -s` and `ifquery --check` (never `ifreload -a`), and at boot ifupdown2 brings
// back the whole production layout, the VLAN-aware bridge included (reboot-support.ts).
// 1 `--init systemd --manager ifupdown2` host + the lab switch; KVMNET_E2E_VM=0 skips it.
import { describeReboot } from './reboot-support.js';

// ifupdown2 is Python: under software emulation its `ifup -a` at boot takes ~3 min (measured 2m50s,
// the whole reboot 299 s), the other managers' boots 50-305 s at most.
describeReboot('ifupdown2', 'kvy', { bootMs: 600_000 });
