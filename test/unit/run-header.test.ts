// The header of `--output json` (src/report/run-header.ts, src/cli/shard-select.ts): hashes that
// are equal exactly when the inputs are.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildHeader, chooseShard } from '../../src/cli/shard-select.js';
import { parseExtraVars } from '../../src/config/extra-vars.js';
import { loadInventory } from '../../src/config/inventory.js';
import { JsonReporter } from '../../src/report/json.js';
import { canonicalJson, inventoryHash, runIdFromEnv, sha256 } from '../../src/report/run-header.js';

const work = mkdtempSync(join(tmpdir(), 'kvmnet-header-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
function inventoryFrom(files: Record<string, string>) {
  const dir = join(work, `inv${n++}`);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  const { inventory, diagnostics } = loadInventory([dir], dir);
  expect(diagnostics).toEqual([]);
  expect(inventory.hosts.size).toBeGreaterThanOrEqual(3);
  return inventory;
}

const INI = '[paris]\nhv1 uplink=eth1\nhv2 uplink=eth1\n[lyon]\nhv3 uplink=eth2\n[all:vars]\nmtu=1500\n';

describe('inventoryHash: the loaded content, not the files', () => {
  const base = inventoryHash(inventoryFrom({ hosts: INI }));

  it.each([
    ['the same file in another directory', { hosts: INI }, true],
    ['hosts listed in another order', { hosts: '[lyon]\nhv3 uplink=eth2\n[paris]\nhv2 uplink=eth1\nhv1 uplink=eth1\n[all:vars]\nmtu=1500\n' }, true],
    [
      'the same vars from group_vars/ instead of inline',
      { hosts: '[paris]\nhv1 uplink=eth1\nhv2 uplink=eth1\n[lyon]\nhv3 uplink=eth2\n', 'group_vars/all.yaml': 'mtu: 1500\n' },
      true,
    ],
    [
      'the same inventory as YAML',
      {
        'hosts.yaml':
          'all:\n  vars: {mtu: 1500}\n  children:\n    paris: {hosts: {hv1: {uplink: eth1}, hv2: {uplink: eth1}}}\n    lyon: {hosts: {hv3: {uplink: eth2}}}\n',
      },
      true,
    ],
    ['one var changed', { hosts: INI.replace('hv3 uplink=eth2', 'hv3 uplink=eth3') }, false],
    ['a host moved to another group', { hosts: '[paris]\nhv1 uplink=eth1\n[lyon]\nhv2 uplink=eth1\nhv3 uplink=eth2\n[all:vars]\nmtu=1500\n' }, false],
    ['a host more', { hosts: INI + '[lyon]\nhv4 uplink=eth2\n' }, false],
  ])('%s: equal=%s', (_what, files, equal) => {
    expect(inventoryHash(inventoryFrom(files)) === base).toBe(equal);
  });
});

describe('extra vars hash', () => {
  const hash = (args: string[]) => sha256(canonicalJson(parseExtraVars(args, work).vars));
  it.each([
    [['a=1', 'b=x'], ['b=x', 'a=1'], true],
    [['a=1'], ['{"a":"1"}'], true],
    [['a=1'], ['{"a":1}'], false],
    [[], [], true],
    [['a=1'], ['a=2'], false],
  ])('%j vs %j: equal=%s', (a, b, equal) => {
    expect(hash(a) === hash(b)).toBe(equal);
  });
  it('canonicalJson sorts keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[{"y":2,"z":1}]},"b":1}');
  });
});

describe('the header', () => {
  const inventory = inventoryFrom({ hosts: INI });

  it('is the first line of JSON output, with the shard, the split and the hashes', () => {
    const choice = chooseShard(inventory, ['hv1', 'hv2', 'hv3'], { shard: { index: 2, count: 2 } });
    const header = buildHeader({
      command: 'run',
      inventory,
      playbookBytes: Buffer.from('- hosts: all\n'),
      extraVars: { a: '1' },
      check: false,
      choice,
      env: { KVMNET_RUN_ID: 'r1' },
    });
    const lines: string[] = [];
    const reporter = new JsonReporter((l) => lines.push(l), header);
    reporter.warn('w');
    const [first, second] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(first).toMatchObject({
      event: 'header',
      format: 1,
      command: 'run',
      run_id: 'r1',
      check: false,
      shard: { index: 2, count: 2, by: 'name' },
      inventory_sha256: inventoryHash(inventory),
      playbook_sha256: sha256('- hosts: all\n'),
      extra_vars_sha256: sha256('{"a":"1"}'),
      split: [['hv1', 'hv3'], ['hv2']],
      hosts: ['hv2'],
    });
    expect(first!.time).toMatch(/^\d{4}-/);
    expect(second).toMatchObject({ event: 'warning' });
  });

  it('without --shard: one shard of every selected host, shard null', () => {
    const choice = chooseShard(inventory, ['hv3', 'hv1'], {});
    expect(choice).toEqual({ split: [['hv3', 'hv1']], mine: ['hv3', 'hv1'], shard: null });
  });

  it('--shard auto reads the environment; --shard-by a var keeps a site together', () => {
    const choice = chooseShard(
      inventory,
      ['hv1', 'hv2', 'hv3'],
      { shard: 'auto', shardBy: { kind: 'var', name: 'uplink' } },
      { JOB_COMPLETION_INDEX: '1', KVMNET_SHARD_COUNT: '2' },
    );
    expect(choice.shard).toEqual({ index: 2, count: 2, by: 'var:uplink', source: 'JOB_COMPLETION_INDEX+1/KVMNET_SHARD_COUNT' });
    expect(choice.split).toEqual([['hv1', 'hv2'], ['hv3']]);
    expect(choice.mine).toEqual(['hv3']);
  });

  it.each([
    [{ KVMNET_RUN_ID: 'x', GITHUB_RUN_ID: '5' }, 'x'],
    [{ GITHUB_RUN_ID: '5', GITHUB_RUN_ATTEMPT: '2' }, 'github-5-2'],
    [{ CI_PIPELINE_ID: '77' }, 'gitlab-77'],
  ])('run id from %j is %s', (env, id) => {
    expect(runIdFromEnv(env)).toBe(id);
  });

  it('run id without any: a fresh random one each time', () => {
    expect(runIdFromEnv({})).not.toBe(runIdFromEnv({}));
  });
});
