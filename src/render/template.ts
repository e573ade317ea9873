// Handlebars rendering of playbook strings and XML templates.
// Strict: an undefined variable is an error naming it. Playbook strings are not HTML-escaped
// (they are names and addresses, quoted later by the shell layer); XML templates are escaped.
import Handlebars from 'handlebars';
import { RenderError } from '../errors.js';
import { PRECOMPILED, precompiledKey } from './precompiled.js';

const hb = Handlebars.create();
hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
hb.registerHelper('isDefined', (v: unknown) => v !== undefined && v !== null);
const stringCache = new Map<string, HandlebarsTemplateDelegate>();
const xmlCache = new Map<string, HandlebarsTemplateDelegate>();

export function hasTemplate(s: string): boolean {
  return s.includes('{{');
}

/** The same options at build time (scripts/bundle.mjs precompiles the shipped templates with them). */
export const compileOptions = (escape: boolean) => ({ strict: true, noEscape: !escape });

function compile(source: string, escape: boolean): HandlebarsTemplateDelegate {
  const cache = escape ? xmlCache : stringCache;
  let t = cache.get(source);
  if (!t) {
    const spec = PRECOMPILED.get(precompiledKey(source, escape));
    t = spec ? hb.template(spec) : hb.compile(source, compileOptions(escape));
    cache.set(source, t);
  }
  return t;
}

function explain(err: unknown, what: string): RenderError {
  const msg = (err as Error).message ?? String(err);
  const undef = /"([^"]+)" not defined/.exec(msg);
  if (undef) return new RenderError(`undefined variable '${undef[1]}' in ${what}`);
  return new RenderError(`cannot render ${what}: ${msg.split('\n')[0]}`);
}

const WHOLE_VAR = /^\{\{\s*([A-Za-z_][\w]*(?:\.[A-Za-z_0-9][\w]*)*)\s*\}\}$/;

function lookup(context: Record<string, unknown>, path: string): { found: boolean; value?: unknown } {
  let cur: unknown = context;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !(part in cur)) return { found: false };
    cur = (cur as Record<string, unknown>)[part];
  }
  return { found: true, value: cur };
}

/** Renders one string. `"{{ mtu }}"` alone keeps the variable's own type (a number stays a number), like Ansible. */
export function renderString(source: string, context: Record<string, unknown>, what: string): unknown {
  if (!hasTemplate(source)) return source;
  const whole = WHOLE_VAR.exec(source);
  if (whole) {
    const hit = lookup(context, whole[1]!);
    if (!hit.found || hit.value === undefined) throw new RenderError(`undefined variable '${whole[1]}' in ${what}`);
    return hit.value;
  }
  try {
    return compile(source, false)(context);
  } catch (err) {
    throw explain(err, what);
  }
}

/** Renders every string inside a value (objects and arrays recursively). */
export function renderValue(value: unknown, context: Record<string, unknown>, what: string): unknown {
  if (typeof value === 'string') return renderString(value, context, what);
  if (Array.isArray(value)) return value.map((v) => renderValue(v, context, what));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderValue(v, context, `${what}.${k}`)]));
  }
  return value;
}

/** Renders an XML template file's text; values are XML-escaped so `</network>` in a variable stays text. */
export function renderXml(source: string, context: Record<string, unknown>, what: string): string {
  try {
    return compile(source, true)(context);
  } catch (err) {
    throw explain(err, what);
  }
}
