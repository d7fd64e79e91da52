// The embedded broker on its own thread (docs/ARCHITECTURE.md, "Where the broker runs"): the cloud's
// main event loop runs the flow, the API and the stores, and aedes' packet handling runs beside it
// on the second core. The thread runs startBroker (broker.ts) itself, so every rule of the broker
// holds unchanged; what crosses between the threads is small:
// - its counters and connected clients, in shared memory the thread writes and this side reads;
// - the revocation question on every CONNECT (the deny list is in cloud.db, on the main thread),
//   answered over the worker's port; no answer within revocationTimeoutMs refuses the client;
// - start (the ports it listens on), close, and a crash: a crashed thread is logged and started
//   again on the same ports. Edges reconnect and resend what was not acknowledged, and the new
//   thread holds their CONNACKs until the cloud's ingest has subscribed again, so nothing
//   acknowledged is lost; until it listens, `state` says 'restarting' (the cloud's health fails).
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { BrokerOptions, BrokerStats, ConnectingClient, RevocationCheck, RunningBroker } from './broker';

export interface BrokerThreadOptions extends Omit<BrokerOptions, 'credentials' | 'isRevoked' | 'aedes' | 'stats'> {
  /**
   * The accounts: `{ secretsOf: dataDir }` reads 'cloud' and the sites from that data dir's
   * secrets.json in the thread, on every connect (site-accounts.ts); or username -> password hash.
   */
  credentials: { secretsOf: string } | ReadonlyMap<string, string>;
  /** Answered on this thread, asked by the broker's on every CONNECT. */
  isRevoked?: RevocationCheck;
  /** How long a CONNECT waits for isRevoked before it is refused. Default 5000 ms. */
  revocationTimeoutMs?: number;
  /** Crashes and restarts of the thread, and clients refused for want of a revocation answer; default console.error. */
  log?: (line: string) => void;
  /** Delay before starting a crashed thread again, doubling up to the maximum while it keeps crashing. */
  restartDelayMs?: { first: number; max: number };
}

export type BrokerThreadState = 'running' | 'restarting' | 'closed';

/** A RunningBroker without the aedes instance, which lives on the other thread. */
export interface RunningBrokerThread extends Omit<RunningBroker, 'aedes'> {
  readonly state: BrokerThreadState;
  /** How many times a crashed thread was started again. */
  readonly restarts: number;
  /** The thread running the broker now (none while restarting): its threadId, resourceLimits, ... */
  readonly thread: Worker | undefined;
}

/** For the runtime's health: why the broker cannot serve now, if it cannot. */
export function brokerFailing(broker: Pick<RunningBrokerThread, 'state'>): () => string | undefined {
  // Sites cannot reach the cloud until a crashed thread listens again.
  return () => (broker.state === 'restarting' ? 'the MQTT broker thread crashed and is starting again' : undefined);
}

// ---- what the two sides share (the thread imports these; this module never loads the thread's)

const STAT_KEYS = ['refusedConnections', 'rejectedPublishes', 'rejectedSubscriptions', 'oversizedPackets'] as const satisfies readonly (keyof BrokerStats)[];
export const CONNECTED_CELL = STAT_KEYS.length;

/** The counters over shared cells: the thread counts (one writer), the main thread reads. */
export function countsIn(cells: BigInt64Array): BrokerStats {
  const stats = {} as BrokerStats;
  STAT_KEYS.forEach((key, i) => {
    Object.defineProperty(stats, key, {
      enumerable: true,
      get: () => Number(Atomics.load(cells, i)),
      set: (n: number) => void Atomics.store(cells, i, BigInt(n)),
    });
  });
  return stats;
}

export interface WorkerSetup {
  broker: Omit<BrokerThreadOptions, 'isRevoked' | 'revocationTimeoutMs' | 'log' | 'restartDelayMs'>;
  cells: SharedArrayBuffer;
  /** Whether to ask the main thread on CONNECT, and how long to wait for it. */
  revocation: { timeoutMs: number } | null;
}

export type FromWorker =
  | { kind: 'listening'; port: number; mqttsPort?: number }
  | { kind: 'revoked?'; id: number; who: ConnectingClient }
  | { kind: 'log'; line: string };

export type ToWorker = { kind: 'revoked'; id: number; revoked: boolean } | { kind: 'close' };

// ---- the main thread's side

const WORKER_FILE = join(__dirname, 'broker-worker.js');
const DEFAULT_REVOCATION_TIMEOUT_MS = 5000;
const DEFAULT_RESTART_DELAY_MS = { first: 200, max: 30_000 };
/** A thread that ran this long before crashing starts again after the first delay, not a doubled one. */
const STABLE_MS = 60_000;
/** How long close() waits for the thread to close its listeners and clients before ending it (within the runtime's 1 s for the broker). */
const CLOSE_WAIT_MS = 800;

