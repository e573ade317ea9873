// The facts exec as the host pays it (issue 33): the script a run of bench/both.yaml sends, run
// INSIDE lab hosts (nsenter, no SSH), so only the host's work is timed. One host alone (several
// execs in a row: CPU is counted in 10 ms ticks) and every host at once (each host's own wall).
// CPU = the script's process tree (time(1)) plus what libvirtd spent answering (/proc/PID/stat).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR, REPO_DIR } from './lab.js';
import { median, procCpuMs, runTimed } from './proc.js';

const HOST_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', HOME: '/root' };

/** The facts script kvmnet sends for bench/both.yaml (the fragments its plays declare). */
export async function bothFactsScript() {
  const dist = (p) => import(join(REPO_DIR, 'dist', p));
  const [{ factsScript }, { playNeeds, selectFragments }, { parsePlaybook }] = await Promise.all([
    dist('facts/script.js'),
    dist('facts/needs.js'),
    dist('config/playbook.js'),
  ]);
  const file = join(BENCH_DIR, 'both.yaml');
  const { playbook } = parsePlaybook(file, readFileSync(file, 'utf8'));
  const fragments = selectFragments(playbook.plays.flatMap((p) => playNeeds(p.tasks)));
  return { script: factsScript(fragments), fragments: fragments.filter((f) => f.shell || f.virsh).map((f) => f.id) };
}

export async function factsExecTimes(lab, state, { reps = 10 } = {}) {
  const { script, fragments } = await bothFactsScript();
  const run = (h, n) => {
    // /run is each host's own (the lab holder's private mount namespace): no host overwrites another's copy.
    const loop = `cat > /run/kvmnet-bench-facts.sh <<'KVMNET_EOF'\n${script}KVMNET_EOF\ni=0; while [ $i -lt ${n} ]; do sh /run/kvmnet-bench-facts.sh >/dev/null 2>&1 || exit 1; i=$((i+1)); done\n`;
    return runTimed([...lab.hostCommand(state, h.name), '/bin/sh', '-s'], { input: loop, env: HOST_ENV });
  };
  const daemon = (h) => procCpuMs(Number(readFileSync(`/proc/${h.holderPid}/root/run/libvirtd.pid`, 'utf8').trim()));
  const [first] = state.hosts;
  const d0 = daemon(first);
  const one = await run(first, reps);
  if (one.code !== 0) throw new Error(`facts exec on ${first.name}: exit ${one.code} ${one.stderr.trim().slice(0, 300)}`);
  const oneHost = { wallMs: one.wallMs / reps, cpuMs: (one.cpuMs + daemon(first) - d0) / reps };
  const all = await Promise.all(state.hosts.map((h) => run(h, 1)));
  const walls = all.filter((r) => r.code === 0).map((r) => r.wallMs);
  return {
    fragments,
    oneHost: { wallMs: Math.round(oneHost.wallMs * 10) / 10, cpuMs: Math.round(oneHost.cpuMs * 10) / 10, execs: reps },
    allHosts: { hosts: state.hosts.length, ok: walls.length, medianWallMs: Math.round(median(walls)), maxWallMs: Math.round(Math.max(...walls)) },
  };
}
