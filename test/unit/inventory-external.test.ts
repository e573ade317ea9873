// Inventory scripts and TOML inventories: what they load is compared with ansible-inventory in the compatibility
// suite (test/fixtures/inventory-compat/fleet/); here, the ways they fail, each with a clear error.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostVars, loadInventory } from '../../src/config/inventory.js';

const dir = mkdtempSync(join(tmpdir(), 'kvmnet-invext-'));

function script(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

function errorsOf(file: string): string[] {
  return loadInventory([file], dir)
    .diagnostics.filter((d) => d.severity === 'error')
    .map((d) => `${d.file}: ${d.message}`);
}

describe('inventory scripts', () => {
  it('runs --list, and --host for each host when there is no _meta; big integers stay exact', () => {
    const file = script(
      'hosts-proto',
      `case "$1" in --list) echo '{"kvm": ["hv1", "hv2"]}';; --host) echo "{\\"who\\": \\"$2\\", \\"n\\": 123456789012345678901}";; esac`,
    );
    const { inventory, diagnostics } = loadInventory([file], dir);
    expect(diagnostics).toEqual([]);
    expect(hostVars(inventory, 'hv2')).toMatchObject({ who: 'hv2', n: 123456789012345678901n });
  });

  it.each([
    ['exits non-zero', 'echo "cannot reach NetBox: 503" >&2; exit 3', /hosts-bad --list exited with status 3: cannot reach NetBox: 503/],
    ['prints no JSON', 'echo "kvm: [hv1]"', /--list printed no valid JSON/],
    ['prints a list', 'echo "[1, 2]"', /must print a JSON object of groups; it printed a list/],
    ['has a bad host list', `echo '{"kvm": {"hosts": "hv1"}}'`, /group 'kvm' has bad data for the host list/],
    ['fails on --host', `case "$1" in --list) echo '{"kvm": ["hv1"]}';; *) exit 1;; esac`, /--host hv1 exited with status 1/],
  ])('%s: an error naming the script', (_title, body, message) => {
    const errors = errorsOf(script('hosts-bad', body));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
  });

  it('is stopped after the timeout', () => {
    process.env['KVMNET_INVENTORY_SCRIPT_TIMEOUT'] = '1';
    const started = Date.now();
    try {
      const errors = errorsOf(script('hosts-slow', 'sleep 120'));
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(errors).toEqual([expect.stringMatching(/hosts-slow --list did not finish within 1 s \(KVMNET_INVENTORY_SCRIPT_TIMEOUT\)/)]);
    } finally {
      delete process.env['KVMNET_INVENTORY_SCRIPT_TIMEOUT'];
    }
  });
});

describe('TOML inventories', () => {
  it.each([
    ['a syntax error, with its line', 'kvm.hosts = { "hv1" = {} }\n[kvm\n', /hosts\.toml: TOML syntax error/],
    ['children that are not a list', '[kvm]\nchildren = "dc1"\n', /group 'kvm': "children" must be a list/],
    ['a plugin configuration', 'plugin = "constructed"\n', /inventory plugin configuration files are not supported/],
  ])('%s', (_title, text, message) => {
    const file = join(dir, 'hosts.toml');
    writeFileSync(file, text);
    const errors = errorsOf(file);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
  });
});
