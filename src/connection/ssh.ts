// The SSH transport: one authenticated ssh2 connection per host, one exec channel per command.
import type { Readable } from 'node:stream';
import pLimit from 'p-limit';
import type { Client, ClientChannel } from 'ssh2';
import { BecomeError, CommandTimeoutError, UnreachableError } from '../errors.js';
import { BecomeWatch } from './become-watch.js';
import { CommandSession, commandSummary, execTimeoutMs } from './command-session.js';
import { parseJump } from './jump.js';
import { CONNECT_RETRY_DELAYS_MS, withRetry } from './retry.js';
import { expandHome, loadAuthSteps, type AuthHooks, type AuthStep } from './ssh-auth.js';
import { handshake, isTransient, markTransient } from './ssh-handshake.js';
import type { Connection, ConnectionSettings, ConnectionStats, ExecOptions, ExecResult, JumpHop } from './types.js';

interface Endpoint {
  host: string;
  port: number;
  user: string;
}

export interface SshHooks extends AuthHooks {
  onWarning?(message: string): void;
  /** A slow sudo (become-watch.ts); onWarning when not given. */
  onBecomeWarning?(message: string): void;
}

// sshd allows 10 sessions per connection by default (MaxSessions), and a closed one holds its slot a moment longer.
const MAX_CHANNELS = 5;
const CHANNEL_OPEN_RETRIES = 3;

export async function connectSsh(settings: ConnectionSettings, hooks: SshHooks = {}): Promise<Connection> {
  const label = `${settings.name} (${settings.host}:${settings.port})`;
  const stats: ConnectionStats = { connections: 0, execs: 0 };
  let auth: { steps: AuthStep[]; skipped: string[] };
  let hops: Array<{ hop: JumpHop; auth: { steps: AuthStep[]; skipped: string[] } }>;
  try {
    auth = await loadAuthSteps(settings, hooks);
    hops = [];
    for (const hop of jumpHops(settings)) hops.push({ hop, auth: await loadAuthSteps(hop, hooks) });
  } catch (error) {
    throw new UnreachableError(`${label}: ${(error as Error).message}`, { cause: error });
  }

  const warned = new Set<string>();
  // One handshake to `host:port` (named `name` in host key messages), counted in stats when it succeeds.
  const dial = async (
    to: Endpoint & {
      name: string;
      label: string;
      sock?: Readable;
      auth: typeof auth;
      knownHosts: string;
      extraKnownHosts?: string[];
      mode: ConnectionSettings['hostKeyChecking'];
      alias?: string;
    },
  ) => {
    const client = await handshake({
      ...to,
      readyTimeoutMs: settings.connectTimeoutMs,
      keepaliveIntervalMs: settings.keepaliveIntervalMs,
      ...(settings.keepaliveCountMax !== undefined && { keepaliveCountMax: settings.keepaliveCountMax }),
      hostKey: {
        label: `${to.name} (${to.port === 22 ? to.host : `${to.host}:${to.port}`})`,
        host: to.host,
        port: to.port,
        knownHosts: expandHome(to.knownHosts),
        ...(to.extraKnownHosts && { extraKnownHosts: to.extraKnownHosts }),
        mode: to.mode,
        ...(to.alias !== undefined && { alias: to.alias }),
        warn: (message) => {
          if (!warned.has(message)) hooks.onWarning?.(message);
          warned.add(message);
        },
      },
    });
    stats.connections += 1;
    return client;
  };

  const target = {
    host: settings.host,
    port: settings.port,
    user: settings.user,
    name: settings.name,
    auth,
    knownHosts: settings.knownHosts,
    ...(settings.extraKnownHosts && { extraKnownHosts: settings.extraKnownHosts }),
    mode: settings.hostKeyChecking,
    ...(settings.hostKeyAlias !== undefined && { alias: settings.hostKeyAlias }),
  };
  // Through each bastion in turn: hop 1 over TCP, every later hop (and the target) over a stream the previous one forwards.
  const attempt = async (): Promise<{ client: Client; bastions: Client[] }> => {
    const bastions: Client[] = [];
    let sock: Readable | undefined;
    try {
      for (const { hop, auth: hopAuth } of hops) {
        const via = `${hop.user}@${hop.host}:${hop.port}`;
        const hopLabel = `${label}: jump host ${hop.name === hop.host || hop.name === via ? via : `${hop.name} (${via})`}`;
        const bastion = await dial({
          ...hop,
          name: `jump host ${hop.name}`,
          label: hopLabel,
          auth: hopAuth,
          mode: hop.hostKeyChecking,
          ...(hop.hostKeyAlias !== undefined && { alias: hop.hostKeyAlias }),
          ...(sock && { sock }),
        });
        bastions.push(bastion);
        const next = hops[bastions.length]?.hop ?? target;
        sock = await forwardOut(bastion, next.host, next.port, hopLabel);
      }
      const via = hops.map(({ hop }) => hop.name).join(' → ');
      return { client: await dial({ ...target, label: hops.length ? `${label} via ${via}` : label, ...(sock && { sock }) }), bastions };
    } catch (error) {
      for (const b of bastions.reverse()) b.end();
      throw error;
    }
  };

  const started = Date.now();
  const { client, bastions } = await withRetry(attempt, { delaysMs: CONNECT_RETRY_DELAYS_MS, shouldRetry: isTransient });
  return new SshConnection(client, bastions, settings, label, stats, Date.now() - started, hooks);
}

