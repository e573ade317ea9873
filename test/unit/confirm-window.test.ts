// The confirming connection's window adapts to the host: never under 2 s, never under three times
// what the first connection took; a confirm_timeout that cannot leave that is refused.
import { describe, expect, it } from 'vitest';
import { confirmWindowMs, confirmWindowProblem } from '../../src/run/confirm.js';

describe('confirmation window', () => {
  it.each([
    [60, undefined, undefined],
    [6, undefined, undefined],
    [6, 400, undefined],
    [
      6,
      900,
      /confirm_timeout 6 s leaves 2\.1 s for the confirming SSH connection, and it needs at least 2\.7 s here \(connecting took 0\.90 s\): set confirm_timeout to 7 or more/,
    ],
    [10, 3000, /needs at least 9\.0 s here.*set confirm_timeout to 18 or more/],
    [5, undefined, /leaves 1\.5 s .* at least 2\.0 s/],
  ])('confirm_timeout %d s, first connection %s ms', (timeoutS, connectMs, problem) => {
    const p = confirmWindowProblem(timeoutS, connectMs);
    if (problem) expect(p).toMatch(problem);
    else expect(p).toBeUndefined();
  });
  it('the suggested confirm_timeout is enough', () => {
    expect(confirmWindowProblem(18, 3000)).toBeUndefined();
    expect(confirmWindowMs(18)).toBeGreaterThanOrEqual(9000);
  });
});
