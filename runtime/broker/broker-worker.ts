// The broker thread (broker-thread.ts starts it): startBroker with the accounts read here, the
// counters in the memory the main thread reads, and the revocation check asked of the main thread.
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { type ConnectingClient, startBroker } from './broker';
import { CONNECTED_CELL, countsIn, type FromWorker, type ToWorker, type WorkerSetup } from './broker-thread';
import { brokerCredentials } from './site-accounts';

/** At most one line per this long about answers that came too late, whatever the number of sites. */
const LATE_LOG_MS = 10_000;

/** isRevoked over the port: true (refused) when no answer comes within `timeoutMs`. */
function askMainThread(port: MessagePort, timeoutMs: number): { ask(who: ConnectingClient): Promise<boolean>; answered(id: number, revoked: boolean): void; stop(): void } {
  const pending = new Map<number, { resolve: (revoked: boolean) => void; timer: NodeJS.Timeout }>();
  let nextId = 1;
  let late = 0;
  let lastLog = -Infinity;
  return {
    ask(who) {
      const id = nextId++;
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          late++;
          if (Date.now() - lastLog >= LATE_LOG_MS) {
            const line = `MQTT broker: no revocation answer within ${timeoutMs} ms: ${late} client(s) refused (${who.username} the latest)`;
            port.postMessage({ kind: 'log', line } satisfies FromWorker);
            lastLog = Date.now();
            late = 0;
          }
          resolve(true);
        }, timeoutMs);
        pending.set(id, { resolve, timer });
        port.postMessage({ kind: 'revoked?', id, who } satisfies FromWorker);
      });
    },
    answered(id, revoked) {
      const waiting = pending.get(id);
      if (!waiting) return;
      pending.delete(id);
      clearTimeout(waiting.timer);
      waiting.resolve(revoked);
    },
    stop() {
      for (const { resolve, timer } of pending.values()) {
        clearTimeout(timer);
        resolve(true);
      }
      pending.clear();
    },
  };
}

async function run(port: MessagePort, setup: WorkerSetup): Promise<void> {
  const cells = new BigInt64Array(setup.cells);
  const { credentials, ...options } = setup.broker;
  const revocation = setup.revocation ? askMainThread(port, setup.revocation.timeoutMs) : undefined;
  const broker = await startBroker({
    ...options,
    credentials: 'secretsOf' in credentials ? brokerCredentials(credentials.secretsOf) : credentials,
    stats: countsIn(cells),
    ...(revocation ? { isRevoked: (who: ConnectingClient) => revocation.ask(who) } : {}),
  });
  const connected = () => void Atomics.store(cells, CONNECTED_CELL, BigInt(broker.aedes.connectedClients));
  broker.aedes.on('client', connected);
  broker.aedes.on('clientDisconnect', connected);
  port.on('message', (m: ToWorker) => {
    if (m.kind === 'revoked') revocation?.answered(m.id, m.revoked);
    else {
      revocation?.stop();
      void broker.close().finally(() => process.exit(0));
    }
  });
  port.postMessage({ kind: 'listening', port: broker.port, ...(broker.mqttsPort !== undefined ? { mqttsPort: broker.mqttsPort } : {}) } satisfies FromWorker);
}

if (!parentPort) throw new Error('broker-worker.ts runs as a worker thread (broker-thread.ts)');
// A failed start (a port in use, a bad certificate) ends the thread with the error: the main thread rejects.
run(parentPort, workerData as WorkerSetup).catch((err: unknown) => {
  process.nextTick(() => {
    throw err;
  });
});
