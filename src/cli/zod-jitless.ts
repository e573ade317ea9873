// zod compiles a fast path for each object schema with `new Function` on its first parse: V8's
// code cache cannot keep that code, and a run parses each schema only a few times (6-10 ms of a
// 1-host run; the same CPU at 1000 simulated hosts). Each schema reads the setting when it is
// built, so main.ts imports this module before anything else.
import { config } from 'zod/v4/core';

config({ jitless: true });
