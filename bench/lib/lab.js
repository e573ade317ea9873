// The real-lab side of the benchmark: lab lifecycle, resetting hosts to fresh, counting virsh
// processes on the lab hosts. Uses kvmnet's own lab API (dist/lab).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pool } from './proc.js';

export const BENCH_DIR = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
export const REPO_DIR = join(BENCH_DIR, '..');

export async function labApi() {
  const file = join(REPO_DIR, 'dist', 'lab', 'index.js');
  if (!existsSync(file)) throw new Error('kvmnet is not built (dist/lab/index.js is missing): run `npm run build`');
  return import(file);
}

const HOST_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', HOME: '/root' };

/** Runs a shell script inside one lab host (its network, mount and UTS namespaces), not through SSH. */
export function inHost(lab, state, name, script) {
  const argv = [...lab.hostCommand(state, name), '/bin/sh', '-s'];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { env: HOST_ENV, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => {});
    child.stdin.end(script);
  });
}

const RESET_SH = () => readFileSync(join(BENCH_DIR, 'reset.sh'), 'utf8');

/** Puts every host back to fresh (bench/reset.sh), all at once. */
export async function resetHosts(lab, state) {
  const script = RESET_SH();
  const started = Date.now();
  const res = await pool(state.hosts, state.hosts.length, (h) => inHost(lab, state, h.name, script));
  const bad = res.map((r, i) => (r.code === 0 ? null : `${state.hosts[i].name}: exit ${r.code} ${r.stderr.trim()}`)).filter(Boolean);
  if (bad.length) throw new Error(`reset failed: ${bad.join('; ')}`);
  return Date.now() - started;
}

// The counting wrapper is bind-mounted over /usr/bin/virsh inside each lab host's PRIVATE mount
// namespace (the lab holder runs `unshare -m --propagation private`): sshd sessions on the host see
// the wrapper, the controller's /usr/bin/virsh is untouched. The real binary stays reachable
// through a second bind mount under the host's private /run.
const COUNTER_DIR = '/run/kvmnet-lab';
const INSTALL_COUNTER = `set -e
d=${COUNTER_DIR}
if ! grep -q ' /usr/bin/virsh ' /proc/self/mountinfo; then
  touch $d/virsh.real
  mount --bind /usr/bin/virsh $d/virsh.real
  cat > $d/virsh.wrap <<'EOF'
#!/bin/sh
echo "$*" >> ${COUNTER_DIR}/virsh.log
exec ${COUNTER_DIR}/virsh.real "$@"
EOF
  chmod 755 $d/virsh.wrap
  mount --bind $d/virsh.wrap /usr/bin/virsh
fi
: > $d/virsh.log
`;
const READ_COUNTER = `cat ${COUNTER_DIR}/virsh.log; : > ${COUNTER_DIR}/virsh.log`;
const REMOVE_COUNTER = `umount /usr/bin/virsh 2>/dev/null; umount ${COUNTER_DIR}/virsh.real 2>/dev/null; rm -f ${COUNTER_DIR}/virsh.real ${COUNTER_DIR}/virsh.wrap ${COUNTER_DIR}/virsh.log; grep -q ' /usr/bin/virsh ' /proc/self/mountinfo && exit 1; exit 0`;

export async function installVirshCounter(lab, state) {
  const res = await pool(state.hosts, 8, (h) => inHost(lab, state, h.name, INSTALL_COUNTER));
  const bad = res.filter((r) => r.code !== 0);
  if (bad.length) throw new Error(`cannot install the virsh counter: ${bad[0].stderr.trim()}`);
  // The controller's own view must be unchanged.
  const root = readFileSync('/proc/self/mountinfo', 'utf8');
  if (root.includes(' /usr/bin/virsh ')) throw new Error('BUG: the virsh counter leaked into the root mount namespace');
}

/** virsh invocations per host since the last read (and resets the logs). */
export async function readVirshCounter(lab, state) {
  const res = await pool(state.hosts, 8, (h) => inHost(lab, state, h.name, READ_COUNTER));
  return res.map((r) => r.stdout.split('\n').filter(Boolean));
}

export async function removeVirshCounter(lab, state) {
  await pool(state.hosts, 8, (h) => inHost(lab, state, h.name, REMOVE_COUNTER));
}
