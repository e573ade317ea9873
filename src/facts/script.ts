// The ONE remote command that gathers a host's facts. Sections are delimited by @@kvmnet:…@@
// markers (virsh's `echo` prints no newline, so markers are matched anywhere, not per line).
//
// libvirt: every virsh process opens its own connection to libvirtd, so all virsh commands run
// in ONE invocation. The names of networks and running guests that it asks about come from
// libvirt's own config and state directories; a network that `net-list` shows but those
// directories missed is picked up by a second invocation (only on unusual setups).
// virsh exits with the status of its LAST command, so whether it reached libvirtd at all is
// told by `uri`: it prints the connection URI only when connected.

import { MANAGERS_SCRIPT } from '../persist/managers.js';
import { shellProgram } from '../shell/program.js';
import type { FactsFragment } from './fragment.js';

/** The facts command with the task types' fragments: their shell before libvirt, their virsh commands in the one invocation. */
export function factsScript(fragments: readonly FactsFragment[]): string {
  const shell = fragments.map((f) => f.shell ?? '').join('');
  const virsh = fragments.map((f) => f.virsh ?? '').join('');
  return coreScript(shell, virsh);
}

/**
 * What a later task needs beyond what the first exec read: only these fragments' shell and their
 * virsh commands (one invocation, asked only when libvirt answered the first time). The core
 * sections are not read again: the in-memory facts, updated by every change, stay authoritative.
 */
export function topUpScript(fragments: readonly FactsFragment[], libvirt: boolean): string {
  const shell = fragments.map((f) => f.shell ?? '').join('');
  const virsh = fragments.map((f) => f.virsh ?? '').join('');
  const ask =
    libvirt && virsh
      ? `if command -v virsh >/dev/null 2>&1; then
cmds='uri'
${virsh}echo '@@kvmnet:virsh@@'
virsh -q "$cmds; echo @@kvmnet:end@@"
fi
`
      : '';
  return `export LC_ALL=C\necho '@@kvmnet:top-up@@'\n${shell}${ask}`;
}

// virsh, the slowest read (it connects to libvirtd and asks one question after the other), runs in
// the background from the start, into a file under /run/kvmnet, while ip and the fragments read
// the rest; its output is printed last, in one piece, as before (~15 ms less per facts exec on a
// lab host). Where that file cannot be made (no /run/kvmnet, not root), it runs at the end.
// The program is src/facts/facts-core.sh; its slot lines take the fragments' code.
const CORE = shellProgram(new URL('./facts-core.sh', import.meta.url));

const coreScript = (fragmentShell: string, fragmentVirsh: string) =>
  CORE.replace('# @@SLOT:FRAGMENT_VIRSH@@\n', () => fragmentVirsh)
    .replace('# @@SLOT:MANAGERS@@\n', () => MANAGERS_SCRIPT)
    .replace('# @@SLOT:FRAGMENT_SHELL@@\n', () => fragmentShell);
