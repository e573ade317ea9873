import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { LabError } from '../errors.js';
import { pidAlive } from './processes.js';

/** One lab command per dir at a time: two concurrent `up`s would create the same links twice. */
export function acquireLock(path: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new LabError(`cannot create ${path}`, { cause: err });
      const holder = Number(readFileSync(path, 'utf8').trim());
      if (pidAlive(holder)) {
        throw new LabError(`another kvmnet lab command (pid ${holder}) is working on this lab (${path})`);
      }
      rmSync(path, { force: true }); // stale: its owner died
    }
  }
  throw new LabError(`cannot lock ${path}`);
}
