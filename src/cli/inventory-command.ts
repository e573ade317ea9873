// `kvmnet inventory`: the inventory as kvmnet sees it, in ansible-inventory's shapes and JSON formatting.
import { ansibleJson, graphLines, hostView, listView } from '../config/inventory-views.js';
import { UsageError } from '../errors.js';
import { EXIT } from './exit-codes.js';
import type { InventoryFlags } from './flags.js';
import { loadInputs, printWarnings } from './load.js';
import { err, out } from './output.js';

/** main.ts has checked that exactly one of --list, --graph and --host is given. */
export async function inventoryCommand(flags: InventoryFlags): Promise<number> {
  const { inventory, warnings } = loadInputs({ inventory: flags.inventory });
  printWarnings(warnings, err);
  if (flags.host !== undefined) {
    if (!inventory.hosts.has(flags.host)) throw new UsageError(`no host named '${flags.host}' in the inventory`);
    out(ansibleJson(hostView(inventory, flags.host)));
  } else if (flags.list) {
    out(ansibleJson(listView(inventory, { export: flags.export === true })));
  } else {
    graphLines(inventory).forEach((l) => out(l));
  }
  return EXIT.ok;
}
