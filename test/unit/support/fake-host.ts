// A host for executor tests: the facts exec answers with output captured on a lab host; every
// other script really runs under `sh`, with `ip`, `bridge` and `virsh` replaced by stubs that
// record their arguments (and fail where the test says), so nothing on this machine changes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection, ExecOptions, ExecResult } from '../../../src/connection/types.js';

export interface FakeHostOptions {
  /** Name of a capture in test/fixtures/facts (its .stdout is the facts exec's output). */
  facts: string;
  /** Stubbed commands whose argument line matches this fail with an RTNETLINK-style error. */
  failOn?: RegExp;
}

export class FakeHost implements Connection {
  readonly stats = { connections: 1, execs: 0 };
  readonly description = 'fake host';
  readonly scripts: string[] = [];
  private readonly dir = mkdtempSync(join(tmpdir(), 'kvmnet-fake-'));
  private readonly factsOutput: string;

  constructor(private readonly options: FakeHostOptions) {
    this.factsOutput = readFileSync(new URL(`../../fixtures/facts/${options.facts}.stdout`, import.meta.url), 'utf8');
    writeFileSync(join(this.dir, 'log'), '');
  }

  /** The stubbed commands the scripts ran, in order (`ip link add br0 type bridge …`). */
  get commands(): string[] {
    return readFileSync(join(this.dir, 'log'), 'utf8').split('\n').filter(Boolean);
  }

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    this.stats.execs += 1;
    this.scripts.push(command);
    // A batch ends with a read-back of the facts: the fake host has no state to read back, so it
    // runs the changes only (the batch then goes by their exit codes, as without a read-back).
    const readBack = /\nprintf '[^\n]*' '[^']* read-back'\n/.exec(command);
    if (readBack) command = command.slice(0, readBack.index + 1);
    if (command.includes("echo '@@kvmnet:hostname@@'")) {
      // The first facts exec of a run also takes the host's run lock: it is free here.
      const lock = command.includes('/run/lock/kvmnet.lock') ? '@@kvmnet:lock@@ok\n' : '';
      return { stdout: lock + this.factsOutput, stderr: '', exitCode: 0 };
    }
    // A later exec for fragments the first did not read: the capture holds their sections too.
    if (command.includes("echo '@@kvmnet:top-up@@'")) return { stdout: this.factsOutput, stderr: '', exitCode: 0 };
    const fail = this.options.failOn?.source ?? '^$';
    const stub = (name: string) =>
      `${name}() { line="${name} $*"; printf '%s\\n' "$line" >> "$FAKE_LOG"; if printf '%s' "$line" | grep -Eq '${fail.replaceAll("'", '')}'; then echo "RTNETLINK answers: Operation not permitted" >&2; return 2; fi; }`;
    const script = [stub('ip'), stub('bridge'), stub('virsh'), command].join('\n');
    const r = spawnSync('sh', ['-c', script], { input: options.stdin, encoding: 'utf8', env: { ...process.env, FAKE_LOG: join(this.dir, 'log') } });
    options.onStdout?.(r.stdout);
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.status };
  }

  async close(): Promise<void> {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
