// The credentials offered when the ssh config names them: IdentityFile (missing ones skipped, as ssh does; they
// replace the default keys), IdentitiesOnly (no agent), IdentityAgent (another socket, or none).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAuthSteps } from '../../../src/connection/ssh-auth.js';

const dir = mkdtempSync(join(tmpdir(), 'kvmnet-auth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const keyA = join(dir, 'a');
const keyB = join(dir, 'b');
for (const k of [keyA, keyB]) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', k]);
const env = { SSH_AUTH_SOCK: '/run/agent.sock', OTHER_SOCK: '/run/other.sock' };
const labels = async (creds: Parameters<typeof loadAuthSteps>[0]) => (await loadAuthSteps(creds, {}, env)).steps.map((s) => s.label);

describe('auth steps from the ssh config', () => {
  it('config keys after the inventory key and the agent; a missing one skipped; no default keys', async () => {
    expect(await labels({ sshKey: keyA, identityFiles: [keyA, join(dir, 'missing'), keyB] })).toEqual([`key ${keyA}`, 'agent', `key ${keyB}`]);
  });

  it('IdentitiesOnly: no agent', async () => {
    expect(await labels({ identityFiles: [keyB], identitiesOnly: true })).toEqual([`key ${keyB}`]);
  });

  it('IdentityAgent: none, a path, $VAR, SSH_AUTH_SOCK', async () => {
    expect(await labels({ identityFiles: [keyB], identityAgent: 'none' })).toEqual([`key ${keyB}`]);
    const agentOf = async (identityAgent: string) => {
      const step = (await loadAuthSteps({ identityFiles: [], identityAgent }, {}, env)).steps.find((s) => s.label === 'agent');
      return (step?.method('u') as { agent?: string } | undefined)?.agent;
    };
    expect(await agentOf('/tmp/x.sock')).toBe('/tmp/x.sock');
    expect(await agentOf('$OTHER_SOCK')).toBe('/run/other.sock');
    expect(await agentOf('SSH_AUTH_SOCK')).toBe('/run/agent.sock');
  });
});
