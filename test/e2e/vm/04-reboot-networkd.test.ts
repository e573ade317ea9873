// persist: auto on a systemd-networkd host, proven by a real reboot: reboot-support.ts has the
// layout and every assertion. 1 `--init systemd --manager networkd` host + the lab switch;
// KVMNET_E2E_VM=0 skips it.
import { describeReboot } from './reboot-support.js';

describeReboot('networkd', 'kvr');
