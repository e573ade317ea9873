// Entry point. Command implementations are imported lazily so `kvmnet --help` starts fast.
import './zod-jitless.js';
import { Argument, Command, Option } from 'commander';
import { KVMNET_VERSION } from './version.js';
import { EXIT, reportError } from './exit-codes.js';
import type { FactsFlags, InventoryFlags, LabDirFlags, LabUpFlags, MergeFlags, RunFlags, ValidateFlags } from './flags.js';
import {
  MAX_FORKS,
  collect,
  hostPattern,
  labHostCount,
  labPrefix,
  nonEmpty,
  seconds,
  shardByOption,
  shardOption,
  tagList,
  wholeNumber,
} from './option-parsers.js';

const pkg = { version: KVMNET_VERSION };

const forks = wholeNumber(1, MAX_FORKS);
const playbookArgument = () => new Argument('<playbook>', 'playbook YAML file').argParser(nonEmpty('a playbook file'));
const dirOption = (description: string) => new Option('--dir <dir>', description).default('.lab').argParser(nonEmpty('a directory'));

function inventoryOption(cmd: Command): Command {
  return cmd.addOption(
    new Option('-i, --inventory <path>', 'inventory: file, directory or comma list (repeatable; later ones merge over earlier ones)')
      .default([])
      .argParser((v: string, previous: string[]) => collect(nonEmpty('an inventory: a file, a directory or a comma list')(v), previous)),
  );
}

/** -F: the OpenSSH client config to read instead of ~/.ssh/config and /etc/ssh/ssh_config (`none`: none). */
function sshConfigOption(cmd: Command): Command {
  return cmd
    .option(
      '-F, --ssh-config <file>',
      'OpenSSH client config to read (default: ~/.ssh/config, then /etc/ssh/ssh_config; none: none); the ssh_config variable wins',
      nonEmpty('an ssh config file or none'),
    )
    .hook('preAction', async (_cmd, action) => {
      const { applyAnsibleCfg } = await import('./ansible-cfg-defaults.js');
      applyAnsibleCfg(action);
    });
}

/** --shard and --shard-by, the same on `run` and `facts`. */
function shardOptions(cmd: Command): Command {
  return cmd
    .option(
      '--shard <I/N|auto>',
      'take only shard I of N of the selected hosts (1-based; sorted by name, every N-th host), or auto: from KVMNET_SHARD, JOB_COMPLETION_INDEX + KVMNET_SHARD_COUNT, or CI_NODE_INDEX/CI_NODE_TOTAL',
      shardOption,
    )
    .option(
      '--shard-by <var|group:GLOB>',
      'with --shard: keep hosts with the same value of this host variable (or in the same group matching GLOB) in one shard',
      shardByOption,
    );
}

/** A usage error found after parsing (options that only make sense together): reported like commander's own. */
function usageError(cmd: Command, message: string): never {
  return cmd.error(`error: ${message}`, { exitCode: EXIT.invalidInput, code: 'kvmnet.usage' });
}

