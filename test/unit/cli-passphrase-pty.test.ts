// The passphrase prompt on a real pseudo-terminal (util-linux `script`): the terminal echoes nothing
// of what is typed, and the answer reaches kvmnet.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO } from './support/cli.js';

const OUTPUT_MODULE = join(REPO, 'dist', 'cli', 'output.js');

function onPty(script: string, typed: string, after: string): Promise<string> {
  const command = `${process.execPath} --input-type=module -e '${script}'`;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let sent = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (!sent && out.includes(after)) {
        sent = true;
        child.stdin.write(typed);
      }
    });
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

describe('passphrase prompt on a terminal', () => {
  beforeAll(() => {
    if (!existsSync(OUTPUT_MODULE)) throw new Error(`${OUTPUT_MODULE} is missing: run \`npm run build\` first`);
  });

  it('does not echo what is typed', async () => {
    const script = `const m = await import("${pathToFileURL(OUTPUT_MODULE).href}"); const a = await m.promptPassphrase("/keys/id"); process.stdout.write("GOT[" + a + "]\\n");`;
    const out = await onPty(script, 'topsecret\r', 'passphrase for /keys/id: ');
    expect(out.replace(/\r/g, '')).toBe('passphrase for /keys/id: \nGOT[topsecret]\n');
  });
});
