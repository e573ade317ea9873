#!/usr/bin/env node
// `npm run bench`: kvmnet against a hand-written shell baseline, a read-only floor and (with
// --with-ansible) ansible-playbook, on a real lab of disposable hypervisors; and, with --sim N,
// kvmnet --check against a simulated SSH fleet of up to N hosts. See bench/README.md.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { BOTH, KVMNET, ansibleVersion, installAnsible, runAnsible, runBaseline, runFloor, runKvmnet, useExitRaceShim } from './lib/contenders.js';
import { BENCH_DIR, REPO_DIR, installVirshCounter, labApi, readVirshCounter, removeVirshCounter, resetHosts } from './lib/lab.js';
import { factsExecTimes } from './lib/facts-exec.js';
import { commandExists, fmtRatio, fmtS, median, procCpuMs, procRssKb, runTimed } from './lib/proc.js';
import { table, verdict } from './lib/report.js';
import { ensureFleetKeys, sha256, writeFleetFiles } from './sim/fleet.js';

const USAGE = `usage: npm run bench -- [options]

real lab (default), then the simulator (below):
  --sizes LIST         lab sizes (default 1,3,20): ONE lab of the largest size; the smaller sizes
                       use its first hosts (their own inventory)
  -n, --hosts N        one size only: --sizes N
  --rounds R           rounds per scenario at the largest size, median reported (default 3)
  --small-rounds R     rounds per scenario at the smaller sizes (default 5)
  --scenarios LIST     at the largest size: subset of cold,warm,check (default all three)
  --small-scenarios L  at the smaller sizes (default warm,check)
  --prefix P           lab prefix (default kb)
  --dir DIR            lab dir (default bench/.lab/lab)
  --before BIN         also run another build of kvmnet (path of its bin/kvmnet.js) as contender
                       "before", alternated with this one (a change's effect, side by side)
  --keep-lab           leave the lab up at the end (a lab that existed before is always kept)
  --with-ansible       add ansible-playbook as a contender at the largest size (installs it with
                       apt-get if missing); without it, the targets use its last figure (dated)
  --ansible-rounds R   rounds of Ansible (default 1: about 100 s a run at 20 hosts)
  --ansible-scenarios L  scenarios of Ansible (default warm)
  --no-counters        skip the untimed pass that counts virsh processes on the hosts
  --profile            also record one no-op 1-host --check with node --cpu-prof and print its hot spots
  --capture            re-capture bench/sim/fixtures/*.json from the lab (host hv1)
  --shim-exit-race     DIAGNOSTIC: run kvmnet with bench/lib/exit-race-shim.js preloaded (the
                       proposed fix of its exit-status race, applied at run time); labelled

simulated fleet:
  --sim N              the simulator only (no lab unless --lab), up to N hosts (default run: 10000)
  --sim-sizes LIST     simulated fleet sizes (default 1000,N when N > 1000, else 100,250,500,N)
  --no-sim             the lab only
  --lab                with --sim: run the real-lab benchmark as well
  --forks F            kvmnet --forks in the simulator runs (default 500)
  --sim-rounds R       rounds per size (default 2)
  --sim-latency-ms MS  delay every simulated answer (default 0: pure controller cost)
  --sim-profile        record the largest size once with node --cpu-prof and print its hot spots
  --sim-wildcard-known-hosts
                       DIAGNOSTIC: also run the largest size with a ONE-line [127.0.0.1]:*
                       known_hosts, to show what the per-host known_hosts handling costs

  --report FILE        re-print the report of a saved result (bench/results/*.json), run nothing

results: bench/results/latest.json (lab), bench/results/sim-latest.json (simulator)`;

const opts = parseArgs(process.argv.slice(2));
const lastResults = {};
// Simulated hosts per simulator process: 2 descriptors each, under a limit of 20,000.
const SIM_HOSTS_PER_PROCESS = 5000;
const RESULTS = join(BENCH_DIR, 'results');
const WORK = join(BENCH_DIR, '.lab');
const log = (line) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

async function main() {
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  if (opts.report) {
    const saved = JSON.parse(readFileSync(opts.report, 'utf8'));
    if (saved.kind?.includes('simulated')) summarizeSim(saved);
    else {
      opts.shim = saved.params.kvmnet?.startsWith('kvmnet+shim');
      summarizeLab(saved);
    }
    return 0;
  }
  preflight();
  if (opts.shim) {
    useExitRaceShim();
    log('DIAGNOSTIC: kvmnet runs with bench/lib/exit-race-shim.js preloaded (results are labelled "kvmnet+shim")');
  }
  mkdirSync(RESULTS, { recursive: true });
  mkdirSync(WORK, { recursive: true });
  let code = 0;
  // Default: the lab (1, 3 and 20 hosts) and then the simulator (1000 and 10,000 hosts); --sim N alone: the simulator only.
  if (!opts.simOnly) code |= await labBench();
  if (opts.sim) code |= await simBench();
  // One run, one file: the simulator's result goes into latest.json too (and sim-latest.json).
  if (!opts.simOnly && opts.sim && lastResults.lab && lastResults.sim) {
    writeResult(opts.shim ? 'latest-shim.json' : 'latest.json', { ...lastResults.lab, simulator: lastResults.sim });
  }
  return code;
}

