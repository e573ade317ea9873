// --output json: JSON Lines, one event per task per host, then one summary object.
import type { PlaySpec } from '../config/playbook.js';
import type { HostRecap, RunSummary, TaskEvent } from '../model/result.js';
import type { Reporter } from '../run/reporter.js';

export class JsonReporter implements Reporter {
  constructor(private readonly write: (line: string) => void) {}
  playStart(play: PlaySpec, hosts: string[], check: boolean): void {
    this.write(JSON.stringify({ event: 'play', play: play.name, hosts, check }));
  }
  batchStart(index: number, count: number, hosts: string[]): void {
    this.write(JSON.stringify({ event: 'batch', batch: index, batches: count, hosts }));
  }
  taskStart(): void {}
  taskDone(e: TaskEvent): void {
    this.write(JSON.stringify({ event: 'task', ...e }));
  }
  hostDone(_r: HostRecap): void {}
  warn(message: string): void {
    this.write(JSON.stringify({ event: 'warning', message }));
  }
  finish(s: RunSummary): void {
    this.write(JSON.stringify({ event: 'summary', ...s }));
  }
}
