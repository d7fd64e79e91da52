// What telemetry-in's parse pool saves the cloud's main thread, per record: N messages of the fleet
// bench's household site (one 1.4 kB record each) go through nodes/telemetry-in/parse-pool.ts in
// chunks of 500 per event-loop turn, as the broker delivers them, and the main thread's CPU time
// (/proc/self/task/<pid>/stat: this thread alone, not the workers) is divided by N:
//   in_thread_us   parseWorkers 0: size check, JSON.parse, zod, site check, all on the main thread
//   objects_us     1 worker, records returned by structured clone (the default)
//   json_us        1 worker, records returned as JSON text and JSON.parse'd on the main thread
//   clone_us / json_parse_us   the return alone, on this thread: v8.deserialize of the records,
//                  JSON.parse of their text (what the main thread pays for the two returns)
//   worker_us      the pool's task run time per record (objects)
//   other_threads_us  CPU of every other thread of the process per record (objects: the worker, and
//                  V8's and libuv's helper threads); json_/in_thread_other_threads_us the same for
//                  those runs (in the thread: V8's helpers alone)
// Run: npm run bench -- ingest-parse [--messages N]
import { readFileSync, readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { deserialize, serialize } from 'node:v8';
import { record, siteId } from './fleet-sites';
import { topics } from '../domain/topics';
import { ParsePool, type Verdict } from '../nodes/telemetry-in/parse-pool';
import type { ParseTask } from '../nodes/telemetry-in/parse-worker';

const i = process.argv.indexOf('--messages');
const N = i >= 0 ? Number(process.argv[i + 1]) : 20_000;
const CHUNK = 500;
const SITES = 1000;

const messages = Array.from({ length: N }, (_, k) => {
  const id = siteId(k % SITES);
  return { topic: topics.telemetry(id), payload: Buffer.from(JSON.stringify({ v: 1, siteId: id, records: [record(id, Math.floor(k / SITES) + 1, Date.now())] })) };
});

/** CPU time of one thread of this process (utime + stime), µs; `tid` the pid for the main thread. */
function threadCpuUs(tid: number | string): number {
  const f = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 10_000; // USER_HZ 100
}
const otherThreadsCpuUs = (): number => readdirSync('/proc/self/task').filter((t) => Number(t) !== process.pid).reduce((n, t) => {
  try { return n + threadCpuUs(t); } catch { return n; }
}, 0);

/** Main-thread CPU µs per message and wall ms, for N messages through a pool of `workers`. */
async function run(workers: number, reply: ParseTask['reply']): Promise<{ mainUs: number; wallMs: number; workerUs: number; otherUs: number }> {
  let answered = 0;
  let bad = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  // No bound on what waits: this measures the cost of every message, not the shedding of a burst.
  const pool = new ParsePool<undefined>({ workers, reply, maxWaitingBytes: Number.POSITIVE_INFINITY, onVerdict: (_t, v: Verdict) => {
    if ('kind' in v) bad++;
    if (++answered === N) done();
  } });
  // The workers load their modules and warm up on a first round before the clock starts.
  for (const m of messages.slice(0, 2000)) pool.offer(m.topic, m.payload, undefined);
  while (answered < 2000) await new Promise((r) => setTimeout(r, 10));
  answered = 0;
  const main0 = threadCpuUs(process.pid);
  const other0 = otherThreadsCpuUs();
  const t0 = performance.now();
  for (let k = 0; k < N; k += CHUNK) {
    for (const m of messages.slice(k, k + CHUNK)) pool.offer(m.topic, m.payload, undefined);
    await new Promise((r) => setImmediate(r));
  }
  await finished;
  const wallMs = performance.now() - t0;
  const mainUs = (threadCpuUs(process.pid) - main0) / N;
  const otherUs = (otherThreadsCpuUs() - other0) / N;
  const workerUs = pool.pool ? (pool.pool.histogram.runTime.mean * pool.pool.completed * 1000) / N : NaN;
  await pool.close();
  if (bad) throw new Error(`${bad} messages rejected`);
  return { mainUs, wallMs, workerUs, otherUs };
}

function perRecord(f: () => void, n: number): number {
  const t = performance.now();
  f();
  return ((performance.now() - t) * 1000) / n;
}

async function main(): Promise<void> {
  // The machine is shared: each variant runs three times, interleaved, and its least busy run counts.
  const best = (a: Awaited<ReturnType<typeof run>> | undefined, b: Awaited<ReturnType<typeof run>>): Awaited<ReturnType<typeof run>> => (a && a.mainUs <= b.mainUs ? a : b);
  let inThread;
  let objects;
  let json;
  for (let k = 0; k < 3; k++) {
    inThread = best(inThread, await run(0, 'objects'));
    objects = best(objects, await run(1, 'objects'));
    json = best(json, await run(1, 'json'));
  }
  const records = messages.slice(0, 5000).map((m) => (JSON.parse(m.payload.toString()) as { records: unknown[] }).records);
  const cloned = serialize(records);
  const text = records.map((r) => JSON.stringify(r));
  const repeat = (f: () => void): number => Math.min(...[0, 1, 2].map(() => perRecord(f, records.length)));
  const round = (x: number): number => Math.round(x * 10) / 10;
  console.log(JSON.stringify({
    bench: 'ingest-parse', messages: N, records_per_message: 1,
    in_thread_us: round(inThread!.mainUs), objects_us: round(objects!.mainUs), json_us: round(json!.mainUs),
    clone_us: round(repeat(() => deserialize(cloned))), json_parse_us: round(repeat(() => { for (const t of text) JSON.parse(t); })),
    worker_us: round(objects!.workerUs), other_threads_us: round(objects!.otherUs), json_other_threads_us: round(json!.otherUs), in_thread_other_threads_us: round(inThread!.otherUs),
    in_thread_wall_ms: Math.round(inThread!.wallMs), objects_wall_ms: Math.round(objects!.wallMs), json_wall_ms: Math.round(json!.wallMs),
  }));
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
