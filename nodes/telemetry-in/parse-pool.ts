// Where telemetry-in runs parseBatch (ingest.ts): in its own thread (workers 0) or in a pool of
// worker threads (piscina), so that JSON.parse and the zod parse of every record leave the cloud's
// main event loop. Messages that arrive in one turn of the event loop go to the pool as one task,
// their payloads copied into one buffer that is transferred, not cloned. Verdicts come back to the
// caller strictly in arrival order, whatever order the pool's tasks finish in: the SeqWindow, the
// order gate and the acks downstream see each site's messages as they came. A task lost with its
// worker (a crash) answers 'unparsed' for its messages: nothing of them was admitted, so nothing
// was acknowledged, and the edge sends them again after its ack timeout.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import { parseBatch, type ParsedBatch, type Rejection } from './ingest';
import type { ParseTask, ParseVerdict } from './parse-worker';
import type { TelemetryRecord } from '../../domain/contracts';

/** A message the pool could not answer for (its worker died): dropped unacknowledged. */
export type Unparsed = { kind: 'unparsed'; detail: string };
export type Verdict = ParsedBatch | Rejection | Unparsed;

/** Most messages in one task; more in one turn start another task. */
const MAX_TASK_MESSAGES = 512;
/** Messages waiting for the pool beyond this are dropped unacknowledged (the edge resends them). */
const MAX_WAITING = 50_000;
/**
 * Payload bytes waiting for the pool beyond which new messages are dropped unacknowledged: about a
 * second of 10,000 sites' traffic. Handing a message to the pool costs the main thread little, so
 * without a bound an overloaded pool would queue (and hold in memory) ever more, each record
 * waiting longer; beyond it the cloud sheds load the way it may, by not acknowledging.
 */
export const MAX_WAITING_BYTES = 16 * 1024 * 1024;

/** 'auto' = one worker per core but one (the main thread keeps one), at least one. */
export function parseWorkerCount(setting: 'auto' | number): number {
  return setting === 'auto' ? Math.max(1, availableParallelism() - 1) : setting;
}

interface Waiting<C> {
  topic: string;
  context: C;
  verdict?: Verdict;
}

export interface ParsePoolOptions<C> {
  /** Worker threads; 0 = parse in the caller's thread. */
  workers: number;
  /** Called once per offered message, in the order offered. */
  onVerdict: (topic: string, verdict: Verdict, context: C) => void;
  /**
   * How the workers answer (see ParseTask.reply); 'json' by default: JSON.parse of the records'
   * text costs the main thread less than the structured clone's deserialisation of the same
   * objects (bench/ingest-parse.ts).
   */
  reply?: ParseTask['reply'];
  /** An error thrown by onVerdict (the next message is handed on all the same). */
  onError?: (err: unknown) => void;
  /** Default MAX_WAITING_BYTES. */
  maxWaitingBytes?: number;
}

export class ParsePool<C> {
  /** The piscina pool; null when parsing in this thread. */
  readonly pool: Piscina<ParseTask, ParseVerdict[]> | null;
  /** Offered and not yet answered, oldest first, from `head`. */
  private waiting: Waiting<C>[] = [];
  private head = 0;
  /** Offered in this turn, not yet sent to the pool. */
  private gathering: { entry: Waiting<C>; payload: Uint8Array }[] = [];
  private flushScheduled = false;
  private closed = false;
  /** Payload bytes offered to the pool and not yet answered. */
  private waitingBytes = 0;

  constructor(private readonly opts: ParsePoolOptions<C>) {
    this.pool = opts.workers > 0
      ? new Piscina<ParseTask, ParseVerdict[]>({ filename: join(__dirname, 'parse-worker.js'), minThreads: opts.workers, maxThreads: opts.workers, idleTimeout: Infinity, name: 'default' })
      : null;
  }

  /** Messages offered and not yet answered. */
  get pending(): number {
    return this.waiting.length - this.head;
  }

  offer(topic: string, payload: Uint8Array, context: C): void {
    if (!this.pool) {
      this.opts.onVerdict(topic, parseBatch(topic, payload), context);
      return;
    }
    const full = this.pending >= MAX_WAITING || this.waitingBytes + payload.length > (this.opts.maxWaitingBytes ?? MAX_WAITING_BYTES);
    if (this.closed || full) {
      const detail = this.closed ? 'the node is closing' : `the parse workers are behind (${this.pending} messages, ${this.waitingBytes} bytes wait)`;
      const entry: Waiting<C> = { topic, context, verdict: { kind: 'unparsed', detail } };
      this.waiting.push(entry);
      this.drain();
      return;
    }
    const entry: Waiting<C> = { topic, context };
    this.waiting.push(entry);
    this.waitingBytes += payload.length;
    this.gathering.push({ entry, payload });
    if (this.gathering.length >= MAX_TASK_MESSAGES) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Stops the workers; what is still waiting is answered 'unparsed'. */
  async close(): Promise<void> {
    this.closed = true;
    this.flush();
    await this.pool?.destroy();
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.gathering;
    if (!batch.length || !this.pool) return;
    this.gathering = [];
    let total = 0;
    for (const g of batch) total += g.payload.length;
    const release = (): void => void (this.waitingBytes -= total);
    const bytes = new Uint8Array(total);
    const ends: number[] = [];
    let at = 0;
    for (const g of batch) {
      bytes.set(g.payload, at);
      at += g.payload.length;
      ends.push(at);
    }
    const task: ParseTask = { topics: batch.map((g) => g.entry.topic), ends, bytes, reply: this.opts.reply ?? 'json' };
    const failed = (err: unknown): Unparsed => ({ kind: 'unparsed', detail: `parse worker failed: ${err instanceof Error ? err.message : String(err)}` });
    // Every message of the task gets a verdict whatever happens, or the queue behind it would stall.
    this.pool.run(task, { transferList: [bytes.buffer] }).then(
      (verdicts) => batch.forEach((g, i) => {
        try {
          g.entry.verdict = arrived(verdicts[i]!);
        } catch (err) {
          g.entry.verdict = failed(err);
        }
      }),
      (err: unknown) => batch.forEach((g) => (g.entry.verdict = failed(err))),
    ).then(() => {
      release();
      this.drain();
    }, (err: unknown) => this.opts.onError?.(err));
  }

  /** Hands on the answered messages at the head of the queue, in arrival order. */
  private drain(): void {
    while (this.head < this.waiting.length) {
      const entry = this.waiting[this.head]!;
      if (!entry.verdict) break;
      this.head += 1;
      try {
        this.opts.onVerdict(entry.topic, entry.verdict, entry.context);
      } catch (err) {
        this.opts.onError?.(err);
      }
    }
    if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
  }
}

/** A worker's verdict as the node takes it: records rebuilt from JSON text where sent so. */
function arrived(v: ParseVerdict): ParsedBatch | Rejection {
  if ('recordsJson' in v) return { siteId: v.siteId, records: JSON.parse(v.recordsJson) as TelemetryRecord[] };
  return v;
}
