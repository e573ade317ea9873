// persist: auto on a Debian ifupdown host (ifupdown, ifenslave, vlan, bridge-utils unpacked per
// VM), proven by a real reboot: reboot-support.ts has the layout and every assertion.
// 1 `--init systemd --manager ifupdown` host + the lab switch; KVMNET_E2E_VM=0 skips it.
import { describeReboot } from './reboot-support.js';

describeReboot('ifupdown', 'kvu');
