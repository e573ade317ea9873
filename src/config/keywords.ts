// The play and task keywords: ONE source for the loader (which values are valid) and the JSON
// Schema editors use. The loader checks structure by hand for precise messages; whether a value
// is acceptable is always decided by these schemas.
import { z } from 'zod';
import { PERSIST_KINDS } from '../model/persist-kinds.js';

const stringList = z.union([z.string(), z.array(z.string())]);
const variableName = z.string().regex(/^[A-Za-z_]\w*$/);
// A host count, or a percentage above 0 and at most 100.
const serialItem = z.union([z.number().int().min(1), z.string().regex(/^(100|[1-9]\d?(\.\d+)?|0\.\d*[1-9]\d*)%$/)]);

export const playKeywords = {
  name: z.string(),
  hosts: stringList,
  vars: z.record(z.string(), z.unknown()),
  vars_files: stringList,
  become: z.boolean(),
  serial: z.union([serialItem, z.array(serialItem).min(1)]),
  max_fail_percentage: z.number().min(0).max(100),
  any_errors_fatal: z.boolean(),
  strategy: z.enum(['free', 'linear']),
  confirm: z.boolean().meta({ description: 'guard every change of the play with commit-confirmed rollback' }),
  confirm_timeout: z.number().min(6).max(3600).meta({ description: 'seconds before an unconfirmed change is rolled back' }),
  persist: z.enum(PERSIST_KINDS),
  tasks: z.array(z.unknown()),
  handlers: z.array(z.unknown()),
} as const;

export const taskKeywords = {
  name: z.string(),
  when: z.union([z.string(), z.boolean(), z.array(z.string())]),
  register: variableName,
  loop: z.union([z.array(z.unknown()), z.string()]),
  loop_control: z.strictObject({ loop_var: variableName.optional() }),
  notify: stringList,
  tags: stringList,
  ignore_errors: z.boolean(),
  check_mode: z.boolean(),
  confirm: z.boolean().meta({ description: 'guard this task with commit-confirmed rollback' }),
  confirm_group: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/)
    .meta({
      description:
        'tasks next to each other with the same confirm_group are applied as ONE commit-confirmed step (one rollback to the state before the first of them)',
    }),
  vars: z.record(z.string(), z.unknown()),
} as const;

export const PLAY_KEYS = Object.keys(playKeywords) as Array<keyof typeof playKeywords>;
export const TASK_KEYWORDS = Object.keys(taskKeywords) as Array<keyof typeof taskKeywords>;

/** Whether `value` is acceptable for play keyword `key`. */
export const validPlayValue = (key: keyof typeof playKeywords, value: unknown): boolean => playKeywords[key].safeParse(value).success;
