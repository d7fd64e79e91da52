// One worker of the bcrypt pool (passwords.ts): hashes and compares off the main thread.
import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';
import type { BcryptJob, BcryptResult } from './bcrypt-pool';

parentPort?.on('message', (job: BcryptJob) => {
  const work = job.op === 'hash' ? bcrypt.hash(job.password, job.cost) : bcrypt.compare(job.password, job.hash);
  work.then(
    (value: string | boolean) => parentPort?.postMessage({ id: job.id, value } satisfies BcryptResult),
    (err: unknown) => parentPort?.postMessage({ id: job.id, error: err instanceof Error ? err.message : String(err) } satisfies BcryptResult),
  );
});
