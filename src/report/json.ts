// --output json: JSON Lines, one event per task per host, then one summary object. Every line
// carries `time` (ISO 8601, when it was written), so a run's timeline can be read back. The first
// line is the header (report/run-header.ts) when the caller gives one: what inputs these results are of.
import type { PlaySpec } from '../config/playbook.js';
import type { HostRecap, RunSummary, TaskEvent } from '../model/result.js';
import type { Reporter } from '../run/reporter.js';
import type { RunHeader } from './run-header.js';

export class JsonReporter implements Reporter {
  constructor(
    private readonly writeLine: (line: string) => void,
    header?: RunHeader,
  ) {
    if (header) this.write({ ...header });
  }
  private write(event: Record<string, unknown>): void {
    this.writeLine(JSON.stringify({ time: new Date().toISOString(), ...event }));
  }
  playStart(play: PlaySpec, hosts: string[], check: boolean): void {
    this.write({ event: 'play', play: play.name, hosts, check });
  }
  batchStart(index: number, count: number, hosts: string[]): void {
    this.write({ event: 'batch', batch: index, batches: count, hosts });
  }
  taskStart(): void {}
  taskDone(e: TaskEvent): void {
    this.write({ event: 'task', ...e });
  }
  hostDone(_r: HostRecap): void {}
  warn(message: string): void {
    this.write({ event: 'warning', message });
  }
  finish(s: RunSummary): void {
    this.write({ event: 'summary', ...s });
  }
}
