// A listr2 renderer (listr2's public custom-renderer API) that paints the frames of the live view
// in place: listr2 runs the play's lifecycle, `live-layout.ts` decides what fits, this module only
// owns the terminal — redraw in place, follow resizes, keep other output above the frame.
import type { Screen } from './live-layout.js';
import { displayWidth } from './live-layout.js';

export type FleetRendererOptions = {
  /** The lines to draw now, already fitted to the screen. `tick` advances spinners. */
  frame: (screen: Screen, tick: number) => string[];
  /** The frame left on screen when the play ends. */
  last: (screen: Screen) => string[];
  /** Default process.stdout. */
  stream?: NodeJS.WriteStream;
  intervalMs?: number;
  /** Streams whose other writers print above the frame. Default process.stdout and process.stderr. */
  intercept?: NodeJS.WriteStream[];
};

const ESC = '\u001b[';
const HIDE_CURSOR = `${ESC}?25l`;
const SHOW_CURSOR = `${ESC}?25h`;
// Strip colours to measure what a line occupies on screen.
// eslint-disable-next-line no-control-regex -- the escape character is what it matches
const SGR = /\u001b\[[0-9;]*m/g;

export class FleetRenderer {
  static nonTTY = false;
  static rendererOptions: FleetRendererOptions;
  static rendererTaskOptions: Record<PropertyKey, never>;

  private readonly stream: NodeJS.WriteStream;
  private readonly write: (s: string) => boolean;
  private drawn: string[] = [];
  private tick = 0;
  // Someone else's line is open (a passphrase prompt): no frame until it ends.
  private held = false;
  private timer?: NodeJS.Timeout;
  private readonly restore: Array<() => void> = [];
  private readonly showCursorOnExit = () => this.write(SHOW_CURSOR);

  constructor(
    _tasks: unknown[],
    private readonly options: FleetRendererOptions,
  ) {
    this.stream = options.stream ?? process.stdout;
    // Keep the stream's own write: other output goes through the interception below.
    const own = this.stream.write.bind(this.stream);
    this.write = (s: string) => own(s);
  }

  render(): void {
    this.write(HIDE_CURSOR);
    process.once('exit', this.showCursorOnExit);
    const onResize = () => this.paint();
    this.stream.on('resize', onResize);
    this.restore.push(() => this.stream.off('resize', onResize));
    for (const s of this.options.intercept ?? [process.stdout, process.stderr]) this.intercept(s);
    this.paint();
    this.timer = setInterval(() => {
      this.tick++;
      this.paint();
    }, this.options.intervalMs ?? 100);
    this.timer.unref();
  }

  end(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.held) this.write('\n');
    this.held = false;
    this.draw(this.options.last(this.screen()));
    this.write('\n' + SHOW_CURSOR);
    this.drawn = [];
    for (const undo of this.restore.splice(0).reverse()) undo();
    process.off('exit', this.showCursorOnExit);
  }

  private screen(): Screen {
    return { rows: this.stream.rows || 24, columns: this.stream.columns || 80 };
  }

  private paint(): void {
    if (!this.held) this.draw(this.options.frame(this.screen(), this.tick));
  }

  /**
   * One write per frame, overwriting the previous one in place: back to its first row, each line
   * followed by erase-to-end-of-line, then erase below if the old frame was taller. Never "erase
   * display" from the top-left corner: tmux (scroll-on-clear) would push the screen into its
   * history on every frame.
   */
  private draw(lines: string[]): void {
    const rows = this.drawnRows();
    const up = rows > 1 ? `${ESC}${rows - 1}A` : '';
    const body = lines.map((l) => `${l}${ESC}K`).join('\n');
    this.write(`${rows ? `\r${up}` : ''}${body}${rows > lines.length ? `${ESC}J` : ''}`);
    this.drawn = lines;
  }

  // After a resize the old frame's lines may wrap at the new width: count the rows they take now.
  // Moving up stops at the top row, so a frame taller than a shrunken screen is covered too.
  private drawnRows(): number {
    const { columns } = this.screen();
    return this.drawn.reduce((n, l) => n + Math.max(1, Math.ceil(displayWidth(l.replace(SGR, '')) / columns)), 0);
  }

  /** Clears the frame line by line, bottom up, leaving the cursor where it began. */
  private erase(): string {
    const rows = this.drawnRows();
    return rows ? `${ESC}2K${`${ESC}1A${ESC}2K`.repeat(rows - 1)}\r` : '';
  }

  /**
   * Output from elsewhere (a warning, Ctrl-C's message) goes above the frame, which is redrawn
   * below it. A write that leaves its line open (a passphrase prompt) holds the frame until the
   * line is ended, so the prompt stays readable.
   */
  private intercept(stream: NodeJS.WriteStream): void {
    // Kept as it is, to be put back; called with the stream as `this`.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const original = stream.write;
    stream.write = ((...args: Parameters<NodeJS.WriteStream['write']>) => {
      const erase = this.erase();
      this.drawn = [];
      if (erase) this.write(erase);
      const result = original.apply(stream, args as never);
      const chunk = args[0];
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      if (text.length > 0) this.held = !text.endsWith('\n');
      this.paint();
      return result;
    }) as NodeJS.WriteStream['write'];
    this.restore.push(() => {
      stream.write = original;
    });
  }
}