/** The bastions: resolved ones from the ssh config, else the `jump` variable's one hop with the target's credentials. */
function jumpHops(settings: ConnectionSettings): JumpHop[] {
  if (settings.jumps) return settings.jumps;
  if (settings.jump === undefined) return [];
  const jump = parseJump(settings.jump, settings.user);
  return [
    {
      name: `${jump.user}@${jump.host}:${jump.port}`,
      ...jump,
      ...(settings.sshKey !== undefined && { sshKey: settings.sshKey }),
      ...(settings.sshPassword !== undefined && { sshPassword: settings.sshPassword }),
      knownHosts: settings.knownHosts,
      ...(settings.extraKnownHosts && { extraKnownHosts: settings.extraKnownHosts }),
      hostKeyChecking: settings.hostKeyChecking,
    },
  ];
}

function forwardOut(bastion: Client, host: string, port: number, label: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    bastion.forwardOut('127.0.0.1', 0, host, port, (error, stream) => {
      if (!error) return resolve(stream);
      const failure = new UnreachableError(`${label} could not connect to ${host}:${port}: ${error.message}`, {
        cause: error,
      });
      // "Connect failed" / "Connection refused" from the bastion is the target's port being closed, maybe for now.
      reject(/connect|refused/i.test(error.message) ? markTransient(failure) : failure);
    });
  });
}

/** Exit status per channel, recorded from the moment the channel opens. */
const exitStatus = new WeakMap<ClientChannel, { code: number | null; signal?: string }>();

class SshConnection implements Connection {
  readonly description: string;
  private lost: string | undefined;
  private closed = false;
  private readonly limit = pLimit(MAX_CHANNELS);
  /** Kills of timed-out commands still on their way to the host. */
  private readonly kills = new Set<Promise<void>>();
  private readonly becomeWatch: BecomeWatch;

