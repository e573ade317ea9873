// The task-type contract: everything kvmnet needs to know about a task type, declared in ONE
// module under src/tasks/. The loader, the facts gatherer, the executor, the safety guard, the
// rollback, the persistence layer and the reporters talk to this contract only, never to a
// particular type. Adding a type = its module, its tests, one line in registry.ts.
import type { z } from 'zod';
import type { Facts } from '../model/facts.js';
import type { Plan } from '../model/plan.js';
import type { FactsFragment } from '../facts/fragment.js';
import type { Persistence } from '../persist/persistence.js';

export interface ArgProblem {
  /** The argument the problem is about (the error points at it). */
  field: string;
  /** Deeper than the argument itself (`portgroups.1.default`): the rest of the path below `field`. */
  at?: Array<string | number>;
  message: string;
}

/** What a task module's `prepare` gets, per host, after its arguments are rendered and parsed. */
export interface PrepareContext {
  vars: Record<string, unknown>;
  /** `task 'x' (file:line:col) on host`, for error messages. */
  where: string;
  playbookDir: string;
  /** The file `resolveFile` found at load time, if any. */
  file?: string;
}

/** A table of the text view of `kvmnet facts`. */
export interface FactsSection {
  title: string;
  columns: string[];
  rows: string[][];
  /** Shown when there are no rows; without it, an empty section is left out. */
  empty?: string;
  /** Shown (highlighted) instead of the table: why this part of the host cannot be shown. */
  warning?: string;
}

/** How a type's part of the host shows in `kvmnet facts` (JSON and text). */
export interface FactsView {
  /** Key/value pairs of the JSON summary. */
  json(facts: Facts): Record<string, unknown>;
  sections(facts: Facts): FactsSection[];
}

interface TaskModuleBase<T extends string, S extends z.ZodType> {
  readonly type: T;
  readonly schema: S;
  /** The display name of a task without `name:`; args as written (may hold templates). */
  defaultName(args: Record<string, unknown>): string;
  /** Rules across fields that the schema does not express; checked at load and after rendering. */
  argProblems?(args: Record<string, unknown>): ArgProblem[];
  /** A file an argument names (a template): found at load time, beside the playbook or in templates/. */
  fileArg?: string;
  /**
   * The fragments this type's planner reads (its own and other types'): a run gathers only the
   * union of what its tasks declare (src/facts/needs.ts), and planning on facts without them fails.
   */
  facts?: FactsFragment | readonly FactsFragment[];
  factsView?: FactsView;
}

export interface PlannedTaskModule<T extends string = string, S extends z.ZodType = z.ZodType, A = z.output<S>> extends TaskModuleBase<T, S> {
  readonly kind: 'planned';
  /** Per host, after rendering: the planner's input (e.g. the rendered network XML). */
  prepare?(args: z.output<S>, ctx: PrepareContext): A;
  /** Pure: args + facts → changes (each with its effect and what it touches), a no-op, or a RefusedError. */
  plan(args: A, facts: Facts, host: string): Plan;
  /** The play's `persist` applies to this type, and the task's `persist` argument selects the format. */
  persistence?: Persistence<z.output<S>>;
}

/** The escape hatch: a command is not planned (its effect is unknown), only run, and always guarded. */
export interface CommandTaskModule<T extends string = string, S extends z.ZodType = z.ZodType> extends TaskModuleBase<T, S> {
  readonly kind: 'command';
}

// `any`: the registry holds modules of different planner inputs; `unknown` would reject every `plan(input: A)`.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TaskModule = PlannedTaskModule<string, z.ZodType, any> | CommandTaskModule;
