// The live view on a terminal (listr2): one row per host in progress showing its current task,
// finished hosts folded into one summary line so a fleet of 500 fits a screen, failed and
// unreachable hosts kept on screen with their error. The recap follows at the end.
import { Listr, type ListrTaskWrapper } from 'listr2';
import type { PlaySpec } from '../config/playbook.js';
import { hostFailed, type HostRecap, type RunSummary, type TaskEvent } from '../model/result.js';
import type { Reporter } from '../run/reporter.js';
import { diffLines, eventLine, outcomeLabel, progressLine, recapText, type Colors } from './format.js';

type Wrapper = ListrTaskWrapper<unknown, never, never>;

interface HostRow {
  wrapper?: Wrapper;
  finish?: (err?: Error) => void;
  started: boolean;
  title: string;
}

// listr2 renders only enabled tasks and re-checks on every frame. Hosts waiting for a fork slot
// and hosts that finished cleanly are hidden this way (the property is private in its types).
function setVisible(w: Wrapper | undefined, visible: boolean): void {
  if (w) (w.task as unknown as { enabled: boolean }).enabled = visible;
}

export class LiveReporter implements Reporter {
  private rows = new Map<string, HostRow>();
  private recaps: HostRecap[] = [];
  private total = 0;
  private batch = '';
  private playTitle = '';
  private summary?: Wrapper;
  private finishSummary?: () => void;
  private running: Promise<unknown> = Promise.resolve();
  private diffs: string[] = [];

  constructor(private readonly o: { diff: boolean; colors: Colors; write: (line: string) => void }) {}

  playStart(play: PlaySpec, hosts: string[], check: boolean): void {
    this.rows = new Map(hosts.map((h) => [h, { started: false, title: `${h}: waiting` }]));
    this.recaps = [];
    this.total = hosts.length;
    this.batch = '';
    this.playTitle = `${play.name}${check ? ' (check mode)' : ''}`;
    const list = new Listr(
      [
        {
          title: `${play.name}${check ? ' (check mode)' : ''}: ${progressLine(0, hosts.length, [])}`,
          task: (_ctx, t) =>
            new Promise<void>((resolve) => {
              this.summary = t as unknown as Wrapper;
              this.finishSummary = resolve;
              if (hosts.length === 0) resolve();
            }),
        },
        ...hosts.map((host) => ({
          title: `${host}: waiting`,
          task: (_ctx: unknown, t: unknown) =>
            new Promise<void>((resolve, reject) => {
              const row = this.rows.get(host)!;
              row.wrapper = t as Wrapper;
              row.finish = (err) => (err ? reject(err) : resolve());
              setVisible(row.wrapper, row.started);
              row.wrapper.title = row.title;
            }),
        })),
      ],
      {
        concurrent: true,
        exitOnError: false,
        rendererOptions: { collapseErrors: false, showErrorMessage: true, formatOutput: 'truncate' },
      },
    );
    this.running = this.running.then(() => list.run().catch(() => undefined));
  }

  batchStart(index: number, count: number, hosts: string[]): void {
    this.batch = `batch ${index}/${count} (${hosts.length} hosts) · `;
    this.updateSummary();
  }

  taskStart(host: string, task: string): void {
    const row = this.rows.get(host);
    if (!row) return;
    row.started = true;
    row.title = `${host}: ${task}`;
    setVisible(row.wrapper, true);
    if (row.wrapper) row.wrapper.title = row.title;
  }

  taskDone(e: TaskEvent): void {
    const row = this.rows.get(e.host);
    if (row) {
      row.title = `${e.host}: ${e.task} → ${outcomeLabel(e, this.o.colors)}`;
      if (row.wrapper) row.wrapper.title = row.title;
    }
    if (this.o.diff && e.diff) this.diffs.push(eventLine(e, this.o.colors), ...diffLines(e, this.o.colors));
  }

  hostDone(recap: HostRecap): void {
    this.recaps.push(recap);
    const row = this.rows.get(recap.host);
    if (row) {
      if (hostFailed(recap)) row.finish?.(new Error(`${recap.host}: ${recap.unreachable ? 'unreachable' : recap.rolled_back ? 'rolled back' : 'failed'}: ${recap.error ?? ''}`));
      else {
        setVisible(row.wrapper, false);
        row.finish?.();
      }
    }
    this.updateSummary();
    if (this.recaps.length >= this.total) this.finishSummary?.();
  }

  warn(message: string): void {
    this.diffs.push(this.o.colors.yellow(`warning: ${message}`));
  }

  private updateSummary(): void {
    if (this.summary) this.summary.title = `${this.playTitle}: ${this.batch}${progressLine(this.recaps.length, this.total, this.recaps)}`;
  }

  async finish(summary: RunSummary): Promise<void> {
    // A rollout that stopped early leaves hosts that never ran: close their rows.
    for (const row of this.rows.values()) {
      setVisible(row.wrapper, false);
      row.finish?.();
    }
    this.finishSummary?.();
    await this.running;
    for (const line of this.diffs) this.o.write(line);
    this.o.write('');
    this.o.write(recapText(summary, this.o.colors));
  }
}
