#!/usr/bin/env node
// bench/sim/server.js: an SSH fleet simulator. One ssh2 `Server` per simulated hypervisor, each on
// its own 127.0.0.1 port, answering kvmnet's commands from an in-memory model of the host:
//
//   - the facts script (src/run/host-facts.ts HOST_FACTS_SCRIPT): the output captured from a real lab host
//     in bench/sim/fixtures/<state>.json, replayed byte for byte (only `uname -n` is the simulated
//     host's own name);
//   - a `set -e` change script, or a batch of them: exit 0 (each part's marker printed), and the
//     host's model becomes `converged`;
//   - kvmnet's run lock (a lock preamble before the facts script): granted to one connection per
//     simulated host until it closes, `busy` to others;
//   - kvmnet's PID announcement line (`printf '%s %s\n' kvmnet-pid-… $$ >&2`) is answered like a
//     shell would, with a fake PID; `kill …` (timeout clean-up) exits 0;
//   - anything else: exit 127 and counted as `unknown` (a benchmark that sees these is broken).
//
// Authentication is real: the client must sign with the fleet's client key (bench/sim/fleet.js).
// All hosts share one host key. Control on stdin, one command a line; answers on stdout as JSON:
//   stats            → {"stats":{connections,execs,facts,changes,unknown,...}}
//   state NAME       → every host's model becomes NAME (a fixture name: converged, fresh)
//   quit             → exits
//
// usage: node bench/sim/server.js --dir DIR --hosts N [--first K] [--state converged] [--latency-ms 0]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const require = createRequire(import.meta.url);
const { Server, utils } = require('ssh2');

const args = parseArgs(process.argv.slice(2));
const dir = args.dir;
const hosts = Number(args.hosts);
const latencyMs = Number(args['latency-ms'] ?? 0);
// --immediate: answer in the same tick as the exec is accepted (as sshd does for a command that
// finishes at once and reads no stdin), instead of after the client's EOF. Exposes clients that
// attach their `exit` listener late.
const immediate = Boolean(args.immediate);
if (!dir || !Number.isInteger(hosts) || hosts < 1) {
  console.error('usage: server.js --dir DIR --hosts N [--state converged|fresh] [--latency-ms MS]');
  process.exit(2);
}

const FIXTURES_DIR = new URL('./fixtures/', import.meta.url).pathname;
const fixtures = {};
for (const name of ['fresh', 'converged']) fixtures[name] = JSON.parse(readFileSync(join(FIXTURES_DIR, `${name}.json`), 'utf8'));

const hostKey = readFileSync(join(dir, 'host_key'));
const clientKey = utils.parseKey(readFileSync(join(dir, 'client_key.pub')));
if (clientKey instanceof Error) throw clientKey;
const clientPub = clientKey.getPublicSSH();

const stats = {
  connections: 0,
  authFailures: 0,
  execs: 0,
  facts: 0,
  locks: 0,
  changes: 0,
  kills: 0,
  unknown: 0,
  openConnections: 0,
  peakOpenConnections: 0,
  unknownSamples: [],
};
// --first K: this process simulates hosts K+1 … K+N (the bench splits big fleets over processes).
const first = Number(args.first ?? 0);
const model = Array.from({ length: hosts }, (_, i) => ({ name: `sim${String(first + i + 1).padStart(4, '0')}`, state: args.state ?? 'converged' }));

const PID_LINE = /^printf '%s %s\\n' (kvmnet-pid-[0-9a-f]+) \$\$ >&2\n/;
let fakePid = 1000;

