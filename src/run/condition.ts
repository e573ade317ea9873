// A small, safe evaluator for `when:` expressions — never eval, never new Function.
// Grammar: or/and/not, comparisons (== != < <= > >=), `in`/`not in`, `is [not] defined`,
// literals (numbers, 'strings', true/false, none, [lists]), variables with .attr and [index].
import { KvmnetError } from '../errors.js';

export class ConditionError extends KvmnetError {
  override readonly code = 'CONDITION';
}

type Token = { kind: 'num' | 'str' | 'name' | 'op'; value: string };

const MAX_LENGTH = 2000;
const MAX_DEPTH = 50;

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:(\d+(?:\.\d+)?)|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|([A-Za-z_][A-Za-z0-9_]*)|(==|!=|<=|>=|<|>|\(|\)|\[|\]|\.|,))/y;
  let pos = 0;
  while (pos < src.length) {
    if (/^\s*$/.test(src.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(src);
    if (!m) throw new ConditionError(`cannot read the condition at column ${pos + 1}: '${src.slice(pos, pos + 10)}'`);
    pos = re.lastIndex;
    if (m[1] !== undefined) tokens.push({ kind: 'num', value: m[1] });
    else if (m[2] !== undefined || m[3] !== undefined) tokens.push({ kind: 'str', value: (m[2] ?? m[3])!.replace(/\\(.)/g, '$1') });
    else if (m[4] !== undefined) tokens.push({ kind: 'name', value: m[4] });
    else tokens.push({ kind: 'op', value: m[5]! });
  }
  return tokens;
}

const UNDEFINED = Symbol('undefined');
type Value = unknown;

export function evaluateCondition(expression: string, vars: Record<string, unknown>): boolean {
  let src = expression.trim();
  const wrapped = /^\{\{(.*)\}\}$/s.exec(src);
  if (wrapped) src = wrapped[1]!.trim();
  if (src.length > MAX_LENGTH) throw new ConditionError(`condition is longer than ${MAX_LENGTH} characters`);
  const tokens = tokenize(src);
  let i = 0;
  let depth = 0;
  const peek = (v?: string) => (v === undefined ? tokens[i] : tokens[i]?.value === v && tokens[i]!.kind !== 'str' ? tokens[i] : undefined);
  const take = (v: string) => {
    if (!peek(v)) throw new ConditionError(`expected '${v}' in condition '${src}'${tokens[i] ? `, found '${tokens[i]!.value}'` : ''}`);
    i++;
  };
  const nest = <T>(f: () => T): T => {
    if (++depth > MAX_DEPTH) throw new ConditionError('condition is nested too deeply');
    try {
      return f();
    } finally {
      depth--;
    }
  };
  const defined = (v: Value): Value => {
    if (v === UNDEFINED) throw new ConditionError(`undefined variable in condition '${src}' (use 'is defined' to test for it)`);
    return v;
  };

  const orExpr = (): Value =>
    nest(() => {
      let left = andExpr();
      while (peek('or')) {
        i++;
        const right = andExpr();
        left = truthy(defined(left)) || truthy(defined(right));
      }
      return left;
    });
  const andExpr = (): Value => {
    let left = notExpr();
    while (peek('and')) {
      i++;
      const right = notExpr();
      left = truthy(defined(left)) && truthy(defined(right));
    }
    return left;
  };
  const notExpr = (): Value => {
    if (peek('not')) {
      i++;
      return nest(() => !truthy(defined(notExpr())));
    }
    return comparison();
  };
  const comparison = (): Value => {
    const left = primary();
    const t = tokens[i];
    if (!t || t.kind === 'str' || t.kind === 'num') return left;
    if (t.value === 'is') {
      i++;
      const negate = !!peek('not') && (i++, true);
      const test = tokens[i++]?.value;
      let result: boolean;
      if (test === 'defined') result = left !== UNDEFINED && left !== undefined;
      else if (test === 'undefined') result = left === UNDEFINED || left === undefined;
      else if (test === 'none') result = defined(left) === null;
      else throw new ConditionError(`unknown test 'is ${test ?? ''}' in condition '${src}' (known: defined, undefined, none)`);
      return negate ? !result : result;
    }
    if (t.value === 'not' && tokens[i + 1]?.value === 'in') {
      i += 2;
      return !contains(defined(primary()), defined(left));
    }
    if (t.value === 'in') {
      i++;
      return contains(defined(primary()), defined(left));
    }
    if (['==', '!=', '<', '<=', '>', '>='].includes(t.value) && t.kind === 'op') {
      i++;
      const a = defined(left);
      const b = defined(primary());
      switch (t.value) {
        case '==':
          return equal(a, b);
        case '!=':
          return !equal(a, b);
        case '<':
          return order(a, b) < 0;
        case '<=':
          return order(a, b) <= 0;
        case '>':
          return order(a, b) > 0;
        default:
          return order(a, b) >= 0;
      }
    }
    return left;
  };
  const primary = (): Value =>
    nest(() => {
      const t = tokens[i++];
      if (!t) throw new ConditionError(`condition '${src}' ends too early`);
      if (t.kind === 'num') return Number(t.value);
      if (t.kind === 'str') return t.value;
      if (t.value === '(') {
        const v = orExpr();
        take(')');
        return v;
      }
      if (t.value === '[') {
        const items: Value[] = [];
        while (!peek(']')) {
          items.push(defined(orExpr()));
          if (!peek(']')) take(',');
        }
        take(']');
        return items;
      }
      if (t.kind !== 'name') throw new ConditionError(`unexpected '${t.value}' in condition '${src}'`);
      if (t.value === 'true' || t.value === 'True') return true;
      if (t.value === 'false' || t.value === 'False') return false;
      if (t.value === 'none' || t.value === 'None' || t.value === 'null') return null;
      let v: Value = lookup(vars, t.value);
      for (;;) {
        if (peek('.')) {
          i++;
          const name = tokens[i++];
          if (!name || name.kind !== 'name') throw new ConditionError(`expected an attribute name after '.' in condition '${src}'`);
          v = lookup(v, name.value);
        } else if (peek('[')) {
          i++;
          const key = defined(orExpr());
          take(']');
          v = lookup(v, key);
        } else return v;
      }
    });

  const result = orExpr();
  if (i < tokens.length) throw new ConditionError(`unexpected '${tokens[i]!.value}' in condition '${src}'`);
  return truthy(defined(result));
}

/** Only own, plain data properties: no prototype walking (`__proto__`, `constructor`). */
function lookup(obj: Value, key: Value): Value {
  if (obj === UNDEFINED || obj === null || typeof obj !== 'object') return UNDEFINED;
  const k = typeof key === 'number' ? key : String(key);
  if (Array.isArray(obj)) return typeof k === 'number' && Number.isInteger(k) && k >= 0 && k < obj.length ? obj[k] : UNDEFINED;
  if (!Object.prototype.hasOwnProperty.call(obj, k)) return UNDEFINED;
  const v = (obj as Record<string, unknown>)[k];
  return typeof v === 'function' ? UNDEFINED : v;
}

function truthy(v: Value): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v && typeof v === 'object') return Object.keys(v).length > 0;
  return Boolean(v);
}

function equal(a: Value, b: Value): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function order(a: Value, b: Value): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  throw new ConditionError(`cannot order ${typeof a} and ${typeof b}`);
}

function contains(container: Value, item: Value): boolean {
  if (typeof container === 'string') return typeof item === 'string' && container.includes(item);
  if (Array.isArray(container)) return container.some((x) => equal(x, item));
  if (container && typeof container === 'object') return typeof item === 'string' && Object.prototype.hasOwnProperty.call(container, item);
  throw new ConditionError(`'in' needs a list, a string or a mapping on its right`);
}
