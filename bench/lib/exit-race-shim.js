// DIAGNOSTIC ONLY (`npm run bench -- --shim-exit-race`): preloaded into kvmnet with `node --import`,
// it applies at run time the fix proposed for the exit-status race in src/connection/ssh.ts, so the
// benchmark can time a cold converge on a loaded machine. Results taken with it are labelled.
//
// The race: kvmnet attaches its `exit` listener in collect(), after `await openChannel()`. When
// sshd's CHANNEL_SUCCESS and the command's exit-status arrive in the same read (a fast command on a
// busy controller), ssh2 emits `exit` before that listener exists; kvmnet then reports
// "exit code null" and fails the task. ssh2 keeps the status in `channel._exit`: this shim replays
// it to an `exit` listener attached late. (The fix in kvmnet: attach the listener inside the
// client.exec callback, before resolving.)
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../package.json', import.meta.url));
const { Client } = require('ssh2');
const exec = Client.prototype.exec;
Client.prototype.exec = function (command, options, callback) {
  if (typeof options === 'function') {
    callback = options;
    options = {};
  }
  return exec.call(this, command, options, (err, channel) => {
    if (!err && channel) {
      const on = channel.on;
      channel.on = function (event, listener) {
        const done = this._exit;
        if (event === 'exit' && done && (done.code !== undefined || done.signal !== undefined)) {
          globalThis.__kvmnetBenchExitReplays = (globalThis.__kvmnetBenchExitReplays ?? 0) + 1;
          listener(done.code ?? null, done.signal, done.dump, done.desc);
          return this;
        }
        return on.call(this, event, listener);
      };
    }
    callback(err, channel);
  });
};
