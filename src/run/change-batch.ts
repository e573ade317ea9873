// Consecutive tasks' changes go to the host as ONE exec instead of one exec per task: planning is
// done on the in-memory facts anyway, so nothing needs to be read back between two tasks. Each
// task's part runs in its own `set -e` subshell and prints a marker with its status, so a failure
// is still the failure of exactly one task, the tasks before it count as applied and the tasks
// after it never started. Events that happened (in the code) after a queued change wait for it,
// so every reporter sees the same order as if each task had run on its own.
import { randomBytes } from 'node:crypto';
import type { Connection } from '../connection/types.js';
import type { Facts } from '../model/facts.js';
import { UnreachableError } from '../errors.js';
import { changeLines, type Change } from '../model/plan.js';

/**
 * Bigger batches are sent in several execs: sshd runs the command as one argument of `sh -c`, which
 * Linux limits to 128 KiB (MAX_ARG_STRLEN), and become wraps it once more.
 */
export const MAX_BATCH_BYTES = 48 * 1024;

export interface BatchedTask {
  changes: Change[];
  /** What did not take, from the facts read back after the batch (the same exec); empty when all did. */
  verify?(actual: Facts): string[];
  /** The task's part ran to its end: `durationMs` is the time since the part before it ended. */
  applied(durationMs: number): void;
  /** The task's part failed: what the commands said. The host stops. */
  failed(message: string, durationMs: number): void;
  /** The connection died during this task's part. The host stops. */
  lost(error: UnreachableError, durationMs: number): Promise<void>;
}

type Entry = { task: BatchedTask } | { event: () => void };

/** How the batch reads the host back after its changes, in the same exec. */
export interface ReadBack {
  script: string;
  parse(stdout: string, stderr: string): Facts;
}

export class ChangeBatch {
  private entries: Entry[] = [];
  private tasks = 0;
  private bytes = 0;

  /** `readBack`: how to read this host back now (its facts may have gained fragments since the batch was made). */
  constructor(private readonly readBackOf?: () => ReadBack | undefined) {}

  get size(): number {
    return this.tasks;
  }

  /** Runs `event` now, or once the tasks queued before it have been applied (dropped if one fails). */
  defer(event: () => void): void {
    if (this.tasks === 0) event();
    else this.entries.push({ event });
  }

  /** Whether the task's changes can still join this batch; a task too big for any batch runs on its own. */
  fits(changes: Change[]): boolean {
    return this.bytes + taskPart(changes, 0, 'x').length <= MAX_BATCH_BYTES;
  }

  add(task: BatchedTask): void {
    this.entries.push({ task });
    this.tasks += 1;
    this.bytes += taskPart(task.changes, 0, 'x').length;
  }

