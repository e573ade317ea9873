import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readSecret } from '../../src/cli/output.js';

/** A stream that says it is a terminal, like process.stdin on a TTY (readline then runs in terminal mode). */
function fakeTerminal(): PassThrough & { isTTY: boolean } {
  return Object.assign(new PassThrough(), { isTTY: true });
}

function collector(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.setEncoding('utf8').on('data', (d: string) => (text += d));
  return { stream, text: () => text };
}

describe('readSecret', () => {
  it('reads a line without echoing it: only the prompt and the final newline reach the terminal', async () => {
    const input = fakeTerminal();
    const output = collector();
    const answer = readSecret('passphrase for /k: ', { input, output: output.stream });
    input.write('s3cret pass\r');
    expect(await answer).toBe('s3cret pass');
    expect(output.text()).toBe('passphrase for /k: \n');
  });

  it('asks nothing without a terminal', async () => {
    const output = collector();
    expect(await readSecret('passphrase: ', { input: new PassThrough(), output: output.stream })).toBeUndefined();
    expect(output.text()).toBe('');
  });

  it('gives up when the input ends', async () => {
    const input = fakeTerminal();
    const output = collector();
    const answer = readSecret('passphrase: ', { input, output: output.stream });
    input.end();
    expect(await answer).toBeUndefined();
    expect(output.text()).toBe('passphrase: \n');
  });
});
