// INI inventory values, typed the way Ansible types them: Python's ast.literal_eval, falling back to the raw string.
// So `port=22` is a number, `become=True` a boolean, `become=true` the STRING 'true', `'07'` the string '07'.

import { markFloat } from './inventory-util.js';

const MAX_NESTING = 64;

class NotALiteral extends Error {}

/** literal_eval semantics for the literals an inventory can hold; anything else stays the original text. */
export function parseIniValue(text: string): unknown {
  return parseIniTyped(text).value;
}

/** Like parseIniValue, and says whether the value is a float (3.0 is a float in Python; see markFloat). */
export function parseIniTyped(text: string): { value: unknown; float: boolean } {
  try {
    const p = new LiteralParser(text);
    const value = p.value(0);
    const float = p.lastFloat;
    p.skipSpace();
    if (!p.atEnd()) return { value: text, float: false };
    return { value, float };
  } catch (err) {
    if (err instanceof NotALiteral) return { value: text, float: false };
    throw err;
  }
}

class LiteralParser {
  private i = 0;
  /** Whether the value just read was a float literal. */
  lastFloat = false;
  constructor(private readonly s: string) {}

  atEnd(): boolean {
    return this.i >= this.s.length;
  }

  /** Python skips blanks and `#` comments between tokens: `8080 # web port` is 8080. */
  skipSpace(): void {
    while (this.i < this.s.length) {
      const c = this.s[this.i]!;
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f') this.i++;
      else if (c === '#') {
        while (this.i < this.s.length && this.s[this.i] !== '\n') this.i++;
      } else break;
    }
  }

  value(depth: number): unknown {
    this.lastFloat = false;
    if (depth > MAX_NESTING) throw new NotALiteral();
    this.skipSpace();
    const c = this.s[this.i];
    if (c === undefined) throw new NotALiteral();
    if (c === '[') return this.sequence(']', depth);
    if (c === '(') return this.sequence(')', depth);
    if (c === '{') return this.braces(depth);
    if (c === '"' || c === "'" || (/[uUrRbB]/.test(c) && /["']/.test(this.s[this.i + 1] ?? ''))) return this.strings();
    if (c === '-' || c === '+') {
      this.i++;
      this.skipSpace();
      const n = this.number();
      return c === '-' ? -n : n;
    }
    if (/[0-9.]/.test(c)) return this.number();
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.i))?.[0];
    if (word === 'True' || word === 'False' || word === 'None') {
      this.i += word.length;
      return word === 'True' ? true : word === 'False' ? false : null;
    }
    throw new NotALiteral();
  }

  private expect(ch: string): void {
    this.skipSpace();
    if (this.s[this.i] !== ch) throw new NotALiteral();
    this.i++;
  }

  private peek(): string | undefined {
    this.skipSpace();
    return this.s[this.i];
  }

  /** Lists and tuples (both become arrays); a parenthesised single value without a comma is just that value. */
  private sequence(close: string, depth: number): unknown {
    this.i++;
    const items: unknown[] = [];
    const floats: number[] = [];
    let sawComma = false;
    while (this.peek() !== close) {
      items.push(this.value(depth + 1));
      if (this.lastFloat) floats.push(items.length - 1);
      if (this.peek() === ',') {
        this.i++;
        sawComma = true;
      } else break;
    }
    this.expect(close);
    if (close === ')' && items.length === 1 && !sawComma) {
      this.lastFloat = floats.length > 0;
      return items[0];
    }
    for (const i of floats) markFloat(items, String(i));
    this.lastFloat = false;
    return items;
  }

  /** Dicts, and sets (which Ansible turns into lists). */
  private braces(depth: number): unknown {
    this.i++;
    if (this.peek() === '}') {
      this.i++;
      return {};
    }
    const first = this.value(depth + 1);
    if (this.peek() !== ':') {
      const items = [first];
      while (this.peek() === ',') {
        this.i++;
        if (this.peek() === '}') break;
        items.push(this.value(depth + 1));
      }
      this.expect('}');
      return items;
    }
    const out: Record<string, unknown> = {};
    let key = first;
    for (;;) {
      this.expect(':');
      const v = this.value(depth + 1);
      if (typeof key === 'object' && key !== null) throw new NotALiteral(); // unhashable in Python
      Object.defineProperty(out, pyStr(key), { value: v, enumerable: true, writable: true, configurable: true });
      if (this.lastFloat) markFloat(out, pyStr(key));
      if (this.peek() !== ',') break;
      this.i++;
      if (this.peek() === '}') break;
      key = this.value(depth + 1);
    }
    this.expect('}');
    this.lastFloat = false;
    return out;
  }

  private number(): number | bigint {
    const rest = this.s.slice(this.i);
    const m = /^(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:(?:\d(?:_?\d)*)?\.\d(?:_?\d)*|\d(?:_?\d)*\.?)(?:[eE][+-]?\d(?:_?\d)*)?)/.exec(
      rest,
    );
    if (!m) throw new NotALiteral();
    const raw = m[0];
    const next = rest[raw.length];
    // `1j` is complex and `12abc` is not a number at all.
    if (next !== undefined && /[A-Za-z0-9_]/.test(next)) throw new NotALiteral();
    this.i += raw.length;
    const t = raw.replace(/_/g, '');
    if (/^0[xob]/i.test(t)) return exactInt(t.toLowerCase());
    if (/^[0-9]+$/.test(t)) {
      // Python 3 refuses `007` (but allows `000`).
      if (t.length > 1 && t.startsWith('0') && /[1-9]/.test(t)) throw new NotALiteral();
      return exactInt(t);
    }
    this.lastFloat = true;
    return Number(t);
  }

  /** One or more adjacent string literals ('a' "b" is 'ab'). */
  private strings(): string {
    let out = '';
    let count = 0;
    for (;;) {
      this.skipSpace();
      const m = /^([uUrRbB]{0,2})(["'])/.exec(this.s.slice(this.i, this.i + 3));
      if (!m) break;
      this.i += m[1]!.length;
      out += this.stringBody(m[2]!, /r/i.test(m[1]!));
      count++;
    }
    if (count === 0) throw new NotALiteral();
    return out;
  }

  private stringBody(quote: string, raw: boolean): string {
    this.i++;
    let out = '';
    while (this.i < this.s.length) {
      const c = this.s[this.i]!;
      if (c === quote) {
        this.i++;
        return out;
      }
      if (c === '\n') break;
      if (c === '\\' && this.i + 1 < this.s.length) {
        const n = this.s[this.i + 1]!;
        this.i += 2;
        if (raw) out += c + n;
        else out += ESCAPES[n] ?? `\\${n}`;
        continue;
      }
      out += c;
      this.i++;
    }
    throw new NotALiteral();
  }
}

const ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  n: '\n',
  t: '\t',
  r: '\r',
  '0': '\0',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
  '\n': '',
};

/** Python ints are unbounded: one a JS number cannot hold exactly stays a bigint (printed digit for digit). */
function exactInt(text: string): number | bigint {
  const big = BigInt(text);
  const n = Number(big);
  return Number.isSafeInteger(n) ? n : big;
}

function pyStr(key: unknown): string {
  if (key === true) return 'True';
  if (key === false) return 'False';
  if (key === null) return 'None';
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- an inventory's keys are scalars
  return String(key);
}