  /**
   * Sends the queued tasks as one exec and settles each in order as its marker arrives.
   * Returns false when a task failed or the connection was lost (the host stops).
   */
  async flush(conn: Connection): Promise<boolean> {
    if (this.tasks === 0) return true;
    const entries = this.entries;
    const count = this.tasks;
    this.entries = [];
    this.tasks = 0;
    this.bytes = 0;

    const nonce = randomBytes(6).toString('hex');
    const queued = entries.filter((e): e is { task: BatchedTask } => 'task' in e).map((e) => e.task);
    const readBack = this.readBackOf?.();
    const readBackMark = `kvmnet-${nonce} read-back`;
    // After the last part, the same exec reads back what the changes touched.
    const script =
      batchScript(
        queued.map((t) => t.changes),
        nonce,
      ) + (readBack ? `printf '\\n%s\\n' '${readBackMark}'\n(\n${readBack.script})\n` : '');
    let next = 0;
    let lastEnd = Date.now();
    // Runs the events at the head of the queue, up to the next queued task.
    const runLeadingEvents = () => {
      for (let head = entries[0]; head && 'event' in head; head = entries[0]) {
        entries.shift();
        head.event();
      }
    };
    // Settles the next queued task (after the events queued before it) with its status; a task whose
    // part ran is judged on what the host reads back (once the exec has ended, when there is a read-back).
    let actual: Facts | undefined;
    const ended: number[] = [];
    const settle = (status: number, stderr: string): boolean => {
      runLeadingEvents();
      const entry = entries.shift();
      if (!entry || !('task' in entry)) return false;
      const now = ended.shift() ?? Date.now();
      const durationMs = now - lastEnd;
      lastEnd = now;
      next += 1;
      const notInEffect = status === 0 && actual ? (entry.task.verify?.(actual) ?? []) : [];
      if (notInEffect.length) {
        entry.task.failed(`applied, not in effect: ${notInEffect.join('; ')}`, durationMs);
        entries.length = 0;
        return false;
      }
      if (status === 0) {
        entry.task.applied(durationMs);
        // The events that follow it, up to the next queued task, happened after it.
        runLeadingEvents();
        return true;
      }
      entry.task.failed(oneLine(stderr) || `exit code ${status}`, durationMs);
      entries.length = 0;
      return false;
    };

    const markers = new MarkerReader(nonce);
    try {
      const result = await conn.exec(script, {
        timeoutFactor: count,
        onStdout: (text) => {
          for (const m of markers.read(text)) {
            if (m.status !== 0) continue;
            if (readBack) ended.push(Date.now());
            else settle(0, '');
          }
        },
      });
      const stderrParts = splitStderr(result.stderr, nonce);
      if (readBack) {
        const at = result.stdout.indexOf(`\n${readBackMark}\n`);
        // A read-back that cannot be read leaves the tasks as their exit codes say.
        if (at >= 0) actual = tryParse(readBack, result.stdout.slice(at + readBackMark.length + 2), stderrParts.at(-1) ?? '');
        for (const m of markers.all) if (m.status === 0 && !settle(0, '')) return false;
      }
      const failed = markers.all.find((m) => m.status !== 0);
      if (failed) return settle(failed.status, stderrParts[failed.index] ?? '');
      if (next < count) {
        // No marker and no failure marker: the shell itself died (killed, or set -e outside a part).
        const reason = oneLine(stderrParts[next] ?? '') || `exit code ${result.exitCode}${result.signal ? ` (${result.signal})` : ''}`;
        return settle(result.exitCode || 1, reason);
      }
      runLeadingEvents();
      return true;
    } catch (error) {
      // Parts that ended before the exec failed count as applied (nothing was read back for them).
      for (const m of markers.all.slice(next)) if (m.status === 0) settle(0, '');
      if (!(error instanceof UnreachableError)) {
        // A timeout: the part in flight failed with it, the rest never started.
        return settle(1, `timed out: ${(error as Error).message}`);
      }
      runLeadingEvents();
      const inFlight = entries.shift();
      entries.length = 0;
      if (inFlight && 'task' in inFlight) await inFlight.task.lost(error, Date.now() - lastEnd);
      return false;
    }
  }
}

/** The read-back's facts, or undefined when they cannot be read (the tasks then go by their exit codes). */
function tryParse(readBack: ReadBack, stdout: string, stderr: string): Facts | undefined {
  try {
    return readBack.parse(stdout, stderr);
  } catch {
    return undefined;
  }
}

/** Command output as one line of a report: `error: Failed to start network x; error: internal error: …`. */
export function oneLine(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join('; ');
}

/** The shell text of one task's changes, in its own `set -e` subshell, then its marker. */
function taskPart(changes: Change[], index: number, nonce: string): string {
  const lines = changeLines(changes);
  const mark = `kvmnet-${nonce} ${index}`;
  return [
    '(',
    'set -e',
    ...lines,
    ')',
    // The marker on both streams: stdout for progress, stderr to tell whose stderr is whose; on a
    // line of its own even after output that did not end with a newline.
    `rc=$?; printf '\\n%s %s\\n' '${mark}' "$rc"; printf '\\n%s %s\\n' '${mark}' "$rc" >&2; [ "$rc" -eq 0 ] || exit "$rc"`,
  ].join('\n');
}

export function batchScript(tasks: Change[][], nonce: string): string {
  // The first line is what a timeout or a lost connection quotes of the command.
  return [`# kvmnet: the changes of ${tasks.length} task(s)`, ...tasks.map((changes, i) => taskPart(changes, i, nonce))].join('\n') + '\n';
}

export interface Marker {
  index: number;
  status: number;
}

/** Reads `kvmnet-NONCE INDEX STATUS` lines from stdout that arrives in arbitrary chunks. */
export class MarkerReader {
  readonly all: Marker[] = [];
  private partial = '';
  private readonly pattern: RegExp;

  constructor(nonce: string) {
    this.pattern = new RegExp(`^kvmnet-${nonce} (\\d+) (\\d+)$`);
  }

  read(text: string): Marker[] {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    const found: Marker[] = [];
    for (const line of lines) {
      const m = this.pattern.exec(line);
      if (m) found.push({ index: Number(m[1]), status: Number(m[2]) });
    }
    this.all.push(...found);
    return found;
  }
}

/** Each task's stderr: the text before its marker line on stderr. */
export function splitStderr(stderr: string, nonce: string): string[] {
  const parts: string[] = [];
  let current: string[] = [];
  const pattern = new RegExp(`^kvmnet-${nonce} \\d+ \\d+$`);
  for (const line of stderr.split('\n')) {
    if (pattern.test(line)) {
      parts.push(current.join('\n'));
      current = [];
    } else current.push(line);
  }
  parts.push(current.join('\n'));
  return parts;
}
