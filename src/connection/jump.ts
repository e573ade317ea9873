// The `jump` setting: `[user@]host[:port]`, with `[v6::addr]` for IPv6 as in OpenSSH.

export interface JumpHost {
  user: string;
  host: string;
  port: number;
}

export function parseJump(spec: string, defaultUser: string): JumpHost {
  const at = spec.lastIndexOf('@');
  const user = at === -1 ? defaultUser : spec.slice(0, at);
  const rest = at === -1 ? spec : spec.slice(at + 1);
  const match = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest) ?? /^([^:[\]]+)(?::(\d+))?$/.exec(rest);
  const port = match?.[2] === undefined ? 22 : Number(match[2]);
  if (!match?.[1] || user === '' || !(port >= 1 && port <= 65535)) {
    throw new Error(`invalid jump host ${JSON.stringify(spec)}: expected [user@]host[:port]`);
  }
  return { user, host: match[1], port };
}