export async function startBrokerThread(opts: BrokerThreadOptions): Promise<RunningBrokerThread> {
  const { isRevoked, revocationTimeoutMs, log = (line: string) => console.error(line), restartDelayMs = DEFAULT_RESTART_DELAY_MS, ...broker } = opts;
  const cells = new SharedArrayBuffer((STAT_KEYS.length + 1) * BigInt64Array.BYTES_PER_ELEMENT);
  const view = new BigInt64Array(cells);
  const stats = countsIn(view);
  const host = broker.host ?? '127.0.0.1';
  const revocation = isRevoked ? { timeoutMs: revocationTimeoutMs ?? DEFAULT_REVOCATION_TIMEOUT_MS } : null;

  const answer = (worker: Worker, id: number, who: ConnectingClient): void => {
    const reply = (revoked: boolean) => worker.postMessage({ kind: 'revoked', id, revoked } satisfies ToWorker);
    // Fail closed: a check that throws or rejects refuses the client, as the thread's timeout does.
    new Promise<boolean>((resolve) => resolve(isRevoked!(who))).then(
      (revoked) => reply(revoked !== false),
      (err: unknown) => {
        log(`MQTT broker: revocation check for ${who.username} failed, refused: ${err instanceof Error ? err.message : String(err)}`);
        reply(true);
      },
    );
  };

  let closing = false;
  /** Starts a thread; resolves once it listens, rejects if it ends first. */
  const spawn = (setup: WorkerSetup, onCrash: (why: Error) => void): Promise<{ worker: Worker; port: number; mqttsPort?: number }> =>
    new Promise((resolve, reject) => {
      const worker = new Worker(WORKER_FILE, { workerData: setup });
      let listening = false;
      let failure: Error | undefined;
      worker.on('message', (m: FromWorker) => {
        if (m.kind === 'listening') {
          listening = true;
          resolve({ worker, port: m.port, ...(m.mqttsPort !== undefined ? { mqttsPort: m.mqttsPort } : {}) });
        } else if (m.kind === 'log') log(m.line);
        else answer(worker, m.id, m.who);
      });
      worker.on('error', (err) => (failure = err));
      worker.once('exit', (code) => {
        Atomics.store(view, CONNECTED_CELL, 0n);
        if (!listening) reject(failure ?? new Error(`the MQTT broker thread ended (exit code ${code}) before it listened`));
        else if (!closing) onCrash(failure ?? new Error(`exit code ${code}`));
      });
    });

  let state: BrokerThreadState = 'running';
  let restarts = 0;
  let delay = restartDelayMs.first;
  let startedAt = Date.now();
  let restartTimer: NodeJS.Timeout | undefined;
  const first = await spawn({ broker, cells, revocation }, (why) => crashed(why));
  let worker: Worker | undefined = first.worker;
  const { port, mqttsPort } = first;
  // A new thread listens where the old one did: the sites' and the cloud's clients reconnect there.
  const again: WorkerSetup = { broker: { ...broker, port, ...(broker.mqtts && mqttsPort !== undefined ? { mqtts: { ...broker.mqtts, port: mqttsPort } } : {}) }, cells, revocation };

  function crashed(why: Error): void {
    worker = undefined;
    state = 'restarting';
    if (Date.now() - startedAt >= STABLE_MS) delay = restartDelayMs.first;
    log(`MQTT broker thread crashed (${why.message}); starting it again on port ${port} in ${delay} ms`);
    restartLater();
  }
  function restartLater(): void {
    restartTimer = setTimeout(() => {
      spawn(again, crashed).then(
        (next) => {
          if (closing) {
            void next.worker.terminate();
            return;
          }
          worker = next.worker;
          state = 'running';
          restarts++;
          startedAt = Date.now();
          log(`MQTT broker thread running again on port ${port} (restart ${restarts})`);
        },
        (err: unknown) => {
          if (closing) return;
          delay = Math.min(delay * 2, restartDelayMs.max);
          log(`MQTT broker thread did not start (${err instanceof Error ? err.message : String(err)}); trying again in ${delay} ms`);
          restartLater();
        },
      );
    }, delay);
    delay = Math.min(delay * 2, restartDelayMs.max);
  }

  return {
    host,
    port,
    url: `${broker.tls ? 'mqtts' : 'mqtt'}://${host}:${port}`,
    ...(mqttsPort !== undefined ? { mqttsPort } : {}),
    stats,
    get connectedClients() {
      return Number(Atomics.load(view, CONNECTED_CELL));
    },
    get state() {
      return state;
    },
    get restarts() {
      return restarts;
    },
    get thread() {
      return worker;
    },
    close: async () => {
      if (closing) return;
      closing = true;
      state = 'closed';
      clearTimeout(restartTimer);
      const running = worker;
      worker = undefined;
      if (!running) return;
      const ended = new Promise((resolve) => running.once('exit', resolve));
      running.postMessage({ kind: 'close' } satisfies ToWorker);
      const timer = setTimeout(() => void running.terminate(), CLOSE_WAIT_MS);
      await ended;
      clearTimeout(timer);
    },
  };
}
