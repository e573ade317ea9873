// The text of every file kvmnet persists, and the few facts it reads back out of them. Pure.
//
// networkd (systemd.netdev(5), systemd.network(5)):
//   10-kvmnet-BR.netdev                  [NetDev] Kind=bridge (+ MTUBytes), [Bridge] STP, ForwardDelaySec
//   10-kvmnet-BR.network                 [Match] Name=BR, [Network] ConfigureWithoutCarrier=yes
//   10-kvmnet-PORT.network               [Match] Name=PORT, [Network] Bridge=BR
//   10-kvmnet-DEV.network.d/address-A.conf   [Network] Address=A/P (drop-ins add up)
// ifupdown with bridge-utils (interfaces(5), bridge-utils-interfaces(5)):
//   kvmnet-BR        auto BR / iface BR inet manual / bridge_ports … / bridge_stp / bridge_fd / mtu
//   kvmnet-DEV__A    iface DEV inet[6] static / address A/P (several stanzas per interface are allowed)

import { encodeIfupdownName } from './paths.js';

export interface BridgeSettings {
  name: string;
  stp?: boolean;
  forwardDelay?: number;
  mtu?: number;
  up: boolean;
}

const HEADER = 'Written by kvmnet; changes made here are overwritten on its next run.';

const lines = (...ls: Array<string | false | undefined>) => `${ls.filter((l): l is string => typeof l === 'string').join('\n')}\n`;

export function networkdBridgeNetdev(b: BridgeSettings): string {
  const bridgeSection = b.stp !== undefined || b.forwardDelay !== undefined;
  return lines(
    `# ${HEADER}`,
    `# ensure_bridge ${b.name}`,
    '[NetDev]',
    `Name=${b.name}`,
    'Kind=bridge',
    b.mtu !== undefined && `MTUBytes=${b.mtu}`,
    bridgeSection && '',
    bridgeSection && '[Bridge]',
    b.stp !== undefined && `STP=${b.stp ? 'yes' : 'no'}`,
    b.forwardDelay !== undefined && `ForwardDelaySec=${b.forwardDelay}`,
  );
}

export function networkdBridgeNetwork(b: BridgeSettings): string {
  return lines(
    `# ${HEADER}`,
    `# ensure_bridge ${b.name}; its addresses (ensure_ip) are drop-ins in 10-kvmnet-${b.name}.network.d/`,
    '[Match]',
    `Name=${b.name}`,
    '',
    // `ip link add … ; ip link set … down` leaves the bridge down; networkd brings links up by default.
    !b.up && '[Link]',
    !b.up && 'ActivationPolicy=down',
    !b.up && '',
    '[Network]',
    // `ip address add` works on a bridge without carrier (no port up yet): so must networkd.
    'ConfigureWithoutCarrier=yes',
  );
}

export function networkdPortNetwork(iface: string, bridge: string): string {
  return lines(`# ${HEADER}`, `# ensure_port ${iface} -> ${bridge}`, '[Match]', `Name=${iface}`, '', '[Network]', `Bridge=${bridge}`);
}

export function networkdAddress(dev: string, cidr: string): string {
  return lines(`# ${HEADER}`, `# ensure_ip ${cidr} on ${dev}`, '[Network]', `Address=${cidr}`);
}

export function ifupdownBridge(b: BridgeSettings, ports: readonly string[]): string {
  return lines(
    `# ${HEADER}`,
    `# ensure_bridge ${b.name}, with the ports of ensure_port; addresses (ensure_ip) are in kvmnet-${encodeIfupdownName(b.name)}__ADDRESS files`,
    `auto ${b.name}`,
    `iface ${b.name} inet manual`,
    // bridge-utils' hook does nothing without bridge_ports: `none` is how to say "a bridge, no ports yet".
    `    bridge_ports ${ports.length ? ports.join(' ') : 'none'}`,
    b.stp !== undefined && `    bridge_stp ${b.stp ? 'on' : 'off'}`,
    b.forwardDelay !== undefined && `    bridge_fd ${b.forwardDelay}`,
    b.mtu !== undefined && `    mtu ${b.mtu}`,
    // bridge-utils always sets the bridge up; `up: false` takes it down again once configured.
    !b.up && `    post-up ip link set dev ${b.name} down`,
  );
}

export function ifupdownAddress(dev: string, family: 4 | 6, cidr: string): string {
  return lines(`# ${HEADER}`, `# ensure_ip ${cidr} on ${dev}`, `iface ${dev} ${family === 6 ? 'inet6' : 'inet'} static`, `    address ${cidr}`);
}

/** The ports listed in a kvmnet ifupdown bridge file (`bridge_ports none` → none). */
export function ifupdownPorts(content: string): string[] {
  const m = /^[ \t]*bridge_ports[ \t]+(.*)$/m.exec(content);
  const words = m ? m[1]!.trim().split(/\s+/).filter(Boolean) : [];
  return words.length === 1 && words[0] === 'none' ? [] : words;
}

/** Replaces the ports of a kvmnet ifupdown bridge file, leaving every other line as it is. */
export function withIfupdownPorts(content: string, ports: readonly string[]): string {
  const line = `    bridge_ports ${ports.length ? ports.join(' ') : 'none'}`;
  return /^[ \t]*bridge_ports[ \t].*$/m.test(content)
    ? content.replace(/^[ \t]*bridge_ports[ \t].*$/m, line)
    : content.replace(/^(iface [^\n]*)$/m, `$1\n${line}`);
}

/** `key=value` of the first such line in an INI-style networkd file. */
export function iniValue(content: string, key: string): string | undefined {
  const m = new RegExp(`^[ \\t]*${key}[ \\t]*=[ \\t]*(.*?)[ \\t]*$`, 'm').exec(content);
  return m ? m[1] : undefined;
}

/** Every `key=value` of that key, in order (Address= may repeat). */
export function iniValues(content: string, key: string): string[] {
  return [...content.matchAll(new RegExp(`^[ \\t]*${key}[ \\t]*=[ \\t]*(.*?)[ \\t]*$`, 'gm'))].map((m) => m[1]!);
}

export interface IfupdownStanza {
  iface: string;
  family: string;
  method: string;
  options: Array<[string, string]>;
}

/** The `iface` stanzas of an ifupdown file (enough to read back what kvmnet wrote). */
export function ifupdownStanzas(content: string): IfupdownStanza[] {
  const out: IfupdownStanza[] = [];
  for (const raw of content.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const words = line.split(/\s+/);
    if (words[0] === 'iface' && words.length >= 4) out.push({ iface: words[1]!, family: words[2]!, method: words[3]!, options: [] });
    else if (['auto', 'allow-auto', 'allow-hotplug', 'source', 'source-directory', 'mapping', 'rename'].includes(words[0]!)) continue;
    else out[out.length - 1]?.options.push([words[0]!, words.slice(1).join(' ')]);
  }
  return out;
}
