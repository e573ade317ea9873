// persist: auto on a NetworkManager host (NetworkManager 1.42 unpacked per VM), proven by a real
// reboot: kvmnet writes keyfile profiles rendered from the running state and `nmcli connection
// load`s them; after the reboot NetworkManager alone brings the layout back (reboot-support.ts).
// Before that, a runtime-only change (persist: none) of a NIC NetworkManager manages is refused.
// 1 `--init systemd --manager networkmanager` host + the lab switch; KVMNET_E2E_VM=0 skips it.
import { describeReboot } from './reboot-support.js';

describeReboot('networkmanager', 'kvn', { vxlanRemotes: 1 });
