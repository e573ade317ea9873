// A piece of the ONE facts exec: the facts layer's own type, which task modules implement
// (src/tasks/contract.ts declares which fragments a type needs).
import type { Facts } from '../model/facts.js';

/**
 * A piece of the ONE facts exec. `shell` runs before libvirt is asked (print a
 * `@@kvmnet:KEY@@` marker before the output); `virsh` is shell that appends commands to `$cmds`,
 * the single virsh invocation. `parse` reads the sections back into the facts (pure).
 * A fragment with neither costs the host nothing (it reads core sections) and is always read.
 */
export interface FactsFragment {
  /** Names the fragment: which were read (Facts.gathered), `kvmnet facts --only`, the bench. */
  id: string;
  /** Fragments whose sections this one's parser reads too: always gathered in the same exec. */
  with?: readonly FactsFragment[];
  shell?: string;
  virsh?: string;
  parse(sections: ReadonlyArray<{ key: string; body: string }>, facts: Facts): void;
}
