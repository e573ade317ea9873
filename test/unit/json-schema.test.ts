import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { playbookJsonSchema } from '../../src/config/json-schema.js';
import { taskTypes } from '../../src/config/task-schemas.js';

describe('JSON Schema of the playbook language', () => {
  it('the committed schema/playbook.schema.json is up to date (regenerate with `kvmnet schema`)', () => {
    const committed = JSON.parse(readFileSync(new URL('../../schema/playbook.schema.json', import.meta.url), 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(playbookJsonSchema())));
  });
  it('describes every task type, and accepts templates for typed fields', () => {
    const schema = playbookJsonSchema() as { $defs: { task: { oneOf: Array<{ required: string[]; properties: Record<string, { properties: Record<string, unknown> }> }> } } };
    expect(schema.$defs.task.oneOf.map((t) => t.required[0])).toEqual(taskTypes);
    const bridge = schema.$defs.task.oneOf.find((t) => t.required[0] === 'ensure_bridge')!.properties.ensure_bridge!.properties;
    expect(JSON.stringify(bridge.mtu)).toContain('\\\\{\\\\{');
  });
});
