// Entry point. Command implementations are imported lazily so `kvmnet --help` starts fast.
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { reportError } from './exit-codes.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const collect = (value: string, previous: string[] = []) => [...previous, value];
const positiveInt = (what: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what} must be a whole number of 1 or more, got '${v}'`);
  return n;
};
const seconds = (what: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${what} must be a number of seconds, got '${v}'`);
  return n;
};

export interface RunFlags {
  inventory: string[];
  check?: boolean;
  diff?: boolean;
  limit?: string;
  forks: number;
  extraVars: string[];
  tags?: string;
  skipTags?: string;
  output: 'text' | 'json';
  verbose: number;
  detailedExitcode?: boolean;
  connectTimeout?: number;
  commandTimeout?: number;
  forceHandlers?: boolean;
  waitLock?: number;
  listTasks?: boolean;
  listHosts?: boolean;
}

function inventoryOption(cmd: Command): Command {
  return cmd.option('-i, --inventory <path>', 'inventory: file, directory or comma list (repeatable; later ones merge over earlier ones)', collect, []);
}

export function buildProgram(): Command {
  const program = new Command('kvmnet')
    .description('Configure the networking of KVM/libvirt hypervisor fleets over SSH: bridges, ports, addresses, libvirt networks.\nIdempotent, parallel, with a dry run first. Nothing to install on the hosts but a POSIX shell, iproute2 and virsh.')
    .version(pkg.version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  kvmnet validate playbooks/bridged.yaml -i inventory
  kvmnet run playbooks/bridged.yaml -i inventory --check --diff
  kvmnet run playbooks/bridged.yaml -i inventory --limit 'rack1:!hv2*' --forks 100
  kvmnet facts -i inventory --limit hv1.example.com
  kvmnet lab up -n 3 && kvmnet run playbooks/bridged.yaml -i .lab/inventory.yaml

Exit codes: 0 ok · 1 invalid input (no host contacted) · 2 a task failed · 4 a host unreachable
            (2 and 4 add up) · +8 changes pending with --check --detailed-exitcode · 130/143 interrupted`,
    );

  inventoryOption(
    program
      .command('run')
      .description('apply a playbook to the selected hosts (or, with --check, show what would change)')
      .argument('<playbook>', 'playbook YAML file'),
  )
    .option('-C, --check', 'contact hosts and read their state, but change nothing; report what would change')
    .option('--dry-run', 'same as --check')
    .option('-D, --diff', 'show before/after for each change')
    .option('-l, --limit <pattern>', "further limit the hosts: a pattern, or @file with one host per line (e.g. @playbook.retry)")
    .option('-f, --forks <n>', 'hosts worked on at once', positiveInt('--forks'), 50)
    .option('-e, --extra-vars <vars>', 'k=v pairs, @file.yaml, or JSON; highest precedence (repeatable)', collect, [])
    .option('-t, --tags <tags>', 'only run tasks with these tags (comma separated)')
    .option('--skip-tags <tags>', 'skip tasks with these tags (comma separated)')
    .addOption(new Option('-o, --output <format>', 'text (live view on a terminal) or json (JSON Lines)').choices(['text', 'json']).default('text'))
    .option('-v, --verbose', 'more detail (repeat for more)', (_v: string, n: number) => n + 1, 0)
    .option('--detailed-exitcode', 'with --check: add 8 to the exit code when changes are pending')
    .option('--connect-timeout <seconds>', 'SSH connection timeout', seconds('--connect-timeout'))
    .option('--command-timeout <seconds>', 'timeout of each remote command', seconds('--command-timeout'))
    .option('--force-handlers', 'run notified handlers even on hosts that failed later')
    .option('--wait-lock <seconds>', "wait this long for another kvmnet run's lock on a host (default 2)", (v: string) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new Error(`--wait-lock must be a number of seconds, got '${v}'`);
      return n;
    })
    .option('--list-tasks', 'print the tasks that would run, without contacting hosts')
    .option('--list-hosts', 'print the hosts each play would run on, without contacting hosts')
    .action(async (playbook: string, flags: RunFlags & { dryRun?: boolean }) => {
      const { runCommand } = await import('./run-command.js');
      process.exitCode = await runCommand(playbook, { ...flags, check: flags.check || flags.dryRun });
    });

  inventoryOption(
    program
      .command('validate')
      .description('load and validate a playbook and inventory, and render every task for every host, without connecting')
      .argument('<playbook>', 'playbook YAML file'),
  )
    .option('-l, --limit <pattern>', 'limit the hosts')
    .option('-e, --extra-vars <vars>', 'extra vars (repeatable)', collect, [])
    .action(async (playbook: string, flags: RunFlags) => {
      const { validateCommand } = await import('./validate-command.js');
      process.exitCode = await validateCommand(playbook, flags);
    });

  inventoryOption(program.command('inventory').description('show the inventory, like ansible-inventory'))
    .option('--list', 'all groups, hosts and their variables as JSON')
    .option('--graph', 'the group tree')
    .option('--host <name>', "one host's merged variables as JSON")
    .action(async (flags: { inventory: string[]; list?: boolean; graph?: boolean; host?: string }) => {
      const { inventoryCommand } = await import('./inventory-command.js');
      process.exitCode = await inventoryCommand(flags);
    });

  inventoryOption(program.command('facts').description("show each host's bridges, ports, addresses, libvirt networks and guest interfaces"))
    .option('-l, --limit <pattern>', 'limit the hosts', 'all')
    .option('-f, --forks <n>', 'hosts contacted at once', positiveInt('--forks'), 50)
    .addOption(new Option('-o, --output <format>', 'text or json').choices(['text', 'json']).default('text'))
    .action(async (flags: { inventory: string[]; limit: string; forks: number; output: 'text' | 'json' }) => {
      const { factsCommand } = await import('./facts-command.js');
      process.exitCode = await factsCommand(flags);
    });

  program
    .command('schema')
    .description('print the JSON Schema of the playbook language (for editors: # yaml-language-server: $schema=…)')
    .action(async () => {
      const { playbookJsonSchema } = await import('../config/json-schema.js');
      process.stdout.write(JSON.stringify(playbookJsonSchema(), null, 2) + '\n');
    });

  const lab = program.command('lab').description('disposable hypervisors in network namespaces on this machine (root, Linux)');
  lab
    .command('up')
    .description('create (or grow) a lab of N hypervisors and write DIR/inventory.yaml')
    .option('-n, --hosts <n>', 'number of hosts (default 3; 2 with --kernel vm)', positiveInt('-n'))
    .option('--dir <dir>', 'where the lab keeps its keys, inventory and state', '.lab')
    .option('--prefix <prefix>', 'prefix of every name the lab creates (namespaces, links; default kvl, or the existing lab\'s)')
    .option('--kernel <kind>', 'netns: hosts are namespaces on this kernel (default, fast); vm: QEMU VMs with their own kernel and a lab switch (bonds, VLANs; slow)')
    .action(async (flags: { hosts?: number; dir: string; prefix?: string; kernel?: string }) => {
      const { labUpCommand } = await import('./lab-command.js');
      process.exitCode = await labUpCommand(flags);
    });
  lab
    .command('down')
    .description('remove everything the lab made')
    .option('--dir <dir>', 'the lab directory', '.lab')
    .action(async (flags: { dir: string }) => {
      const { labDownCommand } = await import('./lab-command.js');
      process.exitCode = await labDownCommand(flags);
    });
  lab
    .command('status')
    .description("list the lab's hosts and whether their sshd and libvirtd answer")
    .option('--dir <dir>', 'the lab directory', '.lab')
    .action(async (flags: { dir: string }) => {
      const { labStatusCommand } = await import('./lab-command.js');
      process.exitCode = await labStatusCommand(flags);
    });
  return program;
}

export async function main(argv: string[]): Promise<void> {
  // `kvmnet run … --list-hosts | head`: the reader has gone, which is not an error worth a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') {
      process.exitCode = 0;
      return;
    }
    if (typeof code === 'string' && code.startsWith('commander.')) {
      process.exitCode = 1;
      return;
    }
    process.exitCode = reportError(err, (s) => process.stderr.write(s + '\n'));
  }
}
