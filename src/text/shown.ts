// A value as written, for messages and display names: arguments arrive as `unknown` (as the user
// wrote them, before or after validation), and `String()` of a mapping would say `[object Object]`.

/** Strings as they are, numbers and booleans as `String` writes them, anything else as JSON. */
export function shown(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' || v === undefined || v === null) return String(v);
  return JSON.stringify(v) ?? typeof v;
}
