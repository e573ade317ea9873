// A HostJob for pipeline tests: one host behind a fake connection, no vars, every slot free.
import type { PlaySpec } from '../../../src/config/playbook.js';
import type { Connection } from '../../../src/connection/types.js';
import type { HostJob } from '../../../src/run/host-pipeline.js';
import type { Reporter } from '../../../src/run/reporter.js';

export function testHostJob(play: PlaySpec, conn: Connection, reporter: Reporter, overrides: Partial<HostJob> = {}): HostJob {
  return {
    host: 'hv1',
    play: play.name,
    tasks: play.tasks,
    handlers: play.handlers,
    forceHandlers: false,
    vars: {},
    extraVars: {},
    playbookDir: '.',
    check: false,
    getConnection: async () => conn,
    reconnect: async () => conn,
    confirm: false,
    confirmTimeoutS: 60,
    commandTimeoutS: 10,
    reporter,
    stopping: () => false,
    withSlot: (fn) => fn(),
    ...overrides,
  };
}
