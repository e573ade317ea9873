// The files kvmnet persisted (networkd, ifupdown): read only when a task persists, when the
// facts are shown (persistence drift) or when a command task's rollback may have to restore them.
import { PERSIST_DIRS } from '../model/persist-kinds.js';
import { NETPLAN_DIR } from '../persist/netplan-files.js';
import { NM_DIR } from '../persist/nm-profiles.js';
import { NM_UNMANAGED_CONF } from '../persist/nm-unmanaged.js';
import type { FactsFragment } from '../tasks/contract.js';

// The files kvmnet persisted. Every content line is printed with a leading '|', so no line of a
// file can look like a marker; the empty line an `echo` leaves after a file that ends in a newline
// tells the parser so. The section is cut out before the markers of the rest are split.
const PERSISTED_FILES = `echo '@@kvmnet:persist@@'
for d in ${PERSIST_DIRS.networkd} ${PERSIST_DIRS.ifupdown}; do if [ -d "$d" ]; then echo "@@kvmnet:dir:$d@@"; fi; done
for f in ${PERSIST_DIRS.networkd}/10-kvmnet-* ${PERSIST_DIRS.networkd}/10-kvmnet-*.network.d/*.conf ${PERSIST_DIRS.ifupdown}/kvmnet-* ${NM_DIR}/kvmnet-*.nmconnection ${NETPLAN_DIR}/90-kvmnet-[0-9]-*.yaml ${NM_UNMANAGED_CONF}; do
  [ -f "$f" ] || continue
  case "$f" in *'
'*) continue;; esac
  printf '@@kvmnet:file:%s@@\\n' "$f"; sed 's/^/|/' "$f"; echo
done
echo '@@kvmnet:persist-end@@'
`;

/** parseFacts cuts this fragment's section out before the markers are split (see cutPersisted). */
export const persistedFacts: FactsFragment = {
  id: 'persisted',
  shell: PERSISTED_FILES,
  parse() {},
};
