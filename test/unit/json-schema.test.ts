import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { playbookJsonSchema } from '../../src/config/json-schema.js';
import { taskTypes } from '../../src/tasks/registry.js';

describe('JSON Schema of the playbook language', () => {
  it('the committed schema/playbook.schema.json is up to date (regenerate with `kvmnet schema`)', () => {
    const committed = JSON.parse(readFileSync(new URL('../../schema/playbook.schema.json', import.meta.url), 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(playbookJsonSchema())));
  });
  it('describes every task type, and accepts templates for typed fields', () => {
    const schema = playbookJsonSchema() as {
      $defs: { task: { oneOf: Array<{ required: string[]; properties: Record<string, { properties: Record<string, unknown> }> }> } };
    };
    expect(schema.$defs.task.oneOf.map((t) => t.required[0])).toEqual(taskTypes);
    const bridge = schema.$defs.task.oneOf.find((t) => t.required[0] === 'ensure_bridge')!.properties.ensure_bridge!.properties;
    expect(JSON.stringify(bridge.mtu)).toContain('\\\\{\\\\{');
  });
});

describe('one source for the loader and the JSON Schema', () => {
  const servedPattern = (): RegExp => {
    const schema = playbookJsonSchema() as { $defs: { play: { properties: { serial: { anyOf: Array<{ anyOf?: Array<{ pattern?: string }> }> } } } } };
    return new RegExp(schema.$defs.play.properties.serial.anyOf[0]!.anyOf!.find((s) => s.pattern)!.pattern!);
  };
  it.each(['25%', '100%', '0.5%', '250%', '0%', '101%', '5'])('serial %s: the schema accepts it exactly when the loader does', async (value) => {
    const { parsePlaybook } = await import('../../src/config/playbook.js');
    const loaded = parsePlaybook('p.yaml', `- hosts: all\n  serial: "${value}"\n  tasks: []\n`);
    const loaderAccepts = !loaded.diagnostics.some((d) => d.severity === 'error');
    expect(servedPattern().test(value)).toBe(loaderAccepts);
  });
});
