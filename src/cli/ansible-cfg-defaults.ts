// ansible.cfg applied to a command that connects: ssh_args (its -F and -o), remote_user, private_key_file, timeout,
// host_key_checking and become under the inventory's variables, forks when -f is not given.
import type { Command } from 'commander';
import { loadAnsibleCfg, sshArgsOptions } from '../config/ansible-cfg.js';
import { setConnectionDefaults } from '../config/connection-vars.js';
import { setSshConfigFile } from '../config/ssh-client-settings.js';

export function applyAnsibleCfg(action: Command, env: NodeJS.ProcessEnv = process.env): void {
  const cfg = loadAnsibleCfg(env);
  for (const e of cfg.errors) process.stderr.write(`warning: ansible.cfg: ${e}\n`);
  const ssh = cfg.sshArgs ? sshArgsOptions(cfg.sshArgs.value) : { options: [] as string[] };
  setSshConfigFile(action.opts<{ sshConfig?: string }>().sshConfig ?? ssh.configFile, ssh.options);
  const defaults: Record<string, unknown> = {
    user: cfg.remoteUser?.value,
    ssh_key: cfg.privateKeyFile?.value,
    connect_timeout: cfg.timeout?.value,
    host_key_checking: cfg.hostKeyChecking?.value,
    become: cfg.become?.value,
  };
  setConnectionDefaults(Object.fromEntries(Object.entries(defaults).filter(([, v]) => v !== undefined)));
  if (cfg.forks && cfg.forks.value >= 1 && action.getOptionValueSource('forks') === 'default') action.setOptionValue('forks', cfg.forks.value);
}
