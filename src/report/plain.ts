// Line-per-outcome output, for pipes, logs and CI (no redraws).
import type { PlaySpec } from '../config/playbook.js';
import type { HostRecap, RunSummary, TaskEvent } from '../model/result.js';
import type { Reporter } from '../run/reporter.js';
import { diffLines, eventLine, recapText, type Colors } from './format.js';

export interface PlainOptions {
  diff: boolean;
  verbose: number;
  colors: Colors;
  write: (line: string) => void;
}

export class PlainReporter implements Reporter {
  constructor(private readonly o: PlainOptions) {}
  playStart(play: PlaySpec, hosts: string[], check: boolean): void {
    this.o.write(this.o.colors.bold(`PLAY [${play.name}] on ${hosts.length} host${hosts.length === 1 ? '' : 's'}${check ? ' (check mode)' : ''}`));
  }
  batchStart(index: number, count: number, hosts: string[]): void {
    this.o.write(this.o.colors.bold(`BATCH ${index}/${count}: ${hosts.join(', ')}`));
  }
  taskStart(host: string, task: string): void {
    if (this.o.verbose > 1) this.o.write(this.o.colors.dim(`${host} | ${task} | started`));
  }
  taskDone(e: TaskEvent): void {
    this.o.write(eventLine(e, this.o.colors));
    if (this.o.diff) diffLines(e, this.o.colors).forEach((l) => this.o.write(l));
  }
  hostDone(_recap: HostRecap): void {}
  warn(message: string): void {
    this.o.write(this.o.colors.yellow(`warning: ${message}`));
  }
  finish(summary: RunSummary): void {
    this.o.write('');
    this.o.write(recapText(summary, this.o.colors));
  }
}
