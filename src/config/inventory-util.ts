// Small helpers shared by the config loaders.

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Map);
}

/** Sets an own property even for `__proto__`, so input data can never change an object's prototype. */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

// A JS number cannot tell 3.0 from 3, but Ansible (Python) keeps 3.0 a float and prints it so. The places that read
// floats (YAML, INI) mark the container and key of each integral float; copyVar carries the mark along, and the
// inventory's JSON output prints 3.0.
const floatKeys = new WeakMap<object, Set<string>>();

export function markFloat(container: object, key: string): void {
  let keys = floatKeys.get(container);
  if (!keys) floatKeys.set(container, (keys = new Set()));
  keys.add(key);
}

export function isMarkedFloat(container: object, key: string): boolean {
  return floatKeys.get(container)?.has(key) === true;
}

/** setOwn(target, key, source[key]), keeping a float mark. */
export function copyVar(target: Record<string, unknown>, key: string, source: Record<string, unknown>): void {
  setOwn(target, key, source[key]);
  if (isMarkedFloat(source, key)) markFloat(target, key);
  else floatKeys.get(target)?.delete(key);
}

/** "a list", "a string ('eth1')", "a number (5)"… for "found …" in messages. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `a string ('${clip(value)}')`;
  if (typeof value === 'number') return `a number (${value})`;
  if (typeof value === 'boolean') return `a boolean (${value})`;
  if (typeof value === 'object') return 'a map';
  return `a ${typeof value}`;
}

export function clip(s: string, max = 60): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
