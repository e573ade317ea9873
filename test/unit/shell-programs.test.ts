// The one way values get into kvmnet's shell programs (src/shell/program.ts), and programs that
// name kvmnet's constants literally (the hook is compared as installed) agree with them.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellTemplate } from '../../src/shell/program.js';
import {
  DNAT_CHAIN,
  FWD_CHAIN,
  HOOK_SCRIPT,
  LIBVIRT_NFT_FORWARD,
  LIBVIRT_NFT_TABLE,
  NFT_CHAIN,
  NFT_TABLE,
  RULES_DIR,
} from '../../src/tasks/port-forward-rules.js';

describe('shellTemplate', () => {
  const fill = shellTemplate(
    '# shellcheck disable=SC2043 # a directive is not sent\nfor w in @@WORDS@@; do printf "<%s>" "$w"; done; printf "<%s>" @@ONE@@ @@N@@x\n',
  );
  it('puts each value in as exactly one quoted word (a list as one word each), directives left out', () => {
    const script = fill({ WORDS: ["it's", 'a b', '$HOME', ''], ONE: '`id`;\n*', N: 7 });
    expect(script).not.toContain('shellcheck');
    expect(execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8' })).toBe("<it's><a b><$HOME><><`id`;\n*><7x>");
  });
  it('refuses a missing value and a value without a placeholder', () => {
    expect(() => fill({ WORDS: [], ONE: 'x' })).toThrow(/@@N@@/);
    expect(() => fill({ WORDS: [], ONE: 'x', N: 1, OTHER: 'y' })).toThrow(/@@OTHER@@/);
  });
  it("leaves kvmnet's lower-case output markers alone", () => {
    expect(shellTemplate("echo '@@kvmnet:lock@@ok' @@V@@")({ V: 'a' })).toBe("echo '@@kvmnet:lock@@ok' a");
  });
});

it('the port-forward hook names the rules directory, chains and tables kvmnet plans with', () => {
  expect(HOOK_SCRIPT).toContain(`\nD=${RULES_DIR}\n`);
  for (const chain of [DNAT_CHAIN, FWD_CHAIN]) expect(HOOK_SCRIPT).toContain(`echo ':${chain} - [0:0]'`);
  expect(HOOK_SCRIPT).toContain(`\nL="ip ${LIBVIRT_NFT_TABLE} ${LIBVIRT_NFT_FORWARD}"\n`);
  expect(HOOK_SCRIPT).toContain(`echo 'add chain ip ${NFT_TABLE} ${NFT_CHAIN} { type nat hook prerouting`);
});
