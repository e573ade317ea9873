// The JSON Schema of the playbook language, derived from the same zod schemas that validate it:
// the task modules' argument schemas and the play and task keywords.
import { z } from 'zod';
import { taskModules } from '../tasks/registry.js';
import { playKeywords, taskKeywords } from './keywords.js';

// Any string may hold a {{ template }}, so typed fields also accept one.
const templated = { type: 'string', pattern: '\\{\\{.*\\}\\}' };

function allowTemplates(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(allowTemplates);
  if (!schema || typeof schema !== 'object') return schema;
  const s = Object.fromEntries(
    Object.entries(schema).map(([k, v]) => [
      k,
      k === 'properties'
        ? Object.fromEntries(Object.entries(v as object).map(([pk, pv]) => [pk, allowTemplates(pv)]))
        : k === 'items' || k === 'additionalProperties' || k === 'anyOf'
          ? allowTemplates(v)
          : v,
    ]),
  );
  const t = (s as { type?: string }).type;
  if (t === 'number' || t === 'integer' || t === 'boolean' || (s as { enum?: unknown }).enum) return { anyOf: [s, templated] };
  return s;
}

function jsonOf(schema: z.ZodType): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}

const properties = (keywords: Record<string, z.ZodType>) => Object.fromEntries(Object.entries(keywords).map(([k, s]) => [k, jsonOf(s)]));

export function playbookJsonSchema(): Record<string, unknown> {
  const keywords = properties(taskKeywords);
  const task = {
    oneOf: taskModules.map((m) => ({
      type: 'object',
      required: [m.type],
      properties: { ...keywords, [m.type]: allowTemplates(jsonOf(m.schema)) },
      additionalProperties: false,
    })),
  };
  const play = {
    type: 'object',
    required: ['hosts'],
    additionalProperties: false,
    properties: {
      ...properties(playKeywords),
      persist: { anyOf: [jsonOf(playKeywords.persist), templated] },
      tasks: { type: 'array', items: { $ref: '#/$defs/task' } },
      handlers: { type: 'array', items: { $ref: '#/$defs/task' } },
    },
  };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://kvmnet.dev/schema/playbook.schema.json',
    title: 'kvmnet playbook',
    description: 'A list of plays; each play runs typed networking tasks on the hosts its pattern selects.',
    type: 'array',
    items: { $ref: '#/$defs/play' },
    $defs: { play, task },
  };
}
