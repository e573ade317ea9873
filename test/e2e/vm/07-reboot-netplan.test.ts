// persist: auto on a netplan host (netplan.io 0.106 unpacked per VM, rendering for networkd),
// proven by a real reboot: kvmnet writes /etc/netplan/90-kvmnet-DEV.yaml files rendered from the
// running state and runs `netplan generate`; at boot netplan's generator feeds networkd
// (reboot-support.ts). The layout without the VLAN-aware bridge: netplan 0.106 cannot say it.
// 1 `--init systemd --manager netplan` host + the lab switch; KVMNET_E2E_VM=0 skips it.
import { describeReboot } from './reboot-support.js';

describeReboot('netplan', 'kvp', { vlanAware: false, vxlanRemotes: 1 });
