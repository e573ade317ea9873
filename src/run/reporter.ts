import type { PlaySpec } from '../config/playbook.js';
import type { HostRecap, RunSummary, TaskEvent } from '../model/result.js';

/** What the executor tells the user interface. Implementations live in src/report. */
export interface Reporter {
  playStart(play: PlaySpec, hosts: string[], check: boolean): void;
  batchStart?(index: number, count: number, hosts: string[]): void;
  taskStart(host: string, task: string): void;
  taskDone(event: TaskEvent): void;
  hostDone(recap: HostRecap): void;
  warn(message: string): void;
  finish(summary: RunSummary): Promise<void> | void;
}
