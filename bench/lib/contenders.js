// The contenders of the real-lab benchmark. Each run resolves with
//   { wallMs, cpuMs, maxRssKb, ok, error?, perHost: [{ host, changed }], stats? }
// where `ok` means the run did what the scenario expects on EVERY host (a failed round is reported,
// never silently averaged in).
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { BENCH_DIR, REPO_DIR } from './lab.js';
import { pool, runTimed } from './proc.js';

export const KVMNET = join(REPO_DIR, 'bin', 'kvmnet.js');
export const BOTH = join(BENCH_DIR, 'both.yaml');

/** What every host must report for the run to count: cold changes something everywhere, warm and check nothing. */
function judge(scenario, perHost) {
  const bad = perHost.filter((h) => h.failed || h.unreachable || (scenario === 'cold' ? !(h.changed > 0) : h.changed !== 0));
  return bad.length === 0
    ? null
    : `${bad.length} host(s) not as expected for ${scenario}: ${bad
        .slice(0, 3)
        .map((h) => `${h.host} ${JSON.stringify(h)}`)
        .join('; ')}`;
}

export function parseKvmnetSummary(stdout) {
  const lines = stdout.trim().split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const e = JSON.parse(lines[i]);
      if (e.event === 'summary') return e;
    } catch {
      // not JSON: keep looking
    }
  }
  return null;
}

// Node options for every kvmnet run (the --shim-exit-race diagnostic preload).
const kvmnetNodeArgs = [];
export function useExitRaceShim() {
  kvmnetNodeArgs.push('--import', new URL('./exit-race-shim.js', import.meta.url).href);
}

/** `kvmnet run bench/both.yaml` (one invocation, both plays). */
export async function runKvmnet({ inventory, hosts, scenario, playbook = BOTH, extraArgs = [], nodeArgs = [], forks, bin = KVMNET }) {
  const argv = [
    'node',
    ...kvmnetNodeArgs,
    ...nodeArgs,
    bin,
    'run',
    playbook,
    '-i',
    inventory,
    '--output',
    'json',
    '--forks',
    String(forks ?? Math.max(50, hosts)),
    ...extraArgs,
  ];
  if (scenario === 'check') argv.push('--check');
  const r = await runTimed(argv, { cwd: REPO_DIR });
  const summary = parseKvmnetSummary(r.stdout);
  if (!summary) return { ...pick(r), ok: false, error: `no summary (exit ${r.code}): ${r.stderr.trim().slice(0, 400)}`, perHost: [] };
  const perHost = summary.hosts.map((h) => ({ host: h.host, changed: h.changed, failed: h.failed, unreachable: h.unreachable, ok: h.ok }));
  let error = judge(scenario, perHost);
  if (!error && perHost.length !== hosts) error = `${perHost.length} hosts in the summary, expected ${hosts}`;
  if (error) {
    const failures = r.stdout
      .split('\n')
      .filter((l) => /"outcome":"(failed|unreachable)"/.test(l))
      .slice(0, 3);
    if (failures.length) error += `; first failures: ${failures.join(' | ')}`;
  }
  return { ...pick(r), ok: !error, ...(error && { error }), perHost, stats: summary.stats, elapsedMs: summary.elapsedMs, taskMs: taskTimes(r.stdout) };
}

/** Per task (and facts), the median and the max over hosts of its duration, from the JSON events. */
function taskTimes(stdout) {
  const by = new Map();
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{"event":"task"')) continue;
    try {
      const e = JSON.parse(line);
      const key = `${e.play} › ${e.task}`;
      if (!by.has(key)) by.set(key, []);
      by.get(key).push(e.durationMs);
    } catch {
      // not an event
    }
  }
  const out = {};
  for (const [k, v] of by) {
    v.sort((a, b) => a - b);
    out[k] = { medianMs: v[v.length >> 1], maxMs: v[v.length - 1] };
  }
  return out;
}

const pick = (r) => ({ wallMs: r.wallMs, cpuMs: r.cpuMs, maxRssKb: r.maxRssKb });

