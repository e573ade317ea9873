// `npm run docs`: writes the generated documentation (docs/tasks/*.md, kvmnet.1, completion/*,
// schema/playbook.schema.json)
// from the compiled sources (dist/, by tsc first). See src/docs/generated-files.ts.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { generatedFiles } = await import('../dist/docs/generated-files.js');
const files = generatedFiles(root);
// A task type that was removed must not leave its page behind.
for (const f of readdirSync(join(root, 'docs/tasks'), { withFileTypes: true })) {
  const rel = `docs/tasks/${f.name}`;
  if (f.isFile() && f.name.endsWith('.md') && !files.has(rel)) rmSync(join(root, rel));
}
for (const [rel, content] of files) {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), content);
}
console.log(`wrote ${files.size} files: ${[...files.keys()].join(', ')}`);