function answer(host, conn, command, channel) {
  stats.execs += 1;
  let rest = command;
  const pid = PID_LINE.exec(rest);
  if (pid) {
    channel.stderr.write(`${pid[1]} ${++fakePid}\n`);
    rest = rest.slice(pid[0].length);
  }
  let out = '';
  let err = '';
  let code = 0;
  if (rest.includes('@@kvmnet:hostname@@')) {
    stats.facts += 1;
    const f = fixtures[host.state];
    out = f.stdout.replace(/(@@kvmnet:hostname@@\n)[^\n]*\n/, `$1${host.name}\n`);
    err = f.stderr;
    code = f.exitCode;
    // kvmnet's run lock (src/facts/lock-script.ts), taken in the first facts exec of a run and held
    // for the life of the SSH connection: one holder per simulated host.
    if (rest.includes('@@kvmnet:lock@@')) {
      stats.locks += 1;
      if (host.lockedBy && host.lockedBy !== conn) {
        out = '@@kvmnet:lock@@busy another kvmnet run (simulated)\n';
        code = 0;
      } else {
        host.lockedBy = conn;
        out = `@@kvmnet:lock@@ok\n${out}`;
      }
    }
  } else if (/^set -e\n/.test(rest)) {
    stats.changes += 1;
    host.state = 'converged';
  } else if (/^# kvmnet: the changes of \d+ task/.test(rest)) {
    // Several tasks' changes in one exec (src/run/change-batch.ts): every part succeeds and says so.
    stats.changes += 1;
    host.state = 'converged';
    const marks = [...rest.matchAll(/'(kvmnet-[0-9a-f]+ \d+)' "\$rc" >&2/g)].map((m) => `${m[1]} 0\n`);
    out = marks.join('');
    err = marks.join('');
  } else if (/^kill /.test(rest)) {
    stats.kills += 1;
  } else {
    stats.unknown += 1;
    if (stats.unknownSamples.length < 5) stats.unknownSamples.push(rest.slice(0, 200));
    err = `sim: unknown command\n`;
    code = 127;
  }
  const finish = () => {
    if (out) channel.write(out);
    if (err) channel.stderr.write(err);
    channel.exit(code);
    channel.end();
  };
  // Like a shell, answer once the client has sent its stdin (kvmnet always ends it).
  let ended = false;
  const go = () => {
    if (ended) return;
    ended = true;
    if (latencyMs > 0) setTimeout(finish, latencyMs);
    else finish();
  };
  channel.on('data', () => {});
  if (immediate && !rest.includes('/dev/stdin')) return go();
  channel.once('end', go);
  channel.once('close', () => (ended = true));
}

function onClient(host) {
  return (client) => {
    let counted = false;
    client.on('authentication', (ctx) => {
      if (ctx.method === 'publickey' && ctx.username === 'root' && ctx.key.algo === clientKey.type && ctx.key.data.equals(clientPub)) {
        if (!ctx.signature) return ctx.accept();
        if (clientKey.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true) return ctx.accept();
      }
      if (ctx.method !== 'none') stats.authFailures += 1;
      ctx.reject(['publickey']);
    });
    client.on('ready', () => {
      stats.connections += 1;
      stats.openConnections += 1;
      counted = true;
      stats.peakOpenConnections = Math.max(stats.peakOpenConnections, stats.openConnections);
      client.on('session', (accept) => {
        const session = accept();
        session.on('exec', (acceptExec, _reject, info) => answer(host, client, info.command, acceptExec()));
        session.on('pty', (a) => a?.());
        session.on('env', (a) => a?.());
      });
    });
    client.on('error', () => {});
    client.on('close', () => {
      if (host.lockedBy === client) host.lockedBy = undefined;
      if (counted) stats.openConnections -= 1;
    });
  };
}

const servers = [];
const ports = [];
for (const host of model) {
  const server = new Server({ hostKeys: [hostKey], ident: 'OpenSSH_9.2p1 kvmnet-sim' }, onClient(host));
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  server.on('error', (e) => console.error(`sim ${host.name}: ${e.message}`));
  servers.push(server);
  ports.push(server.address().port);
}

process.stdout.write(`${JSON.stringify({ ready: true, ports, names: model.map((h) => h.name) })}\n`);

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [cmd, arg] = line.trim().split(/\s+/);
  if (cmd === 'stats') {
    process.stdout.write(`${JSON.stringify({ stats: { ...stats, states: countStates() } })}\n`);
  } else if (cmd === 'reset-stats') {
    for (const k of Object.keys(stats)) if (typeof stats[k] === 'number' && k !== 'openConnections') stats[k] = 0;
    stats.unknownSamples = [];
    process.stdout.write(`${JSON.stringify({ ok: true })}\n`);
  } else if (cmd === 'state' && fixtures[arg]) {
    for (const h of model) h.state = arg;
    process.stdout.write(`${JSON.stringify({ ok: true })}\n`);
  } else if (cmd === 'quit') {
    process.exit(0);
  } else {
    process.stdout.write(`${JSON.stringify({ error: `unknown control command: ${line}` })}\n`);
  }
});
rl.on('close', () => process.exit(0));

function countStates() {
  const c = {};
  for (const h of model) c[h.state] = (c[h.state] ?? 0) + 1;
  return c;
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) out[a.slice(2)] = argv[i + 1]?.startsWith('--') || argv[i + 1] === undefined ? true : argv[++i];
  }
  return out;
}