export function buildProgram(): Command {
  const program = new Command('kvmnet')
    .description(
      'Configure the networking of KVM/libvirt hypervisor fleets over SSH: bridges, ports, addresses, libvirt networks.\nIdempotent, parallel, with a dry run first. Nothing to install on the hosts but a POSIX shell, iproute2 and virsh.',
    )
    .version(pkg.version, '-V, --version')
    // Set before the subcommands are added: they inherit both.
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  kvmnet validate playbooks/bridged.yaml -i inventory
  kvmnet run playbooks/bridged.yaml -i inventory --check --diff
  kvmnet run playbooks/bridged.yaml -i inventory --limit 'rack1:!hv2*' --forks 100
  kvmnet facts -i inventory --limit hv1.example.com
  kvmnet graph -i inventory -o topology.svg
  kvmnet lab up -n 3 && kvmnet run playbooks/bridged.yaml -i .lab/inventory.yaml
  kvmnet run site.yaml -i inventory --shard auto -o json > shard.jsonl   (one shard per Indexed Job pod / CI job)
  kvmnet merge shard-*.jsonl -o merged.jsonl                             (exit code as a single run)

Exit codes: 0 ok · 1 invalid input or usage (no host contacted) · 2 a task failed · 4 a host unreachable
            (2 and 4 add up) · +8 changes pending with --check --detailed-exitcode · 70 a bug in kvmnet
            · 130/143 interrupted`,
    );

  shardOptions(
    sshConfigOption(
      inventoryOption(
        program.command('run').description('apply a playbook to the selected hosts (or, with --check, show what would change)').addArgument(playbookArgument()),
      ),
    )
      .option('-C, --check', 'contact hosts and read their state, but change nothing; report what would change')
      .option('--dry-run', 'same as --check')
      .option('-D, --diff', 'show before/after for each change')
      .option('-l, --limit <pattern>', 'further limit the hosts: a pattern, or @file with one host per line (e.g. @playbook.retry)', hostPattern)
      .option('-f, --forks <n>', `hosts worked on at once (1-${MAX_FORKS})`, forks, 50)
      .option('-e, --extra-vars <vars>', 'k=v pairs, @file.yaml, or JSON; highest precedence (repeatable)', collect, [])
      .option('-t, --tags <tags>', 'only run tasks with these tags (comma separated)', tagList)
      .option('--skip-tags <tags>', 'skip tasks with these tags (comma separated)', tagList)
      .addOption(new Option('-o, --output <format>', 'text (live view on a terminal) or json (JSON Lines)').choices(['text', 'json']).default('text'))
      .option('-v, --verbose', 'more detail (repeat for more)', (_v: string, n: number) => n + 1, 0)
      .addOption(
        new Option('--recap <mode>', 'auto: on a terminal, hosts with the same outcome share a line when one per host would not fit; full: every host (as -v)')
          .choices(['auto', 'full'])
          .default('auto'),
      )
      .option('--detailed-exitcode', 'with --check: add 8 to the exit code when changes are pending')
      .option('--connect-timeout <seconds>', 'SSH connection timeout', seconds(false))
      .option('--command-timeout <seconds>', 'timeout of each remote command', seconds(false))
      .option('--force-handlers', 'run notified handlers even on hosts that failed later')
      .option('--wait-lock <seconds>', "wait this long for another kvmnet run's lock on a host (default 2)", seconds(true))
      .option('--list-tasks', 'print the tasks that would run, without contacting hosts')
      .option('--list-hosts', 'print the hosts each play would run on, without contacting hosts')
      .option('--report <file.html>', 'also write a self-contained HTML report of the run (recap, tasks, diffs, timeline, topology of the changed hosts)')
      .option(
        '--out <plan.json>',
        'with --check: save the plan (per host: every operation, the diffs, and the facts it was planned on) for review and `kvmnet apply`',
      ),
  ).action(async (playbook: string, flags: RunFlags, cmd: Command) => {
    const check = Boolean(flags.check || flags.dryRun);
    if (flags.out && !check) usageError(cmd, '--out needs --check (or --dry-run): a saved plan is made without changing anything');
    if (flags.shardBy && !flags.shard) usageError(cmd, '--shard-by needs --shard');
    // Without --check the run changes hosts and the +8 never comes: refuse before anything is contacted.
    if (flags.detailedExitcode && !check && !flags.listHosts && !flags.listTasks) usageError(cmd, '--detailed-exitcode needs --check (or --dry-run)');
    const { runCommand } = await import('./run-command.js');
    process.exitCode = await runCommand(playbook, { ...flags, check });
  });

  sshConfigOption(
    inventoryOption(
      program
        .command('validate')
        .description('load and validate a playbook and inventory, and render every task for every host, without connecting')
        .addArgument(playbookArgument()),
    ),
  )
    .option('-l, --limit <pattern>', 'limit the hosts', hostPattern)
    .option('-e, --extra-vars <vars>', 'extra vars (repeatable)', collect, [])
    .action(async (playbook: string, flags: ValidateFlags) => {
      const { validateCommand } = await import('./validate-command.js');
      process.exitCode = await validateCommand(playbook, flags);
    });

  inventoryOption(program.command('inventory').description('show the inventory, like ansible-inventory'))
    .option('--list', 'all groups, hosts and their variables as JSON')
    .option('--graph', 'the group tree')
    .option('--host <name>', "one host's merged variables as JSON", nonEmpty('a host name'))
    .option('--export', 'with --list: group vars under their groups and only own vars per host (as ansible-inventory --export)')
    .action(async (flags: InventoryFlags, cmd: Command) => {
      const chosen = [flags.list, flags.graph, flags.host !== undefined].filter(Boolean).length;
      if (chosen !== 1) usageError(cmd, `choose exactly one of --list, --graph or --host NAME (got ${chosen === 0 ? 'none' : chosen})`);
      const { inventoryCommand } = await import('./inventory-command.js');
      process.exitCode = await inventoryCommand(flags);
    });

  shardOptions(
    sshConfigOption(
      inventoryOption(program.command('facts').description("show each host's bridges, ports, addresses, libvirt networks and guest interfaces"))
        .option('-l, --limit <pattern>', 'limit the hosts (default: all)', hostPattern)
        .option('-f, --forks <n>', `hosts contacted at once (1-${MAX_FORKS})`, forks, 50)
        .addOption(new Option('-o, --output <format>', 'text or json').choices(['text', 'json']).default('text'))
        .option(
          '--only <fragments>',
          'read only these facts fragments besides the core ones (comma-separated: persisted, bond-details, proc-bonding, vlan-details, bridge-filtering, bridge-vlans, libvirt-version, dhcp, port-forwards, guest-nics, rollback-log; default: all)',
        ),
    ),
  ).action(async (flags: FactsFlags, cmd: Command) => {
    if (flags.shardBy && !flags.shard) usageError(cmd, '--shard-by needs --shard');
    const { factsCommand } = await import('./facts-command.js');
    process.exitCode = await factsCommand(flags);
  });

  sshConfigOption(
    inventoryOption(
      program.command('graph').description("draw each host's network: NICs, bridges, libvirt networks, guests; the SSH path and problems marked"),
    ).option('-l, --limit <pattern>', 'limit the hosts', hostPattern),
  )
    .option('-f, --forks <n>', `hosts contacted at once (1-${MAX_FORKS})`, forks, 50)
    .option('--from <facts.json>', 'draw from the output of `kvmnet facts --output json` instead of contacting hosts', nonEmpty('a facts JSON file'))
    .addOption(
      new Option('--format <format>', 'svg, dot, mermaid or html (default: from the -o file name, else svg)').choices(['svg', 'dot', 'mermaid', 'html']),
    )
    .option('-o, --output <file>', 'write to FILE instead of stdout')
    .option('--no-group', 'draw every host, even those of the same shape (default: same-shape hosts are one picture, ×N)')
    .action(async (flags: import('./graph-command.js').GraphFlags) => {
      const { graphCommand } = await import('./graph-command.js');
      process.exitCode = await graphCommand(flags);
    });

  sshConfigOption(
    inventoryOption(
      program
        .command('apply')
        .description(
          'apply a plan saved with `kvmnet run --check --out plan.json`: exactly its operations, on each host whose facts are still what the plan read (others are refused, naming what changed)',
        )
        .argument('<plan.json>', 'the saved plan'),
    ),
  )
    .option('-f, --forks <n>', `hosts worked on at once (1-${MAX_FORKS})`, forks, 50)
    .option('-e, --extra-vars <vars>', 'the extra vars the plan was made with (repeatable)', collect, [])
    .option('-D, --diff', 'show before/after for each change')
    .addOption(new Option('-o, --output <format>', 'text (live view on a terminal) or json (JSON Lines)').choices(['text', 'json']).default('text'))
    .option('-v, --verbose', 'more detail (repeat for more)', (_v: string, n: number) => n + 1, 0)
    .option('--connect-timeout <seconds>', 'SSH connection timeout', seconds(false))
    .option('--command-timeout <seconds>', 'timeout of each remote command', seconds(false))
    .option('--wait-lock <seconds>', "wait this long for another kvmnet run's lock on a host (default 2)", seconds(true))
    .option('--report <file.html>', 'also write a self-contained HTML report of the run')
    .action(async (planFile: string, flags: RunFlags) => {
      const { applyCommand } = await import('./run-command.js');
      process.exitCode = await applyCommand(planFile, flags);
    });

  program
    .command('report')
    .description('write the HTML report of a run saved with `kvmnet run --output json`, or of a plan saved with `kvmnet run --check --out`')
    .argument('<results.jsonl|plan.json>', 'the JSON Lines of the run (- for stdin), or a saved plan')
    .requiredOption('-o, --output <file.html>', 'the HTML file to write')
    .option('--facts <facts.json>', 'draw the changed hosts from this output of `kvmnet facts --output json`')
    .option('--title <title>', 'the title of the page')
    .action(async (results: string, flags: { output: string; facts?: string; title?: string }) => {
      const { reportCommand } = await import('./report-command.js');
      process.exitCode = await reportCommand(results, flags);
    });

  program
    .command('merge')
    .description(
      'merge the JSON Lines of the shards of one run (`run` or `facts` with --shard I/N --output json) into the result of a single run, checking they are of one run, disjoint and complete',
    )
    .argument('<files...>', 'the JSON Lines of every shard')
    .option('-o, --output <file.jsonl>', 'write the merged JSON Lines here (default: only the recap is printed)')
    .option('--report <file.html>', 'also write the HTML report of the merged run')
    .option('--detailed-exitcode', 'for shards run with --check: add 8 to the exit code when changes are pending')
    .action(async (files: string[], flags: MergeFlags) => {
      const { mergeCommand } = await import('./merge-command.js');
      process.exitCode = await mergeCommand(files, flags);
    });

  program
    .command('schema')
    .description('print the JSON Schema of the playbook language (for editors: # yaml-language-server: $schema=…)')
    .action(async () => {
      const { playbookJsonSchema } = await import('../config/json-schema.js');
      process.stdout.write(JSON.stringify(playbookJsonSchema(), null, 2) + '\n');
    });

  program
    .command('doc')
    .description(
      'show the reference of a task type: its fields, defaults, allowed values, refusals and an example (like ansible-doc); without TYPE, list the task types',
    )
    .argument('[type]', 'a task type, e.g. ensure_bond')
    .action(async (type: string | undefined) => {
      const { docCommand } = await import('./doc-command.js');
      process.exitCode = docCommand(type);
    });

  const lab = program.command('lab').description('disposable hypervisors in network namespaces on this machine (root, Linux)');
  lab
    .command('up')
    .description('create (or grow) a lab of N hypervisors and write DIR/inventory.yaml')
    .option('-n, --hosts <n>', 'number of hosts (default 3; 2 with --kernel vm)', labHostCount)
    .addOption(dirOption('where the lab keeps its keys, inventory and state'))
    .option('--prefix <prefix>', "prefix of every name the lab creates (namespaces, links; default kvl, or the existing lab's)", labPrefix)
    .option('--guest <host>', 'start a tiny running guest (qemu, 64 MB, one NIC on network default) on this host; repeatable', collect)
    .addOption(
      new Option(
        '--kernel <kind>',
        'netns: hosts are namespaces on this kernel (default, fast); vm: QEMU VMs with their own kernel and a lab switch (bonds, VLANs; slow)',
      ).choices(['netns', 'vm']),
    )
    .addOption(
      new Option(
        '--libvirt <which>',
        "system: the machine's libvirt (default); backports: hosts this run creates get Debian bookworm-backports' libvirt (11.x, nftables firewall backend), unpacked into /var/cache/kvmnet-lab",
      ).choices(['system', 'backports']),
    )
    .option(
      '--untagged-mgmt',
      "with --kernel vm: the switch also joins its host ports' untagged traffic to the management network (VLAN 10), so a host's eth1 or bond0 without a VLAN is on the lab subnet too",
    )
    .addOption(
      new Option(
        '--init <init>',
        'with --kernel vm: busybox (default, fast, nothing survives a reboot); systemd: hosts boot systemd, keep /etc and /var on a disk and can reboot',
      ).choices(['busybox', 'systemd']),
    )
    .addOption(
      new Option(
        '--manager <manager>',
        "with --init systemd: the hosts' network stack (default networkd); networkmanager, netplan, ifupdown and ifupdown2 are unpacked into /var/cache/kvmnet-lab, never installed here",
      ).choices(['networkd', 'networkmanager', 'netplan', 'ifupdown', 'ifupdown2', 'none']),
    )
    .action(async (flags: LabUpFlags) => {
      const { labUpCommand } = await import('./lab-command.js');
      process.exitCode = await labUpCommand(flags);
    });
  lab
    .command('down')
    .description('remove everything the lab made')
    .addOption(dirOption('the lab directory'))
    .action(async (flags: LabDirFlags) => {
      const { labDownCommand } = await import('./lab-command.js');
      process.exitCode = await labDownCommand(flags);
    });
  lab
    .command('status')
    .description("list the lab's hosts and whether their sshd and libvirtd answer")
    .addOption(dirOption('the lab directory'))
    .action(async (flags: LabDirFlags) => {
      const { labStatusCommand } = await import('./lab-command.js');
      process.exitCode = await labStatusCommand(flags);
    });
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const context = { version: pkg.version, args: argv.slice(2) };
  const report = (err: unknown): number => reportError(err, (s) => process.stderr.write(s + '\n'), context);
  // A bug that escapes the command (a callback, a stream event) is still reported as one, never as Node's bare trace and exit 1.
  const crash = (err: unknown) => process.exit(report(err));
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  // `kvmnet run … --list-hosts | head`: the reader has gone, which is not an error worth a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? EXIT.ok);
  });
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    process.exitCode = report(err);
  }
}
