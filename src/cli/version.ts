// kvmnet's version, from its package.json (saved plans and run headers name it).
import { readFileSync } from 'node:fs';

export const KVMNET_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
