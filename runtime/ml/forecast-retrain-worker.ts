// Retraining off the main thread: training the GBDT takes seconds of CPU, which on the cloud's
// main thread would stall the API and the MQTT ingest for as long. The cloud ML service
// (cloud-ml.ts) starts this file in a worker thread with the series and the model file, and gets
// back the retraining record of forecast-retrain.ts (rollback on regression) or an error.
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { join } from 'node:path';
import { retrainForecast, type RetrainRecord } from './forecast-retrain';
import type { LoadedSeries } from './load-series';

export interface RetrainJob {
  series: LoadedSeries;
  modelFile: string;
  evalDays: number;
  nowMs: number;
}

type Reply = { ok: true; record: RetrainRecord } | { ok: false; error: string };

if (parentPort && (workerData as { lifo4RetrainJob?: RetrainJob } | null)?.lifo4RetrainJob) {
  const job = (workerData as { lifo4RetrainJob: RetrainJob }).lifo4RetrainJob;
  const port = parentPort;
  retrainForecast(job.series, job.modelFile, job.evalDays, new Date(job.nowMs)).then(
    (record) => port.postMessage({ ok: true, record } satisfies Reply),
    (err: unknown) => port.postMessage({ ok: false, error: err instanceof Error ? err.message : String(err) } satisfies Reply),
  );
}

/** A running retraining; `terminate()` stops it (the model file is only ever replaced atomically). */
export interface RetrainRun {
  result: Promise<RetrainRecord>;
  terminate(): Promise<void>;
}

export function retrainInWorker(job: RetrainJob): RetrainRun {
  const worker = new Worker(join(__dirname, 'forecast-retrain-worker.js'), { workerData: { lifo4RetrainJob: job } });
  const result = new Promise<RetrainRecord>((resolve, reject) => {
    worker.once('message', (m: Reply) => (m.ok ? resolve(m.record) : reject(new Error(m.error))));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`retraining worker exited (${code}) without an answer`)));
  });
  // The answer is the last thing the worker does: let it end by itself.
  void result.then(() => worker.terminate(), () => worker.terminate());
  return { result, terminate: async () => void (await worker.terminate()) };
}
