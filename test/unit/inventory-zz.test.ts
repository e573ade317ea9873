import { test } from 'vitest';
import { loadInventory } from '../../src/config/inventory.js';
test('x', () => { console.log(JSON.stringify(loadInventory(['/tmp/scratch/dup/h.yaml']).diagnostics)); });
