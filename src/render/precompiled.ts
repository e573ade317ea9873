// The shipped templates (templates/*.hbs), compiled by Handlebars at build time: scripts/bundle.mjs
// replaces this module's compiled output with their specs, keyed by the exact template text and
// the escaping. A template whose text is not here (a user's, or any in a test run from src/) is
// compiled when first used, as before. Compiling network.xml.hbs was ~9 ms of a 1-host run,
// before the first host is contacted (the preflight renders every task).
export const PRECOMPILED: ReadonlyMap<string, object> = new Map();

export const precompiledKey = (source: string, escape: boolean): string => `${escape ? 'xml' : 'string'}\n${source}`;
