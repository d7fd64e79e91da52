// bcrypt off the event loop: a few worker threads and a bounded queue. A bcrypt-12 compare takes
// ~250 ms of CPU; on the main thread a handful of parallel logins stalls every other request
// (health, commands, the realtime channel). Here at most `size` run at once, at most `maxQueue`
// wait, and a job beyond that is refused at once (PoolBusyError: the API answers 503 with
// Retry-After). Idle workers do not keep the process alive (a CLI command exits when done).
// size 0 runs bcrypt on the calling thread: the floor the login-flood benchmark compares against.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import bcrypt from 'bcryptjs';

export type BcryptJob = { id: number; op: 'hash'; password: string; cost: number } | { id: number; op: 'compare'; password: string; hash: string };
export type BcryptResult = { id: number; value: string | boolean; error?: undefined } | { id: number; error: string; value?: undefined };
type Op = { op: 'hash'; password: string; cost: number } | { op: 'compare'; password: string; hash: string };

export class PoolBusyError extends Error {
  override readonly name = 'PoolBusyError';
  constructor() {
    super('too many password checks are waiting: try again in a moment');
  }
}

export interface PoolOptions {
  /** Worker threads; 0 = on the calling thread. Default: the cores but one, 1..4. */
  size?: number;
  /** Jobs that may wait for a worker; default 16 per worker. */
  maxQueue?: number;
}

interface Pending {
  job: BcryptJob;
  resolve: (v: string | boolean) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: Pending | null;
}

export function defaultPoolSize(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

export class BcryptPool {
  readonly size: number;
  readonly maxQueue: number;
  readonly #slots: Slot[] = [];
  readonly #queue: Pending[] = [];
  #nextId = 1;
  #closed = false;

  constructor(opts: PoolOptions = {}) {
    this.size = opts.size ?? defaultPoolSize();
    this.maxQueue = opts.maxQueue ?? 16 * Math.max(1, this.size);
  }

  /** Jobs running and waiting now. */
  get load(): { running: number; queued: number } {
    return { running: this.#slots.filter((s) => s.busy).length, queued: this.#queue.length };
  }

  hash(password: string, cost: number): Promise<string> {
    return this.#run({ op: 'hash', password, cost }) as Promise<string>;
  }

  compare(password: string, hash: string): Promise<boolean> {
    return this.#run({ op: 'compare', password, hash }) as Promise<boolean>;
  }

  #run(op: Op): Promise<string | boolean> {
    if (this.#closed) return Promise.reject(new Error('the bcrypt pool is closed'));
    if (this.size === 0) return op.op === 'hash' ? bcrypt.hash(op.password, op.cost) : bcrypt.compare(op.password, op.hash);
    const idle = this.#slots.find((s) => !s.busy) ?? (this.#slots.length < this.size ? this.#spawn() : undefined);
    if (!idle && this.#queue.length >= this.maxQueue) return Promise.reject(new PoolBusyError());
    return new Promise((resolve, reject) => {
      const p: Pending = { job: { ...op, id: this.#nextId++ }, resolve, reject };
      if (idle) this.#start(idle, p);
      else this.#queue.push(p);
    });
  }

  #spawn(): Slot {
    const worker = new Worker(join(__dirname, 'bcrypt-worker.js'));
    const slot: Slot = { worker, busy: null };
    worker.unref();
    worker.on('message', (r: BcryptResult) => {
      const p = slot.busy;
      if (!p || p.job.id !== r.id) return;
      slot.busy = null;
      if (r.error !== undefined) p.reject(new Error(r.error));
      else p.resolve(r.value);
      const next = this.#queue.shift();
      if (next) this.#start(slot, next);
      else worker.unref();
    });
    worker.on('error', (err) => this.#lose(slot, err));
    worker.on('exit', (code) => this.#lose(slot, new Error(`bcrypt worker exited (${code})`)));
    this.#slots.push(slot);
    return slot;
  }

  /** A worker died: its job fails, a fresh worker takes the queue. */
  #lose(slot: Slot, err: Error): void {
    const i = this.#slots.indexOf(slot);
    if (i < 0) return;
    this.#slots.splice(i, 1);
    slot.busy?.reject(err);
    slot.busy = null;
    if (this.#closed) return;
    const next = this.#queue.shift();
    if (next) this.#start(this.#spawn(), next);
  }

  #start(slot: Slot, p: Pending): void {
    slot.busy = p;
    // Busy workers keep the process alive until they answer.
    slot.worker.ref();
    slot.worker.postMessage(p.job);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const p of this.#queue.splice(0)) p.reject(new Error('the bcrypt pool is closed'));
    const slots = this.#slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
    for (const s of slots) s.busy?.reject(new Error('the bcrypt pool is closed'));
  }
}
