// The JSON Schema of the playbook language, derived from the same zod schemas that validate it.
import { z } from 'zod';
import { taskArgSchemas, taskTypes } from './task-schemas.js';

// Any string may hold a {{ template }}, so typed fields also accept one.
const templated = { type: 'string', pattern: '\\{\\{.*\\}\\}' };

function allowTemplates(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(allowTemplates);
  if (!schema || typeof schema !== 'object') return schema;
  const s = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, k === 'properties' ? Object.fromEntries(Object.entries(v as object).map(([pk, pv]) => [pk, allowTemplates(pv)])) : k === 'items' || k === 'additionalProperties' || k === 'anyOf' ? allowTemplates(v) : v]));
  const t = (s as { type?: string }).type;
  if (t === 'number' || t === 'integer' || t === 'boolean' || (s as { enum?: unknown }).enum) return { anyOf: [s, templated] };
  return s;
}

export function playbookJsonSchema(): Record<string, unknown> {
  const stringList = { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] };
  const keywords = {
    name: { type: 'string' },
    when: { anyOf: [{ type: 'string' }, { type: 'boolean' }, { type: 'array', items: { type: 'string' } }] },
    register: { type: 'string', pattern: '^[A-Za-z_]\\w*$' },
    loop: { anyOf: [{ type: 'array' }, { type: 'string' }] },
    loop_control: { type: 'object', properties: { loop_var: { type: 'string' } }, additionalProperties: false },
    notify: stringList,
    tags: stringList,
    ignore_errors: { type: 'boolean' },
    check_mode: { type: 'boolean' },
    vars: { type: 'object' },
  };
  const task = {
    oneOf: taskTypes.map((type) => {
      const args = allowTemplates(z.toJSONSchema(taskArgSchemas[type], { io: 'input' })) as Record<string, unknown>;
      delete args.$schema;
      return { type: 'object', required: [type], properties: { ...keywords, [type]: args }, additionalProperties: false };
    }),
  };
  const serialItem = { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'string', pattern: '^\\d+(\\.\\d+)?%$' }] };
  const play = {
    type: 'object',
    required: ['hosts'],
    additionalProperties: false,
    properties: {
      name: { type: 'string' },
      hosts: stringList,
      vars: { type: 'object' },
      vars_files: stringList,
      become: { type: 'boolean' },
      serial: { anyOf: [serialItem, { type: 'array', items: serialItem, minItems: 1 }] },
      max_fail_percentage: { type: 'number', minimum: 0, maximum: 100 },
      any_errors_fatal: { type: 'boolean' },
      strategy: { enum: ['free', 'linear'] },
      confirm: { type: 'boolean' },
      confirm_timeout: { type: 'number', minimum: 5, maximum: 3600 },
      persist: { anyOf: [{ enum: ['networkd', 'ifupdown', 'none'] }, templated] },
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
