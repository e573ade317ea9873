#!/usr/bin/env node
// Host-side cost of kvmnet's facts exec, per fragment (issue 33): the script runs INSIDE lab hosts
// (nsenter into the host, not over SSH), so what is measured is the host's work only. For every
// variant — the core script, the core plus one fragment, what bench/both.yaml's plays read, every
// fragment (`kvmnet facts`), and bench/floor.sh — on one host and on N hosts at once:
//   wall: spawn to exit (one host), first spawn to last exit (N hosts), divided by the repetitions;
//   CPU:  the script's process tree (time(1): itself and every child it waited for) PLUS the
//         CPU libvirtd spent answering (its /proc/PID/stat before and after), summed over hosts.
// The variants run interleaved, round after round, so every ratio is taken side by side.
//
//   node bench/facts-cost.js [--hosts 20] [--rounds 5] [--reps-one 10] [--reps-all 3] [--dir bench/.lab/facts] [--prefix kf] [--keep-lab]
//
// Writes bench/results/facts-cost.json and prints a table. Needs root and `npm run build`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH_DIR, REPO_DIR, labApi } from './lib/lab.js';
import { median, procCpuMs, runTimed } from './lib/proc.js';

const { values: opt } = parseArgs({
  options: {
    hosts: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '5' },
    'reps-one': { type: 'string', default: '10' },
    'reps-all': { type: 'string', default: '3' },
    dir: { type: 'string', default: join(BENCH_DIR, '.lab', 'facts') },
    prefix: { type: 'string', default: 'kf' },
    'keep-lab': { type: 'boolean', default: false },
  },
});
const N = Number(opt.hosts);
const ROUNDS = Number(opt.rounds);
const REPS_ONE = Number(opt['reps-one']);
const REPS_ALL = Number(opt['reps-all']);
const log = (m) => process.stderr.write(`[facts-cost] ${m}\n`);

const dist = (p) => import(join(REPO_DIR, 'dist', p));
const lab = await labApi();
const { factsScript } = await dist('facts/script.js');
const { ALL_FRAGMENTS, playNeeds, selectFragments } = await dist('facts/needs.js');
const { parsePlaybook } = await dist('config/playbook.js');

const both = parsePlaybook(join(BENCH_DIR, 'both.yaml'), readFileSync(join(BENCH_DIR, 'both.yaml'), 'utf8')).playbook;
const bridged = parsePlaybook(join(REPO_DIR, 'playbooks', 'bridged.yaml'), readFileSync(join(REPO_DIR, 'playbooks', 'bridged.yaml'), 'utf8')).playbook;
const bothNeeds = selectFragments(both.plays.flatMap((p) => playNeeds(p.tasks)));
const bridgedNeeds = playNeeds(bridged.plays[0].tasks);
const costly = ALL_FRAGMENTS.filter((f) => f.shell || f.virsh);

const variants = [
  { name: 'nothing (sh -c true)', script: 'true\n' },
  { name: 'floor.sh', script: readFileSync(join(BENCH_DIR, 'floor.sh'), 'utf8') },
  { name: 'core', script: factsScript(selectFragments([])) },
  ...costly.map((f) => ({
    name: `core + ${f.id}${f.with?.length ? ` (with ${f.with.map((w) => w.id).join(', ')})` : ''}`,
    script: factsScript(selectFragments([f])),
  })),
  {
    name: `bridged.yaml reads (${
      bridgedNeeds
        .filter((f) => f.shell || f.virsh)
        .map((f) => f.id)
        .join(', ') || 'core'
    })`,
    script: factsScript(bridgedNeeds),
  },
  {
    name: `both.yaml reads (${bothNeeds
      .filter((f) => f.shell || f.virsh)
      .map((f) => f.id)
      .join(', ')})`,
    script: factsScript(bothNeeds),
  },
  { name: 'everything (kvmnet facts, = before issue 33)', script: factsScript(ALL_FRAGMENTS) },
];

const existed = existsSync(join(opt.dir, 'lab.json'));
let state;
if (existed) {
  state = lab.readLabState(opt.dir);
  log(`reusing the lab in ${opt.dir} (${state.hosts.length} hosts)`);
} else {
  log(`lab up: ${N} hosts, prefix ${opt.prefix}, dir ${opt.dir}`);
  state = await lab.labUp({ dir: opt.dir, n: N, prefix: opt.prefix }, (l) => log(`  ${l}`));
}
const hosts = state.hosts.slice(0, N);
const libvirtdPid = (h) => {
  const holder = h.holderPid;
  return Number(readFileSync(`/proc/${holder}/root/run/libvirtd.pid`, 'utf8').trim());
};

