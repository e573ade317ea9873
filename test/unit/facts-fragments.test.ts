// The facts exec is assembled from the task types' fragments and stays ONE exec with ONE virsh
// invocation; each fragment reads its own sections back. Proven with a fragment of the kind a
// bond type declares (a shell section) plus a virsh command, against output captured on a lab host.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseFacts } from '../../src/facts/parse.js';
import { factsScript } from '../../src/facts/script.js';
import type { Facts } from '../../src/model/facts.js';
import { HOST_FACTS_SCRIPT } from '../../src/run/host-facts.js';
import type { FactsFragment } from '../../src/facts/fragment.js';
import { ALL_FRAGMENTS } from '../../src/facts/needs.js';

const captured = readFileSync(new URL('../fixtures/facts/converged.stdout', import.meta.url), 'utf8');

const bondsFragment: FactsFragment = {
  id: 'test-bonding',
  shell: "echo '@@kvmnet:bonding@@'; cat /proc/net/bonding/* 2>/dev/null\n",
  virsh: 'cmds="$cmds; echo @@kvmnet:nodeinfo@@; nodeinfo"\n',
  parse(sections, facts) {
    const text = sections.find((s) => s.key === 'bonding')?.body ?? '';
    (facts as Facts & { bondingText?: string }).bondingText = text.trim();
  },
};

describe('facts fragments', () => {
  it('go into the one script: shell before libvirt, virsh commands into the one invocation', () => {
    const script = factsScript([bondsFragment]);
    expect(script.indexOf('@@kvmnet:bonding@@')).toBeLessThan(script.indexOf("echo '@@kvmnet:virsh@@'"));
    expect(script.indexOf('nodeinfo')).toBeLessThan(script.indexOf('virsh -q "$cmds'));
    expectOneVirshPerRun(script);
  });

  it('the registered fragments only add their sections: without them the script is the core one, unchanged', () => {
    let script = HOST_FACTS_SCRIPT;
    for (const f of ALL_FRAGMENTS) {
      if (f.shell) script = script.replace(f.shell, '');
      if (f.virsh) script = script.replace(f.virsh, '');
    }
    expect(script).toBe(factsScript([]));
  });

  it("the registry's fragments (libvirt version, DHCP reservations and leases, port forwards, bonds, bridge VLANs) keep it ONE virsh invocation", () => {
    expect(HOST_FACTS_SCRIPT).not.toBe(factsScript([]));
    expectOneVirshPerRun(HOST_FACTS_SCRIPT);
    expect(HOST_FACTS_SCRIPT.indexOf('net-dhcp-leases')).toBeLessThan(HOST_FACTS_SCRIPT.indexOf('virsh -q "$cmds'));
    expect(HOST_FACTS_SCRIPT.indexOf('@@kvmnet:pf-rules@@')).toBeLessThan(HOST_FACTS_SCRIPT.indexOf("echo '@@kvmnet:virsh@@'"));
    expect(HOST_FACTS_SCRIPT.indexOf('@@kvmnet:libvirt-version@@')).toBeLessThan(HOST_FACTS_SCRIPT.indexOf("echo '@@kvmnet:virsh@@'"));
  });

  it('each fragment parses its own section; the core facts are the same as without it', () => {
    const output = captured.replace('@@kvmnet:virsh@@', '@@kvmnet:bonding@@\nEthernet Channel Bonding Driver: v5.10\n@@kvmnet:virsh@@');
    const withFragment = parseFacts(output, '', [bondsFragment]).facts as Facts & { bondingText?: string };
    expect(withFragment.bondingText).toBe('Ethernet Channel Bonding Driver: v5.10');
    const { bondingText: _, ...core } = withFragment;
    expect(core).toEqual(parseFacts(captured, '').facts);
  });
});

/**
 * ONE virsh invocation per run: started in the background at the top (its output printed last),
 * or, where its output file cannot be made, at the end. The two are exclusive branches.
 */
function expectOneVirshPerRun(script: string): void {
  const calls = [...script.matchAll(/virsh -q "\$cmds; echo @@kvmnet:end@@"(.*)$/gm)].map((m) => m[1]);
  expect(calls).toEqual([' > "$kv_out" & kv_pid=$!', '']);
  expect(script).toMatch(
    /if \[ -n "\$kv_out" \]; then\n {2}wait "\$kv_pid"; kv_rc=\$\?\n {2}cat "\$kv_out"; rm -f "\$kv_out"\n {2}echo "@@kvmnet:virsh-exit:\$kv_rc@@"\nelse\n {2}virsh -q /,
  );
}