  constructor(
    private readonly client: Client,
    private readonly bastions: Client[],
    private readonly settings: ConnectionSettings,
    private readonly label: string,
    readonly stats: ConnectionStats,
    readonly connectMs: number,
    hooks: SshHooks = {},
  ) {
    this.description = `${settings.user}@${settings.host}:${settings.port}`;
    this.becomeWatch = new BecomeWatch({
      name: settings.name,
      // Outside the channel limit: the exec that waits for this check holds a slot.
      runPlain: (command, timeoutMs) => this.run(command, { timeoutMs }, true),
      warn: (message) => (hooks.onBecomeWarning ?? hooks.onWarning)?.(message),
    });
    // After the handshake, a failure only marks the connection lost; the running and later execs report it.
    client.on('error', (error: Error) => {
      this.lost ??= error.message;
    });
    client.on('close', () => {
      this.lost ??= 'the connection was closed';
      for (const b of [...bastions].reverse()) b.end();
    });
  }

  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    return this.limit(() => this.run(command, options));
  }

  /** `plain`: without become, whatever the settings say (the slow-sudo check). */
  private async run(command: string, options: ExecOptions, plain = false): Promise<ExecResult> {
    if (this.closed) throw new Error(`${this.label}: exec after close()`);
    if (this.lost !== undefined) throw this.lostError(command);
    let becomeCheck: Promise<void> | undefined;
    const session = new CommandSession(command, {
      become: this.settings.become && !plain,
      onBecomeStarted: (ms, said) => void (becomeCheck = this.becomeWatch.observe(ms, said)),
      ...(this.settings.becomePassword !== undefined && { becomePassword: this.settings.becomePassword }),
      isRoot: this.settings.user === 'root',
      ...(options.stdin !== undefined && { stdin: options.stdin }),
      ...(options.onStdout && { onStdout: options.onStdout }),
      announcePid: true,
    });
    const timeoutMs = execTimeoutMs(options, this.settings.commandTimeoutMs);
    let channel: ClientChannel | undefined;
    let timedOut = false;
    const work = (async () => {
      channel = await this.openChannel(session.command, command);
      // The timeout may have fired while the channel was opening.
      if (timedOut) stopChannel(channel);
      const result = await this.collect(channel, session, command);
      if (becomeCheck) await becomeCheck;
      return result;
    })();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        if (channel) stopChannel(channel);
        if (session.pid !== undefined) this.killRemote(session.pid);
        reject(new CommandTimeoutError(`${this.label}: command timed out after ${timeoutMs} ms: ${commandSummary(command)}`));
      }, timeoutMs);
    });
    // Whatever the channel does after a timeout is of no interest any more.
    work.catch(() => {});
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async openChannel(wrapped: string, command: string): Promise<ClientChannel> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        const channel = await new Promise<ClientChannel>((resolve, reject) =>
          this.client.exec(wrapped, (error, opened) => {
            if (error) return reject(error);
            // Listen for the exit status at once: a fast command's status can arrive in the same read
            // as the channel confirmation, and ssh2 emits it before collect() would be listening.
            opened.on('exit', (code: number | null, signal?: string) => exitStatus.set(opened, { code: code ?? null, ...(signal && { signal }) }));
            resolve(opened);
          }),
        );
        this.stats.execs += 1;
        return channel;
      } catch (error) {
        if (this.lost !== undefined) throw this.lostError(command);
        // sshd frees a session slot a little after its channel closed, so a burst of execs can briefly hit MaxSessions.
        if (attempt <= CHANNEL_OPEN_RETRIES && /open failed/i.test((error as Error).message)) {
          await new Promise((done) => setTimeout(done, 50 * attempt));
          continue;
        }
        throw new UnreachableError(`${this.label}: cannot start ${commandSummary(command)}: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
  }

  /** Feeds the channel and waits until it and its stderr are closed (that is, all output has been read). */
  private collect(channel: ClientChannel, session: CommandSession, command: string): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      let streamsOpen = 2;
      const onClosed = () => {
        streamsOpen -= 1;
        if (streamsOpen > 0) return;
        const exit = exitStatus.get(channel);
        // No exit status and the connection gone: the command's fate is unknown, which is a transport failure.
        if (!exit && this.lost !== undefined) return reject(this.lostError(command));
        const refused = exit?.code !== 0 ? session.becomeFailure() : undefined;
        if (refused) return reject(new BecomeError(`${this.label}: ${refused}`));
        resolve({ ...session.result(), exitCode: exit?.code ?? null, ...(exit?.signal && { signal: exit.signal }) });
      };
      channel.setEncoding('utf8');
      channel.stderr.setEncoding('utf8');
      channel.on('data', (text: string) => session.onStdout(text));
      channel.stderr.on('data', (text: string) => session.onStderr(text));
      channel.once('close', onClosed);
      channel.stderr.once('close', onClosed);
      session.start({ write: (data) => channel.write(data), end: () => channel.end() });
    });
  }

  /** Best effort, not awaited: TERM the timed-out command's process group from a channel of its own. */
  private killRemote(pid: number): void {
    if (this.lost !== undefined || this.closed) return;
    const sent = new Promise<void>((resolve) => {
      this.client.exec(`kill -TERM -- -${pid} 2>/dev/null || kill -TERM ${pid} 2>/dev/null`, (error, channel) => {
        if (error) return resolve();
        this.stats.execs += 1;
        channel.once('close', () => resolve());
        channel.resume();
        channel.stderr.resume();
        channel.end();
      });
    });
    this.kills.add(sent);
    void sent.then(() => this.kills.delete(sent));
  }

  private lostError(command: string): UnreachableError {
    return new UnreachableError(`${this.label}: connection lost (${this.lost}) while running ${commandSummary(command)}`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A timed-out command's kill must reach the host before the connection goes, or the command runs on there.
    if (this.kills.size > 0 && this.lost === undefined) {
      await Promise.race([Promise.all(this.kills), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    }
    const done = new Promise<void>((resolve) => {
      if (this.lost !== undefined) return resolve();
      this.client.once('close', () => resolve());
      // A server that never answers the disconnect must not keep close() waiting.
      setTimeout(() => {
        this.client.destroy();
        resolve();
      }, 2000).unref();
    });
    this.client.end();
    for (const b of [...this.bastions].reverse()) b.end();
    await done;
  }
}

// The parts of ssh2's channel that stopChannel needs and the typings do not show.
interface ChannelInternals {
  type?: string;
  outgoing?: { id: number; state: string };
  _client?: { _protocol?: { signal(id: number, name: string): void } };
}

/**
 * Asks sshd to SIGTERM the command's process group (sudo passes it on), then closes the channel. Closing alone
 * leaves `sleep 100` running on the host. ssh2's `channel.signal()` sends nothing once stdin has been ended (it
 * checks `writable`), and ours always is, so the request goes through the protocol object directly.
 */
function stopChannel(channel: ClientChannel): void {
  const internals = channel as unknown as ChannelInternals;
  try {
    const state = internals.outgoing?.state;
    // After our EOF the state is `eof`: still able to send requests.
    if (internals.type === 'session' && internals.outgoing && (state === 'open' || state === 'eof')) {
      internals._client?._protocol?.signal(internals.outgoing.id, 'TERM');
    }
  } catch {
    // The channel may already be closing: closing it is what matters.
  }
  channel.close();
}