// ---------------------------------------------------------------------------------------------
function parseArgs(argv) {
  const o = {
    sizes: [1, 3, 20],
    rounds: 3,
    smallRounds: 5,
    prefix: 'kb',
    dir: join(BENCH_DIR, '.lab', 'lab'),
    scenarios: ['cold', 'warm', 'check'],
    smallScenarios: ['warm', 'check'],
    ansibleRounds: 1,
    ansibleScenarios: ['warm'],
    sim: 10000,
    forks: 500,
    simRounds: 2,
    simLatencyMs: 0,
    counters: true,
  };
  let simGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = () => {
      const v = Number(val());
      if (!Number.isInteger(v) || v < 1) throw new Error(`${a} needs a positive integer`);
      return v;
    };
    if (a === '-n' || a === '--hosts') o.sizes = [int()];
    else if (a === '--sizes')
      o.sizes = val()
        .split(',')
        .map((x) => {
          const v = Number(x);
          if (!Number.isInteger(v) || v < 1) throw new Error(`--sizes: ${x} is not a host count`);
          return v;
        });
    else if (a === '--small-rounds') o.smallRounds = int();
    else if (a === '--small-scenarios') o.smallScenarios = val().split(',');
    else if (a === '--ansible-rounds') o.ansibleRounds = int();
    else if (a === '--ansible-scenarios') o.ansibleScenarios = val().split(',');
    else if (a === '--no-sim') o.sim = 0;
    else if (a === '--sim-sizes') o.simSizes = val().split(',').map(Number);
    else if (a === '--rounds') o.rounds = int();
    else if (a === '--prefix') o.prefix = val();
    else if (a === '--dir') o.dir = val();
    else if (a === '--keep-lab') o.keepLab = true;
    else if (a === '--before') o.before = val();
    else if (a === '--with-ansible') o.ansible = true;
    else if (a === '--scenarios') o.scenarios = val().split(',');
    else if (a === '--no-counters') o.counters = false;
    else if (a === '--profile') o.profile = true;
    else if (a === '--capture') o.capture = true;
    else if (a === '--shim-exit-race') o.shim = true;
    else if (a === '--sim') {
      o.sim = int();
      simGiven = true;
    } else if (a === '--lab') o.lab = true;
    else if (a === '--forks') o.forks = int();
    else if (a === '--sim-rounds') o.simRounds = int();
    else if (a === '--sim-latency-ms') o.simLatencyMs = Number(val());
    else if (a === '--sim-profile') o.simProfile = true;
    else if (a === '--sim-wildcard-known-hosts') o.simWildcard = true;
    else if (a === '--report') o.report = val();
    else if (a === '-h' || a === '--help') o.help = true;
    else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  for (const s of [...o.scenarios, ...o.smallScenarios, ...o.ansibleScenarios])
    if (!['cold', 'warm', 'check'].includes(s)) throw new Error(`unknown scenario ${s}`);
  o.simOnly = simGiven && !o.lab;
  return o;
}

function preflight() {
  if (!commandExists('/usr/bin/time')) {
    log('installing `time` (apt-get install -y time): /usr/bin/time measures the CPU and RSS of each run');
    const r = spawnSync('apt-get', ['install', '-y', 'time'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0) throw new Error('cannot install time(1)');
  }
  for (const c of ['ssh', 'ssh-keygen']) if (!commandExists(c)) throw new Error(`${c} is missing (openssh-client)`);
  try {
    readFileSync(join(REPO_DIR, 'dist', 'bundle', 'kvmnet.cjs'));
  } catch {
    throw new Error('kvmnet is not built: run `npm run build` first');
  }
  // bench/both.yaml must stay the two shipped playbooks, verbatim.
  const plays = (f) => parseYaml(readFileSync(f, 'utf8'));
  const want = [...plays(join(REPO_DIR, 'playbooks', 'bridged.yaml')), ...plays(join(REPO_DIR, 'playbooks', 'nat-network.yaml'))];
  if (JSON.stringify(plays(BOTH)) !== JSON.stringify(want)) {
    throw new Error('bench/both.yaml no longer matches playbooks/bridged.yaml + playbooks/nat-network.yaml: update it');
  }
}

function environment() {
  const git = (...a) => spawnSync('git', a, { cwd: REPO_DIR, encoding: 'utf8' }).stdout.trim();
  return {
    date: new Date().toISOString(),
    node: process.version,
    kernel: release(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    loadavgAtStart: loadavg().map((x) => Number(x.toFixed(2))),
    git: { head: git('rev-parse', 'HEAD'), dirtyFiles: git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean).length },
    distBuiltAt: distBuiltAt(),
  };
}

/** Newest mtime under dist/: if it moves during a run, kvmnet was rebuilt under the benchmark's feet. */
function distBuiltAt() {
  let newest = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js')) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  try {
    walk(join(REPO_DIR, 'dist'));
  } catch {
    return null;
  }
  return new Date(newest).toISOString();
}

function finishEnv(result) {
  result.env.loadavgAtEnd = loadavg().map((x) => Number(x.toFixed(2)));
  result.env.distBuiltAtEnd = distBuiltAt();
  if (result.env.distBuiltAtEnd !== result.env.distBuiltAt) {
    result.errors.push(`kvmnet was rebuilt during the run (dist/ changed at ${result.env.distBuiltAtEnd}): runs before and after measure different code`);
  }
}

