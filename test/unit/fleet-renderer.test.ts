import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { FleetRenderer } from '../../src/report/fleet-renderer.js';

/**
 * Just enough of a terminal to replay what the renderer writes: printable characters, CR, LF
 * (scrolling the top row into the history at the bottom), cursor up, erase in line, erase below.
 */
class Terminal {
  history: string[] = [];
  screen: string[];
  row = 0;
  col = 0;
  constructor(
    readonly rows: number,
    readonly columns: number,
  ) {
    this.screen = Array.from({ length: rows }, () => '');
  }
  write(data: string): void {
    for (let i = 0; i < data.length; i++) {
      const ch = data[i]!;
      if (ch === '\u001b') {
        const m = /^\[(\??)(\d*)([A-Za-z])/.exec(data.slice(i + 1))!;
        i += m[0].length;
        const n = Number(m[2] || 0);
        if (m[3] === 'A') this.row = Math.max(0, this.row - (n || 1));
        else if (m[3] === 'K') this.screen[this.row] = n === 2 ? '' : this.screen[this.row]!.slice(0, this.col);
        else if (m[3] === 'J') {
          this.screen[this.row] = this.screen[this.row]!.slice(0, this.col);
          for (let r = this.row + 1; r < this.rows; r++) this.screen[r] = '';
        }
      } else if (ch === '\r') this.col = 0;
      else if (ch === '\n') this.newline();
      else {
        const line = this.screen[this.row]!.padEnd(this.col);
        this.screen[this.row] = line.slice(0, this.col) + ch + line.slice(this.col + 1);
        this.col++;
      }
    }
  }
  private newline(): void {
    this.col = 0;
    if (this.row < this.rows - 1) this.row++;
    else {
      this.history.push(this.screen.shift()!);
      this.screen.push('');
    }
  }
  text(): string {
    return this.screen.join('\n').trimEnd();
  }
}

function fakeStream(term: Terminal): NodeJS.WriteStream {
  const s = new EventEmitter() as unknown as NodeJS.WriteStream & { rows: number; columns: number };
  s.rows = term.rows;
  s.columns = term.columns;
  s.write = (chunk: string) => (term.write(String(chunk)), true);
  return s;
}

function setup(rows = 6) {
  const term = new Terminal(rows, 40);
  const out = fakeStream(term);
  const err = fakeStream(term);
  let lines = ['title', 'done 0/3', 'hv1: a', 'hv2: a', 'hv3: a'];
  const renderer = new FleetRenderer([], { frame: () => lines, last: () => ['title', 'done 3/3'], stream: out, intercept: [out, err], intervalMs: 60_000 });
  const repaint = (next: string[]) => {
    lines = next;
    out.emit('resize');
  };
  return { term, out, err, renderer, repaint };
}

describe('FleetRenderer', () => {
  it('redraws each frame in place: a shorter frame leaves nothing of the taller one, and nothing scrolls', () => {
    const { term, renderer, repaint } = setup();
    renderer.render();
    expect(term.text()).toBe('title\ndone 0/3\nhv1: a\nhv2: a\nhv3: a');
    repaint(['title', 'done 1/3', 'hv2']);
    expect(term.text()).toBe('title\ndone 1/3\nhv2');
    repaint(['title', 'done 2/3', 'hv3: a long task name']);
    expect(term.text()).toBe('title\ndone 2/3\nhv3: a long task name');
    renderer.end();
    expect(term.history).toEqual([]);
  });

  it('puts output from elsewhere (a warning, the Ctrl-C message) above the frame, then draws the frame again', () => {
    const { term, err, renderer } = setup(12);
    renderer.render();
    err.write('warning: host key of hv9 changed\n');
    expect(term.text()).toBe('warning: host key of hv9 changed\ntitle\ndone 0/3\nhv1: a\nhv2: a\nhv3: a');
    renderer.end();
  });

  it('holds the frame while a line from elsewhere is open (a passphrase prompt), and draws it again when the line ends', () => {
    const { term, err, renderer, repaint } = setup(12);
    renderer.render();
    err.write('passphrase for /root/.ssh/id_ed25519: ');
    repaint(['title', 'done 1/3', 'hv2: b']);
    expect(term.text()).toBe('passphrase for /root/.ssh/id_ed25519:');
    err.write('\n');
    expect(term.text()).toBe('passphrase for /root/.ssh/id_ed25519: \ntitle\ndone 1/3\nhv2: b');
    renderer.end();
  });

  it('leaves the last frame on screen at the end and gives the streams back', () => {
    const { term, out, renderer } = setup(12);
    const write = out.write;
    renderer.render();
    expect(out.write).not.toBe(write);
    renderer.end();
    expect(out.write).toBe(write);
    out.write('RECAP\n');
    expect(term.text()).toBe('title\ndone 3/3\nRECAP');
  });
});
