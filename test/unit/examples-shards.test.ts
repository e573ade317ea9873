// The shipped shard examples (examples/shards/), checked without a cluster, a CI or docker: their YAML
// parses, the Job is Indexed with completions = parallelism = KVMNET_SHARD_COUNT, every command uses
// --shard auto, and the Job's own command line, run here with the environment Kubernetes would give
// each pod, takes disjoint slices that cover the ConfigMap's inventory.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { assertBuilt, REPO, runCli } from './support/cli.js';

const DIR = join(REPO, 'examples', 'shards');
const read = (f: string) => readFileSync(join(DIR, f), 'utf8');

/** Every document of a YAML file, failing on any parse error. */
function yamlDocs(f: string): Array<Record<string, any>> {
  const docs = parseAllDocuments(read(f));
  for (const d of docs)
    expect(
      d.errors.map((e) => e.message),
      f,
    ).toEqual([]);
  return docs.map((d) => d.toJS() as Record<string, any>);
}

const work = mkdtempSync(join(tmpdir(), 'kvmnet-examples-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('Kubernetes: examples/shards/k8s', () => {
  const [job] = yamlDocs('k8s/indexed-job.yaml');
  const [canary] = yamlDocs('k8s/canary-job.yaml');
  const [inputs] = yamlDocs('k8s/inputs.yaml');
  const container = job!.spec.template.spec.containers[0];
  const env = Object.fromEntries((container.env as Array<{ name: string; value?: string }>).map((e) => [e.name, e.value]));
  const n = job!.spec.completions as number;

  beforeAll(() => {
    assertBuilt();
    writeFileSync(join(work, 'inventory.yaml'), inputs!.data['inventory.yaml']);
    writeFileSync(join(work, 'site.yaml'), inputs!.data['site.yaml']);
  });

  it('is an Indexed Job with completions = parallelism = KVMNET_SHARD_COUNT = N, and a run id shared by its pods', () => {
    expect(job).toMatchObject({ apiVersion: 'batch/v1', kind: 'Job', spec: { completionMode: 'Indexed' } });
    expect(n).toBeGreaterThan(1);
    expect(job!.spec.parallelism).toBe(n);
    expect(env.KVMNET_SHARD_COUNT).toBe(String(n));
    expect(container.env.find((e: { name: string }) => e.name === 'KVMNET_RUN_ID').valueFrom.fieldRef.fieldPath).toBe(
      "metadata.labels['batch.kubernetes.io/controller-uid']",
    );
    expect(job!.spec.template.spec.restartPolicy).toBe('Never');
    // A failing shard neither runs again nor stops the others (backoffLimit 0 would terminate every running pod).
    expect(job!.spec.backoffLimitPerIndex).toBe(0);
    expect(job!.spec.backoffLimit).toBeUndefined();
  });

  it('runs `kvmnet run … --shard auto --output json` on the inventory and playbook of the ConfigMap, with the key of the Secret', () => {
    const args = container.args as string[];
    expect(args.slice(0, 1)).toEqual(['run']);
    expect(args.join(' ')).toContain('--shard auto');
    expect(args.join(' ')).toContain('--output json');
    const mounts = Object.fromEntries((container.volumeMounts as Array<{ name: string; mountPath: string }>).map((m) => [m.name, m.mountPath]));
    const volumes = Object.fromEntries((job!.spec.template.spec.volumes as Array<Record<string, any>>).map((v) => [v.name, v]));
    expect(volumes.inputs.configMap.name).toBe(inputs!.metadata.name);
    expect(volumes.ssh.secret.secretName).toBe('kvmnet-ssh');
    expect(args).toContain(`${mounts.inputs}/site.yaml`);
    expect(args).toContain(`${mounts.inputs}/inventory.yaml`);
    expect(Object.keys(inputs!.data).sort()).toEqual(['inventory.yaml', 'site.yaml']);
    // The inventory logs in with the key where the Secret is mounted.
    expect(inputs!.data['inventory.yaml']).toContain(`ssh_key: ${mounts.ssh}/id_ed25519`);
    expect(inputs!.data['inventory.yaml']).toContain(`known_hosts: ${mounts.ssh}/known_hosts`);
  });

  it('the canary Job is shard 1 of the same N, with the same inputs', () => {
    const c = canary!.spec.template.spec.containers[0];
    expect(c.args.join(' ')).toContain(`--shard 1/${n}`);
    expect((c.args as string[]).map((a) => (a === `1/${n}` ? 'auto' : a))).toEqual(container.args);
    expect(canary!.spec.template.spec.volumes).toEqual(job!.spec.template.spec.volumes);
    expect(read('k8s/rollout.sh')).toMatch(new RegExp(`^n=${n}\\b`, 'm'));
    execFileSync('sh', ['-n', join(DIR, 'k8s', 'rollout.sh')]);
  });

  it("the ConfigMap's inventory and playbook are valid", async () => {
    const r = await runCli(['validate', join(work, 'site.yaml'), '-i', join(work, 'inventory.yaml')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/valid · 1 play · 8 hosts/);
  });

  it("the Job's command, as each of the N pods runs it (JOB_COMPLETION_INDEX 0…N-1), takes disjoint slices covering the fleet", async () => {
    const args = (container.args as string[]).map((a) => a.replace(/^\/etc\/kvmnet\/inputs\//, `${work}/`));
    args.splice(args.indexOf('--output'), 2);
    const pods = await Promise.all(
      Array.from({ length: n }, (_, i) => runCli([...args, '--list-hosts'], { env: { ...env, JOB_COMPLETION_INDEX: String(i) } })),
    );
    const slices = pods.map((r) => {
      expect(r.code, r.stderr).toBe(0);
      return r.stdout
        .split('\n')
        .filter((l) => l.startsWith('  '))
        .map((l) => l.trim());
    });
    const all = slices.flat();
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBe(8);
    expect(slices.every((s) => s.length === 2)).toBe(true);
  });
});

describe('CI: examples/shards/ci', () => {
  it('GitHub Actions: a canary job, then a matrix of N shards with --shard auto from KVMNET_SHARD, then merge', () => {
    const [wf] = yamlDocs('ci/github-actions.yml');
    const { canary, shards, merge } = wf!.jobs;
    const n = (shards.strategy.matrix.shard as number[]).length;
    expect(shards.strategy.matrix.shard).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(shards.strategy['fail-fast']).toBe(false);
    expect(shards.needs).toBe('canary');
    const step = (job: any, pattern: RegExp) => (job.steps as Array<Record<string, any>>).find((s) => pattern.test(s.run ?? ''));
    expect(step(canary, /kvmnet run/)).toMatchObject({ env: { KVMNET_SHARD: `1/${n}` } });
    expect(step(canary, /kvmnet run/)!.run).toContain('--shard auto');
    const run = step(shards, /kvmnet run/)!;
    expect(run.run).toContain('--shard auto');
    expect(run.env.KVMNET_SHARD).toBe('${{ matrix.shard }}/${{ strategy.job-total }}');
    expect(merge.needs).toBe('shards');
    expect(merge.if).toContain('always()');
    expect(step(merge, /kvmnet merge/)!.run).toBe('kvmnet merge shard-*.jsonl -o merged.jsonl --report report.html');
  });

  it('GitLab: a canary stage, then `parallel: N` with --shard auto (CI_NODE_INDEX), then merge', () => {
    const [ci] = yamlDocs('ci/gitlab-ci.yml');
    expect(ci!.stages).toEqual(['canary', 'shards', 'merge']);
    const n = ci!.shards.parallel as number;
    expect(n).toBeGreaterThan(1);
    expect(ci!.shards.script.join('\n')).toContain('--shard auto');
    expect(ci!.canary.variables.KVMNET_SHARD).toBe(`1/${n}`);
    expect(ci!.merge.script.join('\n')).toContain('kvmnet merge shard-*.jsonl');
    expect(ci!.merge.when).toBe('always');
  });
});

describe('the image: examples/shards/Containerfile', () => {
  const text = read('Containerfile');
  const instructions = text
    .split('\n')
    .filter((l) => /^[A-Z]+ /.test(l))
    .map((l) => l.split(' ')[0]);

  it('builds kvmnet from this repository with npm ci, on the Node the package asks for, and runs it as its entrypoint', () => {
    const engines = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    expect(engines).toMatch(/20/);
    expect(text.match(/^FROM (\S+)/gm)).toEqual(['FROM node:20-bookworm-slim', 'FROM node:20-bookworm-slim']);
    expect(text).toMatch(/^COPY package\.json package-lock\.json \.\/$/m);
    expect(text).toMatch(/^RUN npm ci .*&& npm pack/m);
    expect(text).toMatch(/npm install --global --omit=dev .*\/tmp\/kvmnet\.tgz/);
    expect(text).toMatch(/^USER node$/m);
    expect(text).toMatch(/^ENTRYPOINT \["kvmnet"\]$/m);
    expect(instructions[0]).toBe('FROM');
    expect(instructions.every((i) => ['FROM', 'WORKDIR', 'COPY', 'RUN', 'USER', 'ENTRYPOINT', 'CMD'].includes(i!))).toBe(true);
    // The image the manifests and workflows name is the one this file builds (its tag in the build comment).
    expect(text).toContain('registry.example.com/kvmnet:latest');
  });

  it('keeps node_modules, dist and labs out of the build context', () => {
    const ignored = read('Containerfile.dockerignore')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.lab', '.git']));
  });
});
