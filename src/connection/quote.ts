// The ONE place that turns a value into a POSIX sh word. Every value that reaches a remote shell goes through here.

// Words made only of these characters mean the same quoted or not. `=` is left out so a first word
// is never read as an assignment, and `~` so it is never tilde-expanded.
const SAFE_WORD = /^[A-Za-z0-9_@%+:,./-]+$/;

/** Quotes `value` so that a POSIX shell reads it back as exactly one word with exactly these bytes. */
export function shellQuote(value: string): string {
  if (value.includes('\0')) throw new Error('a shell word cannot contain a NUL byte');
  if (value === '') return "''";
  if (SAFE_WORD.test(value)) return value;
  // Inside single quotes nothing is special except `'` itself, which must close, escape and reopen.
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Quotes each argument and joins them into one command line. */
export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
