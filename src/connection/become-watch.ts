// A sudo that takes seconds to start costs that much on every exec of a run (a no-op run of 20 s instead of 1 s).
// The usual cause is a host that cannot resolve its own name: sudo looks it up on every call and waits for DNS to
// give up. The first slow sudo of a connection is reported once, with its cause checked by one unprivileged exec.
import type { ExecResult } from './types.js';

/** A sudo slower than this to hand over to the command is reported. */
export const SLOW_BECOME_MS = 2000;
/** The name check may itself wait on DNS: past this, that is the answer. */
const NAME_CHECK_TIMEOUT_MS = 15_000;
// Runs WITHOUT sudo: how long the host takes to resolve its own name, and whether it can. `ahosts` asks as sudo does
// (getaddrinfo, any family); `getent hosts` would wait on DNS for an IPv6 address that /etc/hosts does not list.
// Timed on the host (GNU date's %N): the round trip of an exec is no measure of the lookup on a slow link or host.
const NAME_CHECK = 'h=$(hostname); s=$(date +%s%N); getent ahosts "$h" >/dev/null; rc=$?; e=$(date +%s%N); echo "$rc $h $(( (e - s) / 1000000 ))"';
/** A name lookup slower than this is what holds sudo up. */
const SLOW_LOOKUP_MS = 500;

export interface BecomeWatchOptions {
  /** Inventory name, for the message. */
  name: string;
  /** Runs a command on the host without become (plain exec). */
  runPlain: (command: string, timeoutMs: number) => Promise<ExecResult>;
  warn: (message: string) => void;
}

export class BecomeWatch {
  private checking: Promise<void> | undefined;

  constructor(private readonly options: BecomeWatchOptions) {}

  /**
   * Each exec's sudo start-up and what sudo printed before handing over. The first slow one is checked and reported
   * (awaited, so the warning is out before the exec's result is used); later ones only wait for that.
   */
  observe(ms: number, sudoSaid: string): Promise<void> {
    if (ms < SLOW_BECOME_MS) return Promise.resolve();
    this.checking ??= this.report(ms, sudoSaid).catch(() => {});
    return this.checking;
  }

  private async report(ms: number, sudoSaid: string): Promise<void> {
    const head = `sudo on ${this.options.name} took ${seconds(ms)} to start`;
    // sudo says so itself when it cannot resolve the name: "sudo: unable to resolve host hv1: Name or service not known".
    const unresolved = /unable to resolve host ([^\s:]+)/.exec(sudoSaid);
    if (unresolved) {
      this.options.warn(
        `${head}: sudo resolves the host's own name and "${unresolved[1]}" does not resolve (not in /etc/hosts?), so every sudo waits for DNS to give up; add it to the host's /etc/hosts`,
      );
      return;
    }
    const started = Date.now();
    let lookup: { ok: boolean; name: string; ms: number } | undefined;
    try {
      const r = await this.options.runPlain(NAME_CHECK, NAME_CHECK_TIMEOUT_MS);
      const [code, name, lookupMs] = r.stdout.trim().split(/\s+/);
      lookup = { ok: code === '0', name: name ?? '?', ms: Number(lookupMs) || 0 };
    } catch {
      // Timed out: the lookup itself hangs, which answers the question.
    }
    const took = Date.now() - started;
    if (!lookup) {
      this.options.warn(
        `${head}: sudo resolves the host's own name, and looking it up on the host did not finish in ${seconds(took)} (not in /etc/hosts? a DNS server that does not answer?); add it to the host's /etc/hosts`,
      );
    } else if (!lookup.ok || lookup.ms >= SLOW_LOOKUP_MS) {
      const how = lookup.ok ? `takes ${seconds(lookup.ms)} to look up` : `does not resolve (lookup failed after ${seconds(lookup.ms)})`;
      this.options.warn(`${head}: sudo resolves the host's own name and "${lookup.name}" ${how} (not in /etc/hosts?); add it to the host's /etc/hosts`);
    } else if (took * 2 < ms) {
      // The check's whole round trip is well under sudo's start-up: sudo itself is slow.
      this.options.warn(
        `${head}, though the host resolves its own name "${lookup.name}" at once: look at sudo's PAM stack and sudoers sources (LDAP/sssd lookups, pam_faildelay, I/O logging)`,
      );
    }
    // Else the host is slow at anything (an emulated lab VM, a loaded host): nothing particular to sudo to report.
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
