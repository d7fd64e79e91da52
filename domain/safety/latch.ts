// The e-stop latch and its durable record. A latch only protects if it outlives the process, so
// the keeper writes every change to its store BEFORE the change reaches the envelope, releases the
// battery only for a reset whose record was written, and holds 0 W (a critical alarm in the
// envelope) whenever the record on the store may be behind what it knows. The store is injected:
// the safety-limits node gives it a file under the Node-RED user directory (io/safety), the
// property tests a fake that fails on demand.
import { z } from 'zod';
import type { SafetyState } from './envelope';

export type EstopLatch = SafetyState['estop'];

export const EstopLatchSchema = z.object({ latched: z.boolean(), by: z.string().nullable(), since: z.number().nullable() });

export const RELEASED: EstopLatch = { latched: false, by: null, since: null };

/** What a store found at start. */
export type LatchRecord =
  | { kind: 'absent' }
  | { kind: 'found'; estop: EstopLatch }
  /** Present but not readable or not a latch record: counts as latched (fail safe). */
  | { kind: 'unreadable'; reason: string };

export interface LatchStore {
  read(): LatchRecord;
  /** Writes durably or throws; a throw means the record may still hold the previous latch. */
  write(estop: EstopLatch): void;
}

/** The author a latch gets when the record could not be read, or not written at start. */
export const UNREADABLE_BY = 'unreadable latch record';
export const UNWRITABLE_BY = 'latch record not writable at start';

/** The latch a keeper starts with: the record's, else the one carried over from an older store, else released. */
export function latchAtStart(record: LatchRecord, carried: EstopLatch | undefined, now: number): EstopLatch {
  if (record.kind === 'found') return record.estop;
  if (record.kind === 'unreadable') return { latched: true, by: UNREADABLE_BY, since: now };
  return carried?.latched ? carried : RELEASED;
}

export type LatchCommand = { type: 'estop'; by: string } | { type: 'reset'; by: string };

/** The outcome of the last write, for the node's status line. */
export type LatchEvent =
  | { kind: 'ok' }
  | { kind: 'unreadable'; reason: string }
  | { kind: 'carried' }
  | { kind: 'write-failed'; reason: string; during: 'start' | 'estop' | 'reset' | 'retry' | 'close' };

/**
 * Keeps one site's latch in step with its store. `unpersisted` is set while the store may hold
 * less than the keeper knows (a failed write): the envelope then allows nothing, and `retry()`
 * (once per control cycle) writes the latch again until a write succeeds. A keeper that cannot
 * write at start latches, as the record it read may miss an e-stop the previous run failed to save.
 * The one case no store can cover: a run that could not save an e-stop ends abruptly (no close)
 * and the store works again at the next start before any retry succeeded: that start reads the
 * older record.
 */
export class LatchKeeper {
  private current: EstopLatch;
  private failure: string | null = null;
  private last: LatchEvent = { kind: 'ok' };

  constructor(private readonly store: LatchStore, now: number, carried?: EstopLatch) {
    const record = store.read();
    this.current = latchAtStart(record, carried, now);
    // Written at once even when nothing changed: proves the store takes writes before the battery
    // is released, carries an older store's latch over, and replaces an unreadable record.
    if (this.persist(this.current, 'start')) {
      if (record.kind === 'unreadable') this.last = { kind: 'unreadable', reason: record.reason };
      else if (record.kind === 'absent' && this.current.latched) this.last = { kind: 'carried' };
    } else if (!this.current.latched) {
      // The record may be behind: an e-stop the last run could not save would be lost here. Latched
      // until a reset, which is written like any other before it releases.
      this.current = { latched: true, by: UNWRITABLE_BY, since: now };
    }
  }

  /** The latch and the write failure for the envelope (SafetyState's estop and unpersisted). */
  get estop(): EstopLatch {
    return this.current;
  }

  get unpersisted(): string | null {
    return this.failure;
  }

  get event(): LatchEvent {
    return this.last;
  }

  /** Applies a command: an e-stop stops at once (saved or not), a reset releases only once saved. */
  command(cmd: LatchCommand, now: number): void {
    if (cmd.type === 'estop') {
      const next: EstopLatch = this.current.latched ? this.current : { latched: true, by: cmd.by, since: now };
      this.persist(next, 'estop');
      this.current = next;
      return;
    }
    if (this.persist(RELEASED, 'reset')) this.current = RELEASED;
  }

  /** Once per control cycle: writes the latch again while the last write failed. */
  retry(): void {
    if (this.failure !== null) this.persist(this.current, 'retry');
  }

  /** On close (redeploy, stop): a last try to save a latch whose write had failed. */
  close(): void {
    this.retry();
  }

  private persist(estop: EstopLatch, during: Extract<LatchEvent, { kind: 'write-failed' }>['during']): boolean {
    try {
      this.store.write(estop);
    } catch (err) {
      this.failure = err instanceof Error ? err.message : String(err);
      this.last = { kind: 'write-failed', reason: this.failure, during };
      return false;
    }
    this.failure = null;
    this.last = { kind: 'ok' };
    return true;
  }
}