export function sshArgv(labPaths, address, remoteCommand) {
  return [
    'ssh',
    '-F',
    '/dev/null',
    '-i',
    labPaths.key,
    '-o',
    `UserKnownHostsFile=${labPaths.knownHosts}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    `root@${address}`,
    remoteCommand,
  ];
}

/** ONE OpenSSH exec per host, all hosts in parallel, the script on stdin. */
async function fanOut(state, labPaths, remoteCommand, script) {
  const started = process.hrtime.bigint();
  const res = await pool(state.hosts, state.hosts.length, (h) => runTimed(sshArgv(labPaths, h.address, remoteCommand), { input: script }));
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  return { wallMs, cpuMs: res.reduce((s, r) => s + r.cpuMs, 0), maxRssKb: Math.max(...res.map((r) => r.maxRssKb)), res };
}

/** bench/baseline.sh: `ssh … sh -s < baseline.sh` (with CHECK=1 for --check). */
export async function runBaseline({ state, labPaths, scenario }) {
  const script = readFileSync(join(BENCH_DIR, 'baseline.sh'), 'utf8');
  const f = await fanOut(state, labPaths, scenario === 'check' ? 'CHECK=1 sh -s' : 'sh -s', script);
  const perHost = f.res.map((r, i) => {
    const m = /^changed=(\d+)$/m.exec(r.stdout);
    return {
      host: state.hosts[i].name,
      changed: m ? Number(m[1]) : undefined,
      failed: r.code !== 0 || !m ? `exit ${r.code} ${r.stderr.trim().slice(0, 200)}` : 0,
    };
  });
  const error = judge(scenario, perHost);
  return { wallMs: f.wallMs, cpuMs: f.cpuMs, maxRssKb: f.maxRssKb, ok: !error, ...(error && { error }), perHost };
}

/** bench/floor.sh: one read-only exec per host. */
export async function runFloor({ state, labPaths }) {
  const script = readFileSync(join(BENCH_DIR, 'floor.sh'), 'utf8');
  const f = await fanOut(state, labPaths, 'sh -s', script);
  const perHost = f.res.map((r, i) => ({
    host: state.hosts[i].name,
    changed: 0,
    failed: r.code !== 0 || !r.stdout.includes('<name>net10</name>') ? `exit ${r.code} ${r.stderr.trim().slice(0, 200)}` : 0,
  }));
  const error = judge('warm', perHost);
  return { wallMs: f.wallMs, cpuMs: f.cpuMs, maxRssKb: f.maxRssKb, ok: !error, ...(error && { error }), perHost };
}

// ---- Ansible ----------------------------------------------------------------------------------

export function ansibleAvailable() {
  return spawnSync('sh', ['-c', 'command -v ansible-playbook'], { stdio: 'ignore' }).status === 0;
}

export function ansibleHostReady() {
  // The managed hosts share the controller's /usr: the modules need python3-libvirt and python3-lxml there.
  return spawnSync('/usr/bin/python3', ['-c', 'import libvirt, lxml'], { stdio: 'ignore' }).status === 0;
}

/** apt-get install of what --with-ansible needs; returns an error text or null. */
export function installAnsible(log) {
  const need = [];
  if (!ansibleAvailable()) need.push('ansible');
  if (!ansibleHostReady()) need.push('python3-libvirt', 'python3-lxml');
  if (!need.length) return null;
  log(`installing ${need.join(' ')} (apt-get install -y)…`);
  const r = spawnSync('apt-get', ['install', '-y', ...need], { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0)
    return `apt-get install ${need.join(' ')} failed (exit ${r.status}): ${(r.stderr || r.stdout || '').trim().split('\n').slice(-3).join(' ')}`;
  if (!ansibleAvailable() || !ansibleHostReady()) return 'ansible or python3-libvirt/lxml still missing after apt-get install';
  return null;
}

export function ansibleVersion() {
  const r = spawnSync('ansible-playbook', ['--version'], { encoding: 'utf8' });
  return (r.stdout || '').split('\n')[0]?.trim() || 'unknown';
}

let ansibleRun = 0;

/** ansible-playbook bench/ansible/playbook.yml, forks = hosts, pipelining + ControlPersist (fresh control sockets per run). */
export async function runAnsible({ state, labPaths, scenario, workDir }) {
  const dir = join(workDir, `ansible-${process.pid}-${++ansibleRun}`);
  const cp = join(dir, 'cp');
  mkdirSync(cp, { recursive: true });
  const inventory = join(dir, 'inventory.ini');
  writeFileSync(
    inventory,
    [
      '[lab]',
      ...state.hosts.map((h) => `${h.name} ansible_host=${h.address}`),
      '[lab:vars]',
      'ansible_user=root',
      `ansible_ssh_private_key_file=${labPaths.key}`,
      `ansible_ssh_common_args=-F /dev/null -o UserKnownHostsFile=${labPaths.knownHosts} -o StrictHostKeyChecking=yes -o ControlPath=${cp}/%C`,
      '',
    ].join('\n'),
  );
  const argv = ['ansible-playbook', '-i', inventory, '-f', String(state.hosts.length), join(BENCH_DIR, 'ansible', 'playbook.yml')];
  if (scenario === 'check') argv.push('--check');
  const env = { ...process.env, ANSIBLE_CONFIG: join(BENCH_DIR, 'ansible', 'ansible.cfg'), ANSIBLE_LOCAL_TEMP: join(dir, 'tmp'), ANSIBLE_NOCOLOR: '1' };
  const r = await runTimed(argv, { env, cwd: dir });
  // The ControlPersist masters outlive ansible-playbook: close them so the next run starts cold too.
  // Their CPU is not in the time(1) figure (they are not waited for); it is small next to Python's.
  for (const sock of safeList(cp)) spawnSync('ssh', ['-F', '/dev/null', '-o', `ControlPath=${join(cp, sock)}`, '-O', 'exit', 'x'], { stdio: 'ignore' });
  const perHost = [];
  for (const m of r.stdout.matchAll(/^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/gm)) {
    perHost.push({ host: m[1], ok: Number(m[2]), changed: Number(m[3]), unreachable: Number(m[4]), failed: Number(m[5]) });
  }
  let error =
    perHost.length === state.hosts.length
      ? judge(scenario, perHost)
      : `exit ${r.code}: ${perHost.length} hosts in the recap; ${(r.stdout + r.stderr).trim().split('\n').slice(-4).join(' | ').slice(0, 600)}`;
  if (error && r.code !== 0) {
    const fatal = r.stdout
      .split('\n')
      .filter((l) => /^fatal:|^failed:/.test(l))
      .slice(0, 2);
    if (fatal.length) error += `; ${fatal.join(' | ').slice(0, 600)}`;
  }
  rmSync(dir, { recursive: true, force: true });
  return { ...pick(r), ok: !error, ...(error && { error }), perHost };
}

function safeList(dir) {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
