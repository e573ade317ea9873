// Records a run's events for the HTML report (the same objects --output json writes, with their
// times) while passing every call on to the reporter the user sees.
import type { PlaySpec } from '../config/playbook.js';
import type { HostRecap, RunSummary, TaskEvent } from '../model/result.js';
import type { Reporter } from '../run/reporter.js';
import { addEvent, emptyRunLog, type RunLog } from './html-run-log.js';

export class RecordingReporter implements Reporter {
  readonly log: RunLog = emptyRunLog();
  constructor(private readonly inner: Reporter) {}
  private record(event: Record<string, unknown>): void {
    addEvent(this.log, { time: new Date().toISOString(), ...event });
  }
  playStart(play: PlaySpec, hosts: string[], check: boolean): void {
    this.record({ event: 'play', play: play.name, hosts, check });
    this.inner.playStart(play, hosts, check);
  }
  batchStart(index: number, count: number, hosts: string[]): void {
    this.record({ event: 'batch', batch: index, batches: count, hosts });
    this.inner.batchStart?.(index, count, hosts);
  }
  taskStart(host: string, task: string): void {
    this.inner.taskStart(host, task);
  }
  taskDone(e: TaskEvent): void {
    this.record({ event: 'task', ...e });
    this.inner.taskDone(e);
  }
  hostDone(r: HostRecap): void {
    this.inner.hostDone(r);
  }
  warn(message: string): void {
    this.record({ event: 'warning', message });
    this.inner.warn(message);
  }
  finish(s: RunSummary): Promise<void> | void {
    this.record({ event: 'summary', ...s });
    return this.inner.finish(s);
  }
}
