// command: the escape hatch. A command run as is, judged by changed_when / failed_when; never
// planned (its effect is unknown), so the executor always treats it as touching anything.
import { z } from 'zod';
import type { CommandTaskModule } from './contract.js';

const expression = z.union([z.string().min(1), z.boolean()]);

const schema = z.strictObject({
  cmd: z.union([z.string().min(1), z.array(z.string()).min(1)]).meta({ description: 'a shell command line, or an argv list (each item quoted)' }),
  creates: z.string().min(1).optional().meta({ description: 'skip when this path exists on the host' }),
  removes: z.string().min(1).optional().meta({ description: 'skip unless this path exists on the host' }),
  changed_when: expression.optional().meta({ description: 'expression over rc, stdout, stderr; default: always changed' }),
  failed_when: expression.optional().meta({ description: 'expression over rc, stdout, stderr; default: rc != 0' }),
});

export type CommandArgs = z.output<typeof schema>;

export const command: CommandTaskModule<'command', typeof schema> = {
  kind: 'command',
  type: 'command',
  schema,
  defaultName: (args) => `command ${Array.isArray(args.cmd) ? args.cmd.join(' ') : String(args.cmd)}`.slice(0, 80),
};