function writeResult(name, data) {
  const file = join(RESULTS, name);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(data, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  log(`wrote ${relative(REPO_DIR, file)}`);
}

// ---------------------------------------------------------------------------------------------
// The real lab
// ---------------------------------------------------------------------------------------------
async function labBench() {
  const env = environment();
  const lab = await labApi();
  const sizes = opts.sizes;
  const n = Math.max(...sizes);
  // --before: another build of kvmnet (its bin/kvmnet.js), alternated with this one: a change's effect side by side.
  const contenders = opts.before ? ['kvmnet', 'before', 'baseline', 'floor'] : ['kvmnet', 'baseline', 'floor'];
  let ansible = { requested: Boolean(opts.ansible), run: false };
  if (opts.ansible) {
    const problem = installAnsible(log);
    if (problem) {
      ansible = { requested: true, run: false, reason: problem };
      log(`ansible will NOT run: ${problem}`);
    } else {
      ansible = { requested: true, run: true, version: ansibleVersion(), hosts: n, rounds: opts.ansibleRounds, scenarios: opts.ansibleScenarios };
      contenders.push('ansible');
    }
  }

  const existed = (() => {
    try {
      lab.readLabState(opts.dir);
      return true;
    } catch {
      return false;
    }
  })();
  let state;
  let interrupted = false;
  const teardown = async () => {
    if (existed || opts.keepLab) return log(`lab kept: ${opts.dir} (tear down: node bin/kvmnet.js lab down --dir ${opts.dir})`);
    log('tearing the lab down…');
    await lab.labDown({ dir: opts.dir }).catch((e) => log(`lab down failed: ${e.message}`));
  };
  const onSignal = async (s) => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`${s}: stopping, tearing down`);
    await teardown();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const result = {
    kind: 'kvmnet real-lab benchmark',
    env,
    params: {
      kvmnet: opts.shim ? 'kvmnet+shim (bench/lib/exit-race-shim.js preloaded: NOT kvmnet as shipped)' : 'kvmnet as built in dist/',
      hosts: n,
      sizes,
      rounds: opts.rounds,
      smallRounds: opts.smallRounds,
      scenarios: opts.scenarios,
      smallScenarios: opts.smallScenarios,
      prefix: opts.prefix,
      order: contenders,
    },
    ansible,
    bySize: {},
    errors: [],
  };
  try {
    // --help first: it needs no lab.
    result.help = await helpTimes();
    log(`kvmnet --help: median ${result.help.medianMs.toFixed(0)} ms of 10`);

    log(`lab up: ${n} hosts, prefix ${opts.prefix}, dir ${opts.dir}${existed ? ' (existing lab)' : ''}`);
    const t0 = Date.now();
    if (existed) {
      // Reuse as is (e.g. after --keep-lab): only check that every host answers.
      state = lab.readLabState(opts.dir);
      const down = (await lab.labStatus({ dir: opts.dir })).filter((h) => !h.sshd || !h.libvirtd);
      if (down.length)
        throw new Error(`lab ${opts.dir}: ${down.map((h) => h.name).join(', ')} not answering; run \`node bin/kvmnet.js lab up --dir ${opts.dir}\``);
    } else {
      state = await lab.labUp({ dir: opts.dir, n, prefix: opts.prefix }, (l) => log(`  ${l}`));
    }
    if (state.hosts.length !== n) throw new Error(`the lab in ${opts.dir} has ${state.hosts.length} hosts, not ${n}; use another --dir`);
    log(`lab up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const paths = lab.labPaths(opts.dir);
    const ctx = { state, labPaths: paths, inventory: paths.inventory, hosts: n, workDir: WORK };

    // Sanity: a reset host must look fresh to kvmnet (every host has changes pending).
    await resetHosts(lab, state);
    const fresh = await runKvmnet({ ...ctx, scenario: 'check' });
    const pending = fresh.perHost.filter((h) => h.changed > 0 && !h.failed && !h.unreachable).length;
    if (pending !== n)
      throw new Error(`after bench/reset.sh, kvmnet --check sees changes pending on ${pending}/${n} hosts (expected all): ${fresh.error ?? ''}`);
    log(`reset verified: ${n}/${n} hosts look fresh to kvmnet --check`);

    // Smallest size first: the 1-host figures are the ones an operator feels most often.
    for (const size of [...sizes].sort((a, b) => a - b)) {
      const sub = size === n ? ctx : subLab(ctx, size);
      const scenarios = size === n ? opts.scenarios : opts.smallScenarios;
      const rounds = size === n ? opts.rounds : opts.smallRounds;
      const who = contenders.filter((c) => c !== 'ansible' || size === n);
      log(`--- ${size} host${size === 1 ? '' : 's'}: ${scenarios.join(', ')}, ${rounds} rounds, ${who.join(' → ')}`);
      result.bySize[size] = { hosts: size, rounds, scenarios, contenders: who, samples: {} };
      await benchSize(lab, sub, result, result.bySize[size], { scenarios, rounds, contenders: who });
    }

    // The facts exec as each host pays it (converged hosts: the warm/check state).
    await ensureConverged(ctx);
    result.factsExec = await factsExecTimes(lab, state);
    log(
      `facts exec inside the hosts (${result.factsExec.fragments.join(', ') || 'core only'}): 1 host ${result.factsExec.oneHost.wallMs} ms wall, ${result.factsExec.oneHost.cpuMs} ms CPU; ${n} at once: median ${result.factsExec.allHosts.medianWallMs} ms, max ${result.factsExec.allHosts.maxWallMs} ms per host`,
    );
    if (opts.counters) result.counters = await counters(lab, ctx);
    if (opts.profile) result.profile = await profileCheck(subLab(ctx, 1));
    if (opts.capture) {
      const { captureFixtures } = await import('./sim/capture.js');
      await captureFixtures({ dir: opts.dir, host: 'hv1', log });
    }

    finishEnv(result);
    summarizeLab(result);
    writeResult(opts.shim ? 'latest-shim.json' : 'latest.json', result);
    lastResults.lab = result;
    return result.errors.length ? 2 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await teardown();
  }
}

/** The first `size` hosts of the lab: their own inventory file, the same keys and known_hosts. */
function subLab(ctx, size) {
  const inv = parseYaml(readFileSync(ctx.inventory, 'utf8'));
  const hosts = inv.all.children.lab.hosts;
  const keep = ctx.state.hosts.slice(0, size);
  inv.all.children.lab.hosts = Object.fromEntries(keep.map((h) => [h.name, hosts[h.name]]));
  const file = join(ctx.workDir, `inventory-${size}.yaml`);
  writeFileSync(file, stringifyYaml(inv));
  return { ...ctx, state: { ...ctx.state, hosts: keep }, inventory: file, hosts: size };
}

/** The rounds of one lab size: contenders alternated, failed runs recorded and replaced. */
async function benchSize(lab, ctx, result, bucket, { scenarios: wanted, rounds: R, contenders }) {
  const { state } = ctx;
  const sample = (contender, scenario, r) => {
    const key = `${contender}/${scenario}`;
    (bucket.samples[key] ??= []).push({
      load1: Number(loadavg()[0].toFixed(1)),
      wallMs: round(r.wallMs),
      cpuMs: round(r.cpuMs),
      maxRssKb: r.maxRssKb,
      ok: r.ok,
      ...(r.error && { error: r.error }),
      ...(r.stats && { stats: r.stats }),
      ...(r.taskMs && contender === 'kvmnet' && scenario === 'cold' && { taskMs: r.taskMs }),
      ...(r.elapsedMs && { kvmnetElapsedMs: r.elapsedMs }),
    });
    if (!r.ok) result.errors.push(`${ctx.hosts} hosts ${key} round ${bucket.samples[key].length}: ${r.error}`);
    log(
      `  ${key.padEnd(16)} ${fmtS(r.wallMs).padStart(7)} s  cpu ${fmtS(r.cpuMs)} s${r.stats ? `  conn ${r.stats.connections} exec ${r.stats.execs}` : ''}${r.ok ? '' : `  NOT OK: ${r.error}`}`,
    );
  };
  const runOne = (contender, scenario) => {
    if (contender === 'kvmnet') return runKvmnet({ ...ctx, scenario });
    if (contender === 'before') return runKvmnet({ ...ctx, scenario, bin: opts.before });
    if (contender === 'baseline') return runBaseline({ ...ctx, scenario });
    if (contender === 'floor') return runFloor({ ...ctx, scenario });
    return runAnsible({ ...ctx, scenario });
  };
  // After a cold run, the hosts must be converged the way kvmnet means it (untimed).
  const verifyConverged = async (who) => {
    let v;
    for (let i = 0; i < 3; i++) {
      v = await runKvmnet({ ...ctx, scenario: 'check' });
      // A failed or unreachable host says nothing about convergence: ask again.
      if (v.ok || v.perHost.some((h) => h.changed > 0)) break;
    }
    if (!v.ok) {
      result.errors.push(`after ${who} cold: kvmnet --check does not see converged hosts: ${v.error}`);
      log(`  verify after ${who}: NOT converged: ${v.error}`);
      return false;
    }
    return true;
  };

  // Ansible (minutes per run) runs its own, smaller number of rounds and scenarios.
  const roundsOf = (c) => (c === 'ansible' ? opts.ansibleRounds : R);
  const runs = (c, scenario) => !(scenario === 'cold' && c === 'floor') && (c !== 'ansible' || opts.ansibleScenarios.includes(scenario));
  const okCount = (key) => (bucket.samples[key] ?? []).filter((x) => x.ok).length;
  const lacking = (scenario) => contenders.filter((c) => runs(c, scenario)).some((c) => okCount(`${c}/${scenario}`) < roundsOf(c));
  // R rounds; then, while a scenario lacks R good samples of some contender (a failed run is
  // recorded and reported, not averaged in), up to R extra rounds of that scenario.
  for (let round = 1; round <= 2 * R; round++) {
    const scenarios = wanted.filter((s) => round <= R || lacking(s));
    if (!scenarios.length) break;
    log(
      `${ctx.hosts} host(s), round ${round}${round > R ? ' (extra, to replace failed runs)' : `/${R}`}: ${scenarios.join(', ')} (load ${loadavg()[0].toFixed(1)})`,
    );
    // In an extra round only the contenders short of good runs go again, with kvmnet and the
    // baseline always (the reference pair stays alternated).
    const who = (scenario) =>
      contenders.filter(
        (c) => runs(c, scenario) && (c === 'kvmnet' || c === 'baseline' || (round <= R && c !== 'ansible') || okCount(`${c}/${scenario}`) < roundsOf(c)),
      );
    if (scenarios.includes('cold')) {
      for (const c of who('cold')) {
        await resetHosts(lab, state);
        const r = await runOne(c, 'cold');
        if (r.ok && !(await verifyConverged(c))) {
          r.ok = false;
          r.error = 'hosts not converged afterwards (kvmnet --check)';
        }
        sample(c, 'cold', r);
      }
    }
    const warmOrCheck = scenarios.filter((s) => s !== 'cold');
    // Warm and check need converged hosts, whatever ran last (and whether it worked).
    if (warmOrCheck.length) await ensureConverged(ctx);
    for (const scenario of warmOrCheck) {
      for (const c of who(scenario)) sample(c, scenario, await runOne(c, scenario));
    }
  }
}

const round = (x) => (Number.isFinite(x) ? Math.round(x * 10) / 10 : null);

/** Untimed: converge whatever is not (kvmnet itself, retried: see the exit-status race in README). */
async function ensureConverged(ctx) {
  let r;
  for (let i = 0; i < 3; i++) {
    r = await runKvmnet({ ...ctx, scenario: 'cold-or-warm' });
    if (!r.perHost.some((h) => h.failed || h.unreachable) && r.perHost.length === ctx.hosts) return;
  }
  throw new Error(`cannot converge the lab: ${r.error}`);
}

async function helpTimes() {
  const times = [];
  await runTimed(['node', KVMNET, '--help']); // warm the page cache, not counted
  for (let i = 0; i < 10; i++) {
    const r = await runTimed(['node', KVMNET, '--help']);
    if (r.code !== 0) throw new Error(`kvmnet --help exited ${r.code}: ${r.stderr}`);
    times.push(r.wallMs);
  }
  const bare = [];
  for (let i = 0; i < 5; i++) bare.push((await runTimed(['node', '-e', '0'])).wallMs);
  return { medianMs: round(median(times)), samplesMs: times.map(round), nodeBareStartMs: round(median(bare)) };
}

/** Untimed: virsh processes per host (wrapper in each host's private mount namespace), execs and connections. */
async function counters(lab, ctx) {
  const { state } = ctx;
  log('counting round trips (untimed): virsh wrapper on every lab host');
  await installVirshCounter(lab, state);
  const out = {};
  const perHost = (lists) => ({
    min: Math.min(...lists.map((l) => l.length)),
    max: Math.max(...lists.map((l) => l.length)),
    median: median(lists.map((l) => l.length)),
  });
  try {
    const measure = async (name, fn, scenarioNote) => {
      await readVirshCounter(lab, state); // drop anything before
      const r = await fn();
      const lists = await readVirshCounter(lab, state);
      out[name] = {
        ok: r.ok,
        ...(r.error && { error: r.error }),
        ...(r.stats && { connectionsPerHost: r.stats.connections / ctx.hosts, execsPerHost: r.stats.execs / ctx.hosts }),
        virshPerHost: perHost(lists),
        virshCommandsHost1: lists[0],
        ...(scenarioNote && { note: scenarioNote }),
      };
      log(
        `  ${name.padEnd(34)} virsh/host ${out[name].virshPerHost.median}${r.stats ? `  connections/host ${out[name].connectionsPerHost}  execs/host ${out[name].execsPerHost}` : ''}${r.ok ? '' : `  NOT OK: ${r.error}`}`,
      );
    };
    await measure('kvmnet check (both.yaml, 2 plays)', () => runKvmnet({ ...ctx, scenario: 'check' }));
    await measure('kvmnet warm (both.yaml, 2 plays)', () => runKvmnet({ ...ctx, scenario: 'warm' }));
    await measure('kvmnet check (bridged.yaml, 1 play)', () => runKvmnet({ ...ctx, scenario: 'check', playbook: join(REPO_DIR, 'playbooks', 'bridged.yaml') }));
    await measure('baseline warm', () => runBaseline({ ...ctx, scenario: 'warm' }), 'one ssh exec per host by construction');
    await measure('floor', () => runFloor(ctx), 'one ssh exec per host by construction');
    await resetHosts(lab, state);
    await readVirshCounter(lab, state); // the reset's own virsh calls
    await measure('kvmnet cold (both.yaml)', () => runKvmnet({ ...ctx, scenario: 'cold' }));
    await resetHosts(lab, state);
    await readVirshCounter(lab, state);
    await measure('baseline cold', () => runBaseline({ ...ctx, scenario: 'cold' }));
  } finally {
    await removeVirshCounter(lab, state);
  }
  return out;
}

/** One no-op --check under node --cpu-prof: where the controller's CPU goes. */
async function profileCheck(ctx, extra = {}) {
  const dir = join(WORK, 'prof', String(Date.now()));
  mkdirSync(dir, { recursive: true });
  const r = await runKvmnet({ ...ctx, scenario: 'check', nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir], ...extra });
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return { error: 'no profile written' };
  const hot = summarizeProfile(JSON.parse(readFileSync(join(dir, file), 'utf8')));
  log(`cpu profile (${relative(REPO_DIR, join(dir, file))}), self time:`);
  for (const h of hot.byFunction.slice(0, 15)) log(`  ${String(h.ms).padStart(7)} ms  ${h.name}`);
  for (const h of hot.byPackage.slice(0, 8)) log(`  ${String(h.ms).padStart(7)} ms  [${h.name}]`);
  return { file: relative(REPO_DIR, join(dir, file)), wallMs: round(r.wallMs), cpuMs: round(r.cpuMs), ...hot };
}

function summarizeProfile(profile) {
  const { nodes, samples, timeDeltas } = profile;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const self = new Map();
  samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (timeDeltas[i] ?? 0)));
  const fn = new Map();
  const pkg = new Map();
  for (const [id, us] of self) {
    const cf = byId.get(id).callFrame;
    const where = cf.url ? cf.url.replace(/^file:\/\//, '').replace(`${REPO_DIR}/`, '') : '';
    const name = `${cf.functionName || '(anonymous)'} ${where}:${cf.lineNumber + 1}`;
    fn.set(name, (fn.get(name) ?? 0) + us);
    const p = !where
      ? cf.functionName || '(native)'
      : where.startsWith('node:')
        ? 'node internals'
        : (/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(where)?.[1] ?? where.split('/').slice(0, 2).join('/'));
    pkg.set(p, (pkg.get(p) ?? 0) + us);
  }
  const top = (m) => [...m].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ name, ms: Math.round(us / 100) / 10 }));
  return { totalMs: Math.round([...self.values()].reduce((a, b) => a + b, 0) / 1000), byFunction: top(fn).slice(0, 30), byPackage: top(pkg).slice(0, 15) };
}

// The previous Ansible figure (when this run has none): labelled with its date wherever it is used.
const ANSIBLE_BEFORE = {
  date: '2026-11-28',
  hosts: 20,
  version: 'ansible-playbook 2.14',
  warmMs: 100600,
  checkMs: 96300,
  coldMs: 102800,
  file: 'bench/results/lab-n20-with-ansible.json and README (kvmnet b79c60c)',
};

function medians(samples) {
  const med = {};
  for (const [key, list] of Object.entries(samples)) {
    const good = list.filter((s) => s.ok);
    med[key] = {
      wallMs: round(median(good.map((s) => s.wallMs))),
      cpuMs: round(median(good.map((s) => s.cpuMs))),
      okRounds: good.length,
      rounds: list.length,
      // Runs where some host failed stop early on that host: for information only, never in ratios.
      allRunsWallMs: round(median(list.map((s) => s.wallMs))),
    };
  }
  return med;
}

function summarizeLab(result) {
  const sizes = Object.keys(result.bySize)
    .map(Number)
    .sort((a, b) => a - b);
  const max = Math.max(...sizes);
  const targets = [];
  const t = (name, value, limit, cmp = '<=', unit = '', note) =>
    targets.push({
      name,
      value: Number.isFinite(value) ? round2(value) : null,
      limit,
      cmp,
      unit,
      ...(note && { note }),
      met: Number.isFinite(value) ? (cmp === '<=' ? value <= limit : cmp === '>=' ? value >= limit : value === limit) : null,
    });
  const out = [];
  if (opts.shim) out.push('', 'DIAGNOSTIC RUN: "kvmnet" below is kvmnet+shim (bench/lib/exit-race-shim.js preloaded), not kvmnet as shipped');
  out.push(
    '',
    `kvmnet ${result.env.git.head.slice(0, 7)}${result.env.git.dirtyFiles ? ` (+${result.env.git.dirtyFiles} uncommitted src files)` : ''}, dist built ${result.env.distBuiltAt ?? '?'} (load at start ${result.env.loadavgAtStart.join(' ')})`,
  );

  for (const size of sizes) {
    const b = result.bySize[size];
    const med = (b.medians = medians(b.samples));
    const ratios = {};
    for (const s of b.scenarios) {
      for (const c of b.contenders) {
        const m = med[`${c}/${s}`];
        if (m) ratios[`${c}/${s}`] = round2(num(m.wallMs) / num(med[`kvmnet/${s}`]?.wallMs));
      }
    }
    b.ratiosToKvmnet = ratios;
    const kv = (s) => num(med[`kvmnet/${s}`]?.wallMs);
    const over = (s, c) => kv(s) / num(med[`${c}/${s}`]?.wallMs);
    const has = (s) => b.scenarios.includes(s);
    const hosts = `${size} host${size === 1 ? '' : 's'}`;
    // Issue 18's targets: the fixed cost on few hosts, the per-host cost on many.
    if (size === 1) for (const s of ['warm', 'check']) if (has(s)) t(`${hosts}, ${s}: kvmnet / floor`, over(s, 'floor'), 1.2, '<=', '×');
    if (size === 3) for (const s of ['warm', 'check']) if (has(s)) t(`${hosts}, ${s}: kvmnet / floor`, over(s, 'floor'), 1.0, '<=', '×');
    if (size === 1 && med['kvmnet/check']) t(`${hosts}, no-op --check: controller CPU`, num(med['kvmnet/check'].cpuMs), 150, '<=', ' ms');
    if (size === max && size >= 10) {
      if (has('warm')) t(`${hosts}, warm: kvmnet / hand-written script`, over('warm', 'baseline'), 0.35, '<=', '×');
      if (has('check')) t(`${hosts}, check: kvmnet / hand-written script`, over('check', 'baseline'), 0.35, '<=', '×');
      if (has('cold')) t(`${hosts}, cold: kvmnet / hand-written script`, over('cold', 'baseline'), 0.7, '<=', '×');
      // Issue 33: facts on demand must bring the many-host no-op under the read-only floor.
      for (const s of ['warm', 'check']) if (has(s) && b.contenders.includes('floor')) t(`${hosts}, ${s}: kvmnet / floor`, over(s, 'floor'), 0.8, '<=', '×');
      if (has('warm')) {
        if (Number.isFinite(num(med['ansible/warm']?.wallMs)))
          t(`${hosts}, warm: Ansible / kvmnet`, num(med['ansible/warm'].wallMs) / kv('warm'), 20, '>=', '×');
        else if (size === ANSIBLE_BEFORE.hosts)
          t(
            `${hosts}, warm: Ansible / kvmnet`,
            ANSIBLE_BEFORE.warmMs / kv('warm'),
            20,
            '>=',
            '×',
            `Ansible NOT run here: its ${ANSIBLE_BEFORE.date} figure (${ANSIBLE_BEFORE.warmMs / 1000} s, ${ANSIBLE_BEFORE.file}) over this run's kvmnet`,
          );
      }
      if (med['kvmnet/check']) t(`${hosts}, no-op --check: controller CPU per host`, num(med['kvmnet/check'].cpuMs) / size, 20, '<=', ' ms');
    }

    const rows = b.contenders.map((c) => [
      c,
      ...b.scenarios.map((s) => {
        const m = med[`${c}/${s}`];
        if (!m) return '—';
        if (!Number.isFinite(num(m.wallMs))) return `no good run (0/${m.rounds}; all runs ${fmtS(m.allRunsWallMs)} s)`;
        return `${fmtS(m.wallMs)} s  ${c === 'kvmnet' ? '1.00×' : fmtRatio(ratios[`${c}/${s}`])}  cpu ${fmtS(m.cpuMs)} s${m.okRounds < b.rounds ? ` (${m.okRounds} ok)` : ''}`;
      }),
    ]);
    out.push(
      '',
      `${hosts}: median of ${b.rounds} alternated rounds (${b.contenders.join(' → ')}); wall s, multiple of kvmnet's (>1× = slower), controller CPU (user+sys, incl. children)`,
    );
    out.push(table(['contender', ...b.scenarios], rows));
  }
  if (result.ansible.requested && !result.ansible.run) out.push(`ansible: NOT RUN: ${result.ansible.reason}`);
  else if (!result.ansible.requested)
    out.push(
      `ansible: not run (--with-ansible); the target uses its ${ANSIBLE_BEFORE.date} figure, ${ANSIBLE_BEFORE.warmMs / 1000} s warm on ${ANSIBLE_BEFORE.hosts} hosts`,
    );

  const noop = result.counters?.['kvmnet check (both.yaml, 2 plays)'];
  if (noop) {
    t('no-op host: SSH connections per host', noop.connectionsPerHost, 1, '==');
    t('no-op host: remote execs per host', noop.execsPerHost, 1, '==');
    t('no-op host: virsh processes per host', noop.virshPerHost.median, 1, '==');
  }
  t('kvmnet --help start', result.help?.medianMs, 150, '<=', ' ms');
  result.targets = targets;

  out.push('');
  if (result.counters) {
    out.push(`round trips per host, ${max} hosts (untimed pass; virsh counted by a wrapper mounted in each host's private mount namespace)`);
    out.push(
      table(
        ['run', 'connections', 'execs', 'virsh'],
        Object.entries(result.counters).map(([k, v]) => [
          k,
          v.connectionsPerHost ?? (k.startsWith('baseline') || k === 'floor' ? 1 : '—'),
          v.execsPerHost ?? (k.startsWith('baseline') || k === 'floor' ? 1 : '—'),
          v.virshPerHost.median,
        ]),
      ),
      '',
    );
  }
  out.push(`kvmnet --help: ${result.help.medianMs} ms median of 10 (bare \`node -e 0\`: ${result.help.nodeBareStartMs} ms)`, '');
  if (result.factsExec) {
    const f = result.factsExec;
    out.push(
      `facts exec inside the hosts, no SSH (fragments: ${f.fragments.join(', ') || 'core only'}): 1 host ${f.oneHost.wallMs} ms wall, ${f.oneHost.cpuMs} ms CPU (script + libvirtd, mean of ${f.oneHost.execs}); ${f.allHosts.hosts} hosts at once: median ${f.allHosts.medianWallMs} ms, max ${f.allHosts.maxWallMs} ms per host`,
      '',
    );
  }
  out.push(
    'targets',
    table(
      ['target', 'measured', 'limit', ''],
      targets.map((x) => [
        x.name,
        x.value === null ? 'n/a' : `${x.value}${x.unit}`,
        `${x.cmp === '<=' ? '≤ ' : x.cmp === '>=' ? '≥ ' : ''}${x.limit}${x.unit}`,
        `${verdict(x.met)}${x.note ? ` (${x.note})` : ''}`,
      ]),
    ),
  );
  if (result.errors.length) out.push('', `problems (${result.errors.length}):`, ...result.errors.map((e) => `  - ${e.slice(0, 500)}`));
  console.log(out.join('\n'));
}

