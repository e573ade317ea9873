// Runs FACTS_SCRIPT on a host (one exec) and parses it.
import type { Connection } from '../connection/types.js';
import { shellQuote } from '../connection/quote.js';
import { RemoteCommandError } from '../errors.js';
import type { Facts } from '../model/facts.js';
import { parseFacts, parseLibvirtDetails, splitSections } from './parse.js';
import { FACTS_SCRIPT } from './script.js';

const SAFE_NAME = /^[A-Za-z0-9_.+-]+$/;

export async function gatherFacts(conn: Connection, host: string): Promise<Facts> {
  const res = await conn.exec(FACTS_SCRIPT);
  if (res.exitCode !== 0) {
    throw new RemoteCommandError(`gathering facts on ${host} failed (exit ${res.exitCode}): ${res.stderr.trim().split('\n')[0] ?? ''}`, res.exitCode, res.stderr);
  }
  let parsed;
  try {
    parsed = parseFacts(res.stdout, res.stderr);
  } catch (err) {
    throw new RemoteCommandError(`cannot read the facts of ${host}: ${(err as Error).message}`, res.exitCode, res.stderr);
  }
  const { facts, missingNetworks } = parsed;
  const fetchable = missingNetworks.filter((n) => SAFE_NAME.test(n));
  if (fetchable.length && facts.libvirt.available) {
    // Only when libvirt keeps its configs somewhere unusual: a second virsh invocation.
    const cmds = fetchable.map((n) => `echo @@kvmnet:net:${n}@@; net-info ${n}; echo @@kvmnet:xml@@; net-dumpxml --inactive ${n}`).join('; ');
    const more = await conn.exec(`LC_ALL=C virsh -q ${shellQuote(cmds)}`);
    Object.assign(facts.libvirt.networks, parseLibvirtDetails(splitSections(more.stdout)).networks);
  }
  return facts;
}
