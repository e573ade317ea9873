// The live view on a terminal: the fleet's totals and the current batch on top, then failed and
// unreachable hosts with their error, then the hosts in progress — never taller than the terminal,
// whatever the fleet (`live-layout.ts` decides what fits; `fleet-renderer.ts` paints it through
// listr2). The recap follows at the end, grouped when one line per host would not fit a screen.
import { Listr } from 'listr2';
import type { PlaySpec } from '../config/playbook.js';
import { hostFailed, type HostRecap, type RunSummary, type TaskEvent } from '../model/result.js';
import type { Reporter } from '../run/reporter.js';
import { FleetRenderer, type FleetRendererOptions } from './fleet-renderer.js';
import { diffLines, eventLine, progressLine, recapText, type Colors } from './format.js';
import { layoutLive, type LineTone, type LiveSnapshot, type Screen } from './live-layout.js';

export interface LiveOptions {
  diff: boolean;
  colors: Colors;
  write: (line: string) => void;
  /** `full`: one recap line per host; `fit` (default): grouped when that would not fit the screen. */
  recap?: 'fit' | 'full';
  /** Default process.stdout. */
  stream?: NodeJS.WriteStream;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** One play's state as the live view shows it. */
class PlayView {
  batch?: string;
  readonly recaps: HostRecap[] = [];
  readonly running = new Map<string, string>();
  readonly failed: LiveSnapshot['failed'] = [];
  readonly waiting: Set<string>;
  constructor(
    readonly title: string,
    readonly total: number,
    hosts: string[],
  ) {
    this.waiting = new Set(hosts);
  }

  snapshot(): LiveSnapshot {
    return {
      title: this.title,
      totals: progressLine(this.recaps.length, this.total, this.recaps),
      ...(this.batch ? { batch: this.batch } : {}),
      running: [...this.running].map(([host, task]) => ({ host, task })),
      failed: this.failed,
      waiting: this.waiting.size,
    };
  }
}

export class LiveReporter implements Reporter {
  private view = new PlayView('', 0, []);
  private endPlay?: () => void;
  private rendering: Promise<unknown> = Promise.resolve();
  private readonly after: string[] = [];
  private readonly stream: NodeJS.WriteStream;

  constructor(private readonly o: LiveOptions) {
    this.stream = o.stream ?? process.stdout;
  }

  playStart(play: PlaySpec, hosts: string[], check: boolean): void {
    this.endPlay?.();
    const view = new PlayView(`${play.name}${check ? ' (check mode)' : ''}`, hosts.length, hosts);
    this.view = view;
    const rendererOptions: FleetRendererOptions = {
      frame: (screen, tick) => this.frame(view.snapshot(), screen, SPINNER[tick % SPINNER.length]!),
      // The play is over: what stays on screen is its totals and its failures.
      last: (screen) => this.frame({ ...view.snapshot(), running: [] }, screen, ''),
      stream: this.stream,
    };
    // Made now, not when listr2 starts the task: a fast play may be over before its view starts.
    const played = new Promise<void>((resolve) => (this.endPlay = resolve));
    if (hosts.length === 0) this.endPlay?.();
    // listr2 would exit(127) on the first Ctrl-C: run-command's handler lets changes in flight
    // finish and prints the recap instead.
    const list = new Listr([{ title: view.title, task: () => played }], {
      renderer: FleetRenderer,
      rendererOptions,
      exitOnError: false,
      registerSignalListeners: false,
    });
    this.rendering = this.rendering.then(() => list.run().catch(() => undefined));
  }

  batchStart(index: number, count: number, hosts: string[]): void {
    this.view.batch = `batch ${index}/${count} (${hosts.length} host${hosts.length === 1 ? '' : 's'})`;
  }

  taskStart(host: string, task: string): void {
    this.view.waiting.delete(host);
    this.view.running.set(host, task);
  }

  taskDone(e: TaskEvent): void {
    if (this.o.diff && e.diff) this.after.push(eventLine(e, this.o.colors), ...diffLines(e, this.o.colors));
  }

  hostDone(recap: HostRecap): void {
    const v = this.view;
    v.recaps.push(recap);
    v.waiting.delete(recap.host);
    v.running.delete(recap.host);
    if (hostFailed(recap)) {
      const outcome = recap.unreachable ? 'unreachable' : recap.rolled_back ? 'rolled back' : 'failed';
      v.failed.push({ host: recap.host, outcome, error: recap.error ?? '' });
    }
    if (v.recaps.length >= v.total) this.endPlay?.();
  }

  warn(message: string): void {
    this.after.push(this.o.colors.yellow(`warning: ${message}`));
  }

  /** The current play's state as the layout sees it. */
  snapshot(): LiveSnapshot {
    return this.view.snapshot();
  }

  private frame(s: LiveSnapshot, screen: Screen, spinner: string): string[] {
    const c = this.o.colors;
    const tone: Record<LineTone, (t: string) => string> = { title: c.bold, totals: c.bold, failed: c.red, running: (t) => t, more: c.dim };
    return layoutLive(s, screen, spinner).map((l) => tone[l.tone](l.text));
  }

  async finish(summary: RunSummary): Promise<void> {
    this.endPlay?.();
    await this.rendering;
    for (const line of this.after) this.o.write(line);
    this.o.write('');
    const rows = this.stream.rows || 24;
    // Room for the line about the .retry file and the shell's prompt.
    this.o.write(recapText(summary, this.o.colors, this.o.recap === 'full' ? { mode: 'full' } : { mode: 'fit', lines: rows - 2 }));
  }
}