const round2 = (x) => (Number.isFinite(x) ? Math.round(x * 100) / 100 : null);
const num = (x) => (typeof x === 'number' && Number.isFinite(x) ? x : NaN);

// ---------------------------------------------------------------------------------------------
// The simulated fleet
// ---------------------------------------------------------------------------------------------
async function simBench() {
  const env = environment();
  const max = opts.sim;
  const sizes = opts.simSizes ?? (max > 1000 ? [1000, max] : [...new Set([100, 250, 500, max].filter((s) => s <= max))].sort((a, b) => a - b));
  const dir = join(WORK, 'sim');
  ensureFleetKeys(dir);
  const { HOST_FACTS_SCRIPT: FACTS_SCRIPT } = await import(join(REPO_DIR, 'dist', 'run', 'host-facts.js'));
  const fixtureWarnings = ['fresh', 'converged']
    .map((n) => [n, JSON.parse(readFileSync(join(BENCH_DIR, 'sim', 'fixtures', `${n}.json`), 'utf8'))])
    .filter(([, f]) => f.factsScriptSha256 !== sha256(FACTS_SCRIPT))
    .map(([n]) => `bench/sim/fixtures/${n}.json was captured with another FACTS_SCRIPT: re-capture (npm run bench -- --capture)`);
  fixtureWarnings.forEach((w) => log(`WARNING: ${w}`));

  log(`simulator: ${max} hosts on 127.0.0.1${opts.simLatencyMs ? `, ${opts.simLatencyMs} ms per answer` : ''}`);
  // One listening socket per simulated host, and kvmnet keeps each host's connection open for the
  // whole run (its run lock lives as long as the connection): 2 descriptors per host on the
  // simulator's side. Where the descriptor limit cannot be raised (20,000 in this CI container), the
  // fleet is split over several simulator processes of SIM_HOSTS_PER_PROCESS hosts each.
  const servers = [];
  for (let first = 0; first < max; first += SIM_HOSTS_PER_PROCESS) {
    const proc = spawn(
      'sh',
      [
        '-c',
        'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"',
        'sh',
        'node',
        join(BENCH_DIR, 'sim', 'server.js'),
        '--dir',
        dir,
        '--first',
        String(first),
        '--hosts',
        String(Math.min(SIM_HOSTS_PER_PROCESS, max - first)),
        '--state',
        'converged',
        '--latency-ms',
        String(opts.simLatencyMs),
      ],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
    servers.push({ proc, next: async () => JSON.parse((await lines.next()).value) });
  }
  const control = async (cmd) => {
    const answers = await Promise.all(servers.map((s) => (s.proc.stdin.write(`${cmd}\n`), s.next())));
    if (cmd !== 'stats') return answers[0];
    // The fleet's stats: the sum of the processes' (peaks too: an upper bound).
    const sum = { unknownSamples: [] };
    for (const { stats } of answers) {
      for (const [k, v] of Object.entries(stats)) if (typeof v === 'number') sum[k] = (sum[k] ?? 0) + v;
      sum.unknownSamples.push(...stats.unknownSamples);
    }
    return { stats: sum };
  };
  const simCpu = () => servers.reduce((t, s) => t + procCpuMs(s.proc.pid), 0);
  const result = {
    kind: 'kvmnet simulated-fleet benchmark',
    env,
    params: { sizes, forks: opts.forks, rounds: opts.simRounds, latencyMs: opts.simLatencyMs, playbook: 'bench/both.yaml', mode: '--check on converged hosts' },
    fixtureWarnings,
    runs: [],
    errors: [],
  };
  try {
    const hellos = await Promise.all(servers.map((s) => s.next()));
    if (!hellos.every((h) => h.ready)) throw new Error('simulator did not start');
    const hello = { ports: hellos.flatMap((h) => h.ports), names: hellos.flatMap((h) => h.names) };
    log(
      `simulator ready (${servers.length} process${servers.length > 1 ? 'es' : ''}: pid ${servers.map((s) => s.proc.pid).join(', ')}; rss ${(servers.reduce((t, s) => t + procRssKb(s.proc.pid).current, 0) / 1024).toFixed(0)} MB)`,
    );
    result.params.simulatorProcesses = servers.length;
    const series = sizes.map((size) => ({ size, wildcard: false }));
    if (opts.simWildcard) series.push({ size: max, wildcard: true });
    for (const { size, wildcard } of series) {
      const inventory = writeFleetFiles(dir, hello.ports, hello.names, size, { wildcard });
      // --before: the other build runs right after this one in every round (side by side, same load).
      for (let r = 1; r <= opts.simRounds; r++)
        for (const [contender, bin] of [['kvmnet', KVMNET], ...(opts.before ? [['before', opts.before]] : [])]) {
          await control('state converged');
          await control('reset-stats');
          const simCpu0 = simCpu();
          // ulimit: kvmnet keeps one socket per host open for the whole run.
          const argv = [
            'sh',
            '-c',
            'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"',
            'sh',
            'node',
            bin,
            'run',
            BOTH,
            '-i',
            inventory,
            '--check',
            '--output',
            'json',
            '--forks',
            String(opts.forks),
          ];
          const t = await runTimed(argv, { cwd: REPO_DIR });
          const simCpuMs = simCpu() - simCpu0;
          const { stats: sim } = await control('stats');
          const { parseKvmnetSummary } = await import('./lib/contenders.js');
          const summary = parseKvmnetSummary(t.stdout);
          const bad = summary ? summary.hosts.filter((h) => h.failed || h.unreachable || h.changed !== 0) : [];
          let error = !summary
            ? `no summary (exit ${t.code}): ${t.stderr.slice(0, 300)}`
            : bad.length
              ? `${bad.length} hosts not ok: ${JSON.stringify(bad.slice(0, 2))}`
              : summary.hosts.length !== size
                ? `${summary.hosts.length} hosts in summary`
                : null;
          if (!error && sim.unknown) error = `simulator got ${sim.unknown} unknown commands: ${sim.unknownSamples.join(' | ')}`;
          if (!error && sim.locks !== size) error = `the simulator granted ${sim.locks} run locks for ${size} hosts`;
          const run = {
            hosts: size,
            contender,
            ...(wildcard && { knownHosts: 'ONE wildcard line (diagnostic)' }),
            round: r,
            ok: !error,
            ...(error && { error }),
            wallMs: round(t.wallMs),
            kvmnetCpuMs: round(t.cpuMs),
            kvmnetPeakRssMb: round(t.maxRssKb / 1024),
            simCpuMs: round(simCpuMs),
            kvmnetStats: summary?.stats,
            simStats: { connections: sim.connections, execs: sim.execs, facts: sim.facts, peakOpenConnections: sim.peakOpenConnections },
          };
          result.runs.push(run);
          if (error) result.errors.push(`${size} hosts round ${r}: ${error}`);
          log(
            `  ${String(size).padStart(5)} hosts${contender === 'before' ? ' BEFORE' : ''}${wildcard ? ' (wildcard known_hosts)' : ''}  ${fmtS(t.wallMs).padStart(6)} s  kvmnet cpu ${fmtS(t.cpuMs)} s  rss ${run.kvmnetPeakRssMb} MB  sim cpu ${fmtS(simCpuMs)} s${error ? `  NOT OK: ${error}` : ''}`,
          );
        }
    }
    if (opts.simProfile) {
      const inventory = writeFleetFiles(dir, hello.ports, hello.names, max);
      result.profile = await profileCheck({ inventory, hosts: max }, { forks: opts.forks });
    }
    finishEnv(result);
    summarizeSim(result);
    writeResult('sim-latest.json', result);
    lastResults.sim = result;
    return result.errors.length ? 2 : 0;
  } finally {
    for (const s of servers) {
      s.proc.stdin.end();
      s.proc.kill();
    }
  }
}

function summarizeSim(result) {
  const per = result.params.sizes.map((size) => {
    const good = result.runs.filter((r) => r.hosts === size && r.ok && !r.knownHosts && r.contender !== 'before');
    const m = (k) => median(good.map((r) => r[k]));
    const before = result.runs.filter((r) => r.hosts === size && r.ok && r.contender === 'before');
    const b = (k) => median(before.map((r) => r[k]));
    return {
      hosts: size,
      okRounds: good.length,
      ...(before.length && {
        before: { okRounds: before.length, wallMs: round(b('wallMs')), kvmnetCpuMs: round(b('kvmnetCpuMs')), kvmnetPeakRssMb: round(b('kvmnetPeakRssMb')) },
      }),
      wallMs: round(m('wallMs')),
      kvmnetCpuMs: round(m('kvmnetCpuMs')),
      kvmnetPeakRssMb: round(m('kvmnetPeakRssMb')),
      simCpuMs: round(m('simCpuMs')),
      cpuMsPerHost: round2(m('kvmnetCpuMs') / size),
      wallMsPerHost: round2(m('wallMs') / size),
    };
  });
  result.medians = per;
  const wild = result.runs.filter((r) => r.knownHosts && r.ok);
  if (wild.length) {
    const m = (k) => median(wild.map((r) => r[k]));
    result.wildcardKnownHosts = {
      hosts: wild[0].hosts,
      okRounds: wild.length,
      wallMs: round(m('wallMs')),
      kvmnetCpuMs: round(m('kvmnetCpuMs')),
      kvmnetPeakRssMb: round(m('kvmnetPeakRssMb')),
      simCpuMs: round(m('simCpuMs')),
      cpuMsPerHost: round2(m('kvmnetCpuMs') / wild[0].hosts),
    };
  }
  const first = per[0];
  const last = per[per.length - 1];
  // Marginal cost of one more host, in the first step of the sweep and in the last one: a fixed
  // start-up cost hides in "per host" averages, not in these. Equal = linear; last > first = worse.
  const step = (a, b, k) => (num(b[k]) - num(a[k])) / (b.hosts - a.hosts);
  const firstStep = per.length > 1 ? [per[0], per[1]] : null;
  const lastStep = per.length > 1 ? [per[per.length - 2], per[per.length - 1]] : null;
  const growth = firstStep
    ? {
        marginalWallMsPerHost: { first: round2(step(...firstStep, 'wallMs')), last: round2(step(...lastStep, 'wallMs')) },
        marginalCpuMsPerHost: { first: round2(step(...firstStep, 'kvmnetCpuMs')), last: round2(step(...lastStep, 'kvmnetCpuMs')) },
        marginalRssMbPerHost: { first: round2(step(...firstStep, 'kvmnetPeakRssMb')), last: round2(step(...lastStep, 'kvmnetPeakRssMb')) },
        // Average per host at the largest size over that at the smallest (hides fixed costs).
        avgWallPerHost: round2(last.wallMsPerHost / first.wallMsPerHost),
        avgCpuPerHost: round2(last.cpuMsPerHost / first.cpuMsPerHost),
      }
    : {};
  result.growth = growth;
  const targets = [];
  const target = (name, value, limit, unit) => {
    const v = num(value);
    targets.push({ name, value: Number.isFinite(v) ? round2(v) : null, limit, unit, met: Number.isFinite(v) ? v <= limit : null });
  };
  const at = (h) => per.find((p) => p.hosts === h);
  if (at(1000)) {
    target('1000 hosts --check wall', num(at(1000).wallMs) / 1000, 30, 's');
    target('1000 hosts peak RSS', at(1000).kvmnetPeakRssMb, 400, 'MB');
  }
  if (at(10000)) {
    // Issue 33's limits (issue 18 asked for 60 s and 1 GB).
    target('10,000 hosts --check wall', num(at(10000).wallMs) / 1000, 30, 's');
    target('10,000 hosts peak RSS', at(10000).kvmnetPeakRssMb, 800, 'MB');
  }
  // Issue 18: the cost per host flat or falling from 1000 to 10,000 hosts (average per host at the
  // largest size over that at 1000; a fixed start-up cost makes small fleets look dearer, not cheaper).
  const from = at(1000) ?? first;
  if (last.hosts > from.hosts) {
    target(`per-host wall, ${last.hosts} vs ${from.hosts} hosts`, num(last.wallMsPerHost) / num(from.wallMsPerHost), 1.0, '×');
    target(`per-host kvmnet CPU, ${last.hosts} vs ${from.hosts} hosts`, num(last.cpuMsPerHost) / num(from.cpuMsPerHost), 1.0, '×');
    target(
      `per-host peak RSS, ${last.hosts} vs ${from.hosts} hosts`,
      num(last.kvmnetPeakRssMb) / last.hosts / (num(from.kvmnetPeakRssMb) / from.hosts),
      1.0,
      '×',
    );
  }
  result.targets = targets;

  const out = [
    '',
    `kvmnet ${result.env.git.head.slice(0, 7)}${result.env.git.dirtyFiles ? ` (+${result.env.git.dirtyFiles} uncommitted src files)` : ''}, dist built ${result.env.distBuiltAt ?? '?'}`,
    `kvmnet --check on a simulated fleet (bench/both.yaml, converged hosts, --forks ${result.params.forks}, median of ${result.params.rounds}; simulator latency ${result.params.latencyMs} ms)`,
    '',
  ];
  out.push(
    table(
      ['hosts', 'wall s', 'kvmnet CPU s', 'CPU ms/host', 'peak RSS MB', 'simulator CPU s', 'ok rounds'],
      [
        ...per.flatMap((p) => [
          [p.hosts, fmtS(p.wallMs), fmtS(p.kvmnetCpuMs), p.cpuMsPerHost, p.kvmnetPeakRssMb, fmtS(p.simCpuMs), `${p.okRounds}/${result.params.rounds}`],
          ...(p.before
            ? [
                [
                  `${p.hosts} BEFORE (--before)`,
                  fmtS(p.before.wallMs),
                  fmtS(p.before.kvmnetCpuMs),
                  round2(p.before.kvmnetCpuMs / p.hosts),
                  p.before.kvmnetPeakRssMb,
                  '',
                  `${p.before.okRounds}/${result.params.rounds}`,
                ],
              ]
            : []),
        ]),
        ...(result.wildcardKnownHosts
          ? [
              [
                `${result.wildcardKnownHosts.hosts} (1-line known_hosts, diagnostic)`,
                fmtS(result.wildcardKnownHosts.wallMs),
                fmtS(result.wildcardKnownHosts.kvmnetCpuMs),
                result.wildcardKnownHosts.cpuMsPerHost,
                result.wildcardKnownHosts.kvmnetPeakRssMb,
                fmtS(result.wildcardKnownHosts.simCpuMs),
                `${result.wildcardKnownHosts.okRounds}/${result.params.rounds}`,
              ],
            ]
          : []),
      ],
    ),
  );
  if (firstStep) {
    out.push('', `marginal cost per added host: first step ${firstStep[0].hosts}→${firstStep[1].hosts}, last step ${lastStep[0].hosts}→${lastStep[1].hosts}`);
    out.push(
      table(
        ['', 'first step', 'last step'],
        [
          ['wall ms', growth.marginalWallMsPerHost.first, growth.marginalWallMsPerHost.last],
          ['kvmnet CPU ms', growth.marginalCpuMsPerHost.first, growth.marginalCpuMsPerHost.last],
          ['kvmnet RSS MB', growth.marginalRssMbPerHost.first, growth.marginalRssMbPerHost.last],
        ],
      ),
    );
  }
  out.push(
    '',
    'targets',
    table(
      ['target', 'measured', 'limit', ''],
      targets.map((x) => [x.name, x.value === null ? 'n/a' : `${x.value}${x.unit}`, `${x.limit}${x.unit}`, verdict(x.met)]),
    ),
  );
  if (result.fixtureWarnings.length) out.push('', ...result.fixtureWarnings.map((w) => `WARNING: ${w}`));
  if (result.errors.length) out.push('', `problems (${result.errors.length}):`, ...result.errors.map((e) => `  - ${e.slice(0, 500)}`));
  console.log(out.join('\n'));
}

// Last, so that every module-level constant above is initialised.
main().then(
  (code) => process.exit(code),
  (err) => {
    log(`FAILED: ${err.stack ?? err}`);
    process.exit(1);
  },
);
