// The bounded queue between the store's callers and a back end that may be down. Writes commit one
// after another in arrival order; a transient failure (InfluxDB restarting, a network error) keeps
// the write at the head and retries it with exponential backoff, so nothing vanishes; a full queue
// refuses new writes at once, so the caller never acknowledges what is not stored and the edge keeps
// its copy (a back end that is down makes records wait, bounded, never vanish).

export interface QueueOptions {
  /** Size units (records) that may wait, the one in progress included. */
  maxQueued: number;
  retryMinMs: number;
  retryMaxMs: number;
}

export const DEFAULT_QUEUE_OPTIONS: QueueOptions = { maxQueued: 100_000, retryMinMs: 250, retryMaxMs: 10_000 };

export class StoreQueueFullError extends Error {
  override name = 'StoreQueueFullError';
}

export class StoreClosedError extends Error {
  override name = 'StoreClosedError';
}

interface Entry<T, R> {
  item: T;
  size: number;
  resolve: (r: R) => void;
  reject: (err: Error) => void;
}

export class WriteQueue<T, R> {
  private readonly opts: QueueOptions;
  private readonly entries: Entry<T, R>[] = [];
  private queued = 0;
  private pumping: Promise<void> | null = null;
  private closed = false;
  private retrying = false;
  private lastError: string | null = null;
  private backoff: { timer: NodeJS.Timeout; wake: () => void } | null = null;

  constructor(
    private readonly commit: (item: T) => Promise<R>,
    private readonly isTransient: (err: unknown) => boolean,
    private readonly sizeOf: (item: T) => number,
    opts: Partial<QueueOptions> = {},
  ) {
    this.opts = { ...DEFAULT_QUEUE_OPTIONS, ...opts };
  }

  health(): { queued: number; retrying: boolean; lastError: string | null } {
    return { queued: this.queued, retrying: this.retrying, lastError: this.lastError };
  }

  enqueue(item: T): Promise<R> {
    if (this.closed) return Promise.reject(new StoreClosedError('time-series store is closed'));
    const size = this.sizeOf(item);
    // An empty queue takes any write, or one larger than the bound could never be stored.
    if (this.queued > 0 && this.queued + size > this.opts.maxQueued) {
      return Promise.reject(new StoreQueueFullError(
        `time-series queue full (${this.queued} records waiting, limit ${this.opts.maxQueued})${this.lastError ? `: ${this.lastError}` : ''}`,
      ));
    }
    return new Promise<R>((resolve, reject) => {
      this.entries.push({ item, size, resolve, reject });
      this.queued += size;
      this.pumping ??= this.pump().finally(() => {
        this.pumping = null;
      });
    });
  }

  private async pump(): Promise<void> {
    let delay = this.opts.retryMinMs;
    while (!this.closed) {
      const head = this.entries[0];
      if (!head) return;
      try {
        const result = await this.commit(head.item);
        this.settle(head);
        head.resolve(result);
        this.retrying = false;
        this.lastError = null;
        delay = this.opts.retryMinMs;
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        this.lastError = error.message;
        if (!this.isTransient(err)) {
          this.settle(head);
          head.reject(error);
          continue;
        }
        this.retrying = true;
        await this.sleep(delay);
        delay = Math.min(delay * 2, this.opts.retryMaxMs);
      }
    }
  }

  private settle(entry: Entry<T, R>): void {
    const i = this.entries.indexOf(entry);
    if (i >= 0) this.entries.splice(i, 1);
    this.queued -= entry.size;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.backoff = null;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.backoff = { timer, wake };
    });
  }

  /** Lets a commit in progress finish, then refuses every write still waiting. */
  async close(): Promise<void> {
    this.closed = true;
    this.backoff?.wake();
    await this.pumping;
    for (const e of this.entries.splice(0)) {
      this.queued -= e.size;
      e.reject(new StoreClosedError('time-series store closed before the write was committed'));
    }
  }
}