const result = { env: { git: gitHead(), hosts: hosts.length, rounds: ROUNDS, cpus: 2, loadBefore: loadavg() }, variants: {} };
try {
  // Converged hosts (bridge, port, address, bridged-network and the NAT network net10 active):
  // the state a warm run reads.
  const paths = lab.labPaths(opt.dir);
  const conv = await runTimed([
    'node',
    join(REPO_DIR, 'bin', 'kvmnet.js'),
    'run',
    join(BENCH_DIR, 'both.yaml'),
    '-i',
    paths.inventory,
    '--forks',
    String(hosts.length),
    '--output',
    'json',
  ]);
  if (conv.code !== 0) throw new Error(`converging the lab failed: ${conv.stderr.slice(0, 2000)}`);
  log('lab converged with bench/both.yaml');

  // Each variant's script is a file the hosts read (they share the controller's /work), run REPS
  // times in a row per measurement: time(1) and /proc/PID/stat count CPU in 10 ms ticks, so one
  // run of a ~10 ms script cannot be told from another.
  const scriptDir = join(BENCH_DIR, '.lab', 'facts-scripts');
  mkdirSync(scriptDir, { recursive: true });
  variants.forEach((v, i) => writeFileSync((v.file = join(scriptDir, `v${i}.sh`)), v.script));
  const repeat = (file, reps) =>
    `i=0; while [ $i -lt ${reps} ]; do sh ${file} >/dev/null 2>/tmp/kvmnet-facts-cost.err || { cat /tmp/kvmnet-facts-cost.err >&2; exit 1; }; i=$((i+1)); done\n`;
  const inHost = (h, script) =>
    runTimed([...lab.hostCommand(state, h.name), '/bin/sh', '-s'], {
      input: script,
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', HOME: '/root' },
    });
  const pids = new Map(hosts.map((h) => [h.name, libvirtdPid(h)]));
  const daemonCpu = (names) => names.reduce((s, n) => s + procCpuMs(pids.get(n)), 0);

  for (const v of variants) result.variants[v.name] = { one: { wall: [], cpu: [] }, all: { wall: [], cpu: [] }, bytes: v.script.length };
  result.env.repsOneHost = REPS_ONE;
  result.env.repsAllHosts = REPS_ALL;
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order so no variant always runs right after the same one.
    const order = variants.map((_, i) => variants[(i + round) % variants.length]);
    for (const v of order) {
      const r = result.variants[v.name];
      // One host (hv1), the others idle: per exec = the total of REPS_ONE in a row / REPS_ONE.
      const d0 = daemonCpu([hosts[0].name]);
      const one = await inHost(hosts[0], repeat(v.file, REPS_ONE));
      if (one.code !== 0) throw new Error(`${v.name} on ${hosts[0].name}: exit ${one.code}: ${one.stderr.slice(0, 500)}`);
      r.one.wall.push(one.wallMs / REPS_ONE);
      r.one.cpu.push((one.cpuMs + daemonCpu([hosts[0].name]) - d0) / REPS_ONE);
      // Every host at once, REPS_ALL execs in a row on each: per exec = wall / REPS_ALL, CPU summed over the hosts / REPS_ALL.
      const names = hosts.map((h) => h.name);
      const a0 = daemonCpu(names);
      const t0 = process.hrtime.bigint();
      const all = await Promise.all(hosts.map((h) => inHost(h, repeat(v.file, REPS_ALL))));
      const wall = Number(process.hrtime.bigint() - t0) / 1e6;
      const bad = all.find((x) => x.code !== 0);
      if (bad) throw new Error(`${v.name} on ${hosts.length} hosts: exit ${bad.code}: ${bad.stderr.slice(0, 500)}`);
      r.all.wall.push(wall / REPS_ALL);
      r.all.cpu.push((all.reduce((s, x) => s + x.cpuMs, 0) + daemonCpu(names) - a0) / REPS_ALL);
    }
    log(`round ${round + 1}/${ROUNDS} done (load ${loadavg()[0].toFixed(1)})`);
  }
  result.env.loadAfter = loadavg();
  report(result);
} finally {
  if (!existed && !opt['keep-lab']) {
    log('lab down');
    await lab.labDown({ dir: opt.dir }).catch((e) => log(`lab down failed: ${e.message}`));
  }
}

function report(res) {
  const core = res.variants.core;
  const m = (a) => median(a);
  const lines = [];
  lines.push(
    `facts exec, host side, ${res.env.hosts} namespace lab hosts, ${res.env.rounds} rounds of ${res.env.repsOneHost} execs (1 host) and ${res.env.repsAllHosts} (all hosts), per exec; load ${res.env.loadBefore[0].toFixed(1)} → ${res.env.loadAfter[0].toFixed(1)} (2 shared cores)`,
  );
  lines.push('medians; ratio = variant / core, measured side by side');
  lines.push(['variant'.padEnd(58), '1 host wall', 'CPU', `${res.env.hosts} hosts wall`, 'CPU (sum)', 'wall/core', 'CPU/core (1 host)'].join(' | '));
  for (const [name, v] of Object.entries(res.variants)) {
    v.median = { oneWall: m(v.one.wall), oneCpu: m(v.one.cpu), allWall: m(v.all.wall), allCpu: m(v.all.cpu) };
    const c = { oneWall: m(core.one.wall), oneCpu: m(core.one.cpu), allWall: m(core.all.wall) };
    lines.push(
      [
        name.padEnd(58),
        `${v.median.oneWall.toFixed(0)} ms`.padStart(11),
        `${v.median.oneCpu.toFixed(1)} ms`,
        `${v.median.allWall.toFixed(0)} ms`.padStart(13),
        `${v.median.allCpu.toFixed(0)} ms`,
        `${(v.median.allWall / c.allWall).toFixed(2)}×`,
        `${(v.median.oneCpu / c.oneCpu).toFixed(2)}×`,
      ].join(' | '),
    );
  }
  const text = lines.join('\n') + '\n';
  process.stdout.write(text);
  mkdirSync(join(BENCH_DIR, 'results'), { recursive: true });
  writeFileSync(join(BENCH_DIR, 'results', 'facts-cost.json'), JSON.stringify(res, null, 2) + '\n');
  writeFileSync(join(BENCH_DIR, 'results', 'facts-cost.txt'), text);
}

function gitHead() {
  return spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_DIR, encoding: 'utf8' }).stdout.trim() || undefined;
}
