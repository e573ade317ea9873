// Builds Facts from the per-command outputs captured on real lab hosts (test/fixtures/hosts/).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAddrs, parseLinks, parseRoutes } from '../../../src/facts/parse-ip.js';
import { networkFromSections, parseNetList } from '../../../src/facts/parse-virsh.js';
import { firstErrorLine } from '../../../src/facts/parse.js';
import type { Facts } from '../../../src/model/facts.js';

const root = join(import.meta.dirname, '../../fixtures/hosts');

export function hostFixture(state: 'fresh' | 'bridged' | 'nat' | 'no-libvirtd'): Facts {
  const dir = join(root, state);
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  const addrs = parseAddrs(read('ip-addr.json'));
  const [client, , server, port] = read('ssh-connection.txt').trim().split(' ');
  let libvirt: Facts['libvirt'];
  if (existsSync(join(dir, 'virsh-net-list.exit.txt'))) {
    libvirt = { available: false, reason: firstErrorLine(read('virsh-net-list.stderr.txt'))! };
  } else {
    const networks: Record<string, ReturnType<typeof networkFromSections>> = {};
    for (const row of parseNetList(read('virsh-net-list.txt'))) {
      networks[row.name] = networkFromSections(row.name, read(`virsh-net-info-${row.name}.txt`), read(`virsh-net-dumpxml-inactive-${row.name}.xml`));
    }
    libvirt = { available: true, networks, guests: [] };
  }
  return {
    hostname: state,
    links: parseLinks(read('ip-link.json')),
    addrs,
    routes: [...parseRoutes(read('ip-route.json'), 4), ...parseRoutes(read('ip-route6.json'), 6)],
    libvirt,
    session: { clientAddress: client!, serverAddress: server!, serverPort: Number(port), dev: addrs.find((a) => a.address === server)?.dev },
  };
}
