// telemetry-in's parse pool: the worker threads give the same verdict as the node's own thread for
// every kind of input, hand verdicts back in arrival order, and a worker that dies takes its
// messages with it as 'unparsed' (never admitted, so never acknowledged) while the pool goes on.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_MQTT_PAYLOAD_BYTES, type TelemetryRecord } from '../../../domain/contracts';
import { topics } from '../../../domain/topics';
import { TelemetryInConfigSchema } from '../../../nodes/telemetry-in/config';
import { parseBatch } from '../../../nodes/telemetry-in/ingest';
import { ParsePool, parseWorkerCount, type Verdict } from '../../../nodes/telemetry-in/parse-pool';
import type { ParseTask } from '../../../nodes/telemetry-in/parse-worker';
import { householdRecords } from '../../io/timeseries/records';

interface Message { topic: string; payload: Buffer }

/** Offers `messages` (one event-loop turn per `perTurn`) and resolves with every verdict, in the order they were handed back. */
async function verdictsOf(pool: ParsePool<number>, got: { i: number; verdict: Verdict }[], messages: Message[], perTurn = messages.length): Promise<{ i: number; verdict: Verdict }[]> {
  const from = got.length;
  for (let k = 0; k < messages.length; k += perTurn) {
    messages.slice(k, k + perTurn).forEach((m, j) => pool.offer(m.topic, m.payload, k + j));
    await new Promise((r) => setImmediate(r));
  }
  while (got.length - from < messages.length) await new Promise((r) => setTimeout(r, 5));
  return got.slice(from);
}

function poolOf(workers: number, reply: ParseTask['reply']): { pool: ParsePool<number>; got: { i: number; verdict: Verdict }[] } {
  const got: { i: number; verdict: Verdict }[] = [];
  return { pool: new ParsePool<number>({ workers, reply, onVerdict: (_t, verdict, i) => got.push({ i, verdict }) }), got };
}

const SITES = ['site-a', 'site-b', 'lifo4-x', 'cloud'];
const base = householdRecords({ siteId: 'site-a', count: 8 });
const recordsOf = (siteId: string, n: number, firstSeq = 1): TelemetryRecord[] => base.slice(0, n).map((r, k) => ({ ...r, siteId, seq: firstSeq + k, ...(r.telemetry ? { telemetry: { ...r.telemetry, siteId } } : {}) }));

/** Any kind of input telemetry-in meets: valid batches, and each way a message can be wrong. */
const messageArb: fc.Arbitrary<Message> = fc.record({
  site: fc.constantFrom(...SITES),
  topicSite: fc.constantFrom(...SITES),
  n: fc.integer({ min: 0, max: 4 }),
  kind: fc.constantFrom('valid', 'valid', 'valid', 'mixed-sites', 'truncated', 'bad-field', 'extra-field', 'oversized', 'bad-topic', 'bom', 'garbage'),
  cut: fc.nat(),
  garbage: fc.uint8Array({ maxLength: 64 }),
}).map(({ site, topicSite, n, kind, cut, garbage }) => {
  const records = recordsOf(site, n);
  if (kind === 'mixed-sites' && records.length) records[records.length - 1] = recordsOf('site-b', 1)[0]!;
  const batch: Record<string, unknown> = { v: 1, siteId: site, records };
  if (kind === 'bad-field' && records.length) batch.records = records.map((r, k) => (k === 0 ? { ...r, seq: -1 } : r));
  if (kind === 'extra-field') batch.extra = true;
  let text = JSON.stringify(batch);
  if (kind === 'truncated') text = text.slice(0, cut % text.length);
  if (kind === 'oversized') text = text.padEnd(MAX_MQTT_PAYLOAD_BYTES + 1, ' ');
  if (kind === 'bom') text = `\uFEFF${text}`;
  const payload = kind === 'garbage' ? Buffer.from(garbage) : Buffer.from(text);
  return { topic: kind === 'bad-topic' ? `lifo4/${topicSite}/telemetry/extra` : topics.telemetry(topicSite), payload };
});

describe('telemetry-in parse pool', function () {
  this.timeout(60_000);

  it("takes parseWorkers as 'auto' or a thread count 0-32 (as the editor's text too), 'auto' when not set, and refuses anything else", () => {
    const parse = (v: unknown) => TelemetryInConfigSchema.safeParse(v === undefined ? {} : { parseWorkers: v });
    assert.equal(parse(undefined).data?.parseWorkers, 'auto');
    for (const [given, taken] of [['auto', 'auto'], [0, 0], ['0', 0], ['2', 2], [32, 32]] as const) assert.equal(parse(given).data?.parseWorkers, taken);
    for (const bad of ['', ' ', '-1', '33', 'many', -1, 1.5, null]) assert.equal(parse(bad).success, false, `${JSON.stringify(bad)} refused`);
  });

  it("'auto' keeps one core for the main thread, with at least one worker; a number is taken as it is", () => {
    assert.ok(parseWorkerCount('auto') >= 1);
    assert.equal(parseWorkerCount(0), 0);
    assert.equal(parseWorkerCount(3), 3);
  });

  for (const reply of ['objects', 'json'] as const) {
    it(`gives the same verdict as the node's own thread for any input, records and errors alike (${reply} reply, property)`, async () => {
      const { pool, got } = poolOf(1, reply);
      try {
        await fc.assert(fc.asyncProperty(fc.array(messageArb, { minLength: 1, maxLength: 12 }), async (messages) => {
          const inThread = messages.map((m) => parseBatch(m.topic, m.payload));
          const fromPool = await verdictsOf(pool, got, messages);
          assert.deepEqual(fromPool.map((v) => v.i), messages.map((_, i) => i));
          assert.deepStrictEqual(fromPool.map((v) => v.verdict), inThread);
        }), { numRuns: 60 });
      } finally {
        await pool.close();
      }
      // The generator reaches every verdict kind (a property that saw only valid input would prove little).
      const kinds = new Set<string>(got.map((g) => ('kind' in g.verdict ? g.verdict.kind : 'valid')));
      for (const k of ['valid', 'malformed', 'oversized', 'wrong-site']) assert.ok(kinds.has(k), `no ${k} input generated`);
    });
  }

  it("hands verdicts back in arrival order, also when a later task finishes first", async () => {
    const { pool, got } = poolOf(2, 'json');
    try {
      // A large task of 512 messages, then single messages each in its own turn (and task), for two sites.
      const messages: Message[] = [];
      for (let k = 0; k < 600; k++) {
        const site = k % 2 ? 'site-a' : 'site-b';
        messages.push({ topic: topics.telemetry(site), payload: Buffer.from(JSON.stringify({ v: 1, siteId: site, records: recordsOf(site, k < 512 ? 4 : 1, k * 4 + 1) })) });
      }
      const first = verdictsOf(pool, got, messages.slice(0, 512));
      const rest = verdictsOf(pool, got, messages.slice(512), 1);
      await Promise.all([first, rest]);
      assert.deepEqual(got.map((g) => g.i), [...messages.slice(0, 512).map((_, i) => i), ...messages.slice(512).map((_, i) => i)]);
      for (const site of ['site-a', 'site-b']) {
        const seqs = got.flatMap((g) => ('kind' in g.verdict || g.verdict.siteId !== site ? [] : g.verdict.records.map((r) => r.seq)));
        assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `${site} in arrival order`);
        assert.equal(seqs.length, 256 * 4 + 44);
      }
    } finally {
      await pool.close();
    }
  });

  it("answers 'unparsed' for the messages of a worker that died, and parses what comes next with a new one", async () => {
    const { pool, got } = poolOf(1, 'json');
    try {
      const heavy = Array.from({ length: 200 }, (_, k): Message => ({ topic: topics.telemetry('site-a'), payload: Buffer.from(JSON.stringify({ v: 1, siteId: 'site-a', records: recordsOf('site-a', 8, k * 8 + 1) })) }));
      const answered = verdictsOf(pool, got, heavy);
      // The task is with the worker now; the worker dies under it.
      await new Promise((r) => setImmediate(r));
      assert.equal(pool.pending, 200);
      await pool.pool!.threads[0]!.terminate();
      const lost = await answered;
      assert.ok(lost.every((v) => 'kind' in v.verdict && v.verdict.kind === 'unparsed'), 'no verdict from a dead worker');
      assert.match((lost[0]!.verdict as { detail: string }).detail, /parse worker failed/);
      const after = await verdictsOf(pool, got, heavy.slice(0, 3));
      assert.deepStrictEqual(after.map((v) => v.verdict), heavy.slice(0, 3).map((m) => parseBatch(m.topic, m.payload)));
    } finally {
      await pool.close();
    }
  });

  it("drops what comes while the workers are behind by more than maxWaitingBytes as 'unparsed', in its place in the order", async () => {
    const got: { i: number; verdict: Verdict }[] = [];
    const pool = new ParsePool<number>({ workers: 1, maxWaitingBytes: 3 * 1024, onVerdict: (_t, verdict, i) => got.push({ i, verdict }) });
    try {
      const messages = Array.from({ length: 8 }, (_, k): Message => ({ topic: topics.telemetry('site-a'), payload: Buffer.from(JSON.stringify({ v: 1, siteId: 'site-a', records: recordsOf('site-a', 1, k + 1) })) }));
      assert.ok(messages.every((m) => m.payload.length > 1024 && m.payload.length < 1536), 'about 1.4 kB each');
      const verdicts = await verdictsOf(pool, got, messages);
      assert.deepEqual(verdicts.map((v) => v.i), [0, 1, 2, 3, 4, 5, 6, 7]);
      assert.deepEqual(verdicts.map((v) => ('kind' in v.verdict ? v.verdict.kind : 'valid')), ['valid', 'valid', 'unparsed', 'unparsed', 'unparsed', 'unparsed', 'unparsed', 'unparsed']);
      // Once the workers have caught up, messages are taken again.
      const later = await verdictsOf(pool, got, messages.slice(2, 4));
      assert.deepEqual(later.map((v) => ('kind' in v.verdict ? v.verdict.kind : 'valid')), ['valid', 'valid']);
    } finally {
      await pool.close();
    }
  });

  it('parses in the caller\'s thread with 0 workers, at once', () => {
    const got: Verdict[] = [];
    const pool = new ParsePool<undefined>({ workers: 0, onVerdict: (_t, v) => got.push(v) });
    const m = { topic: topics.telemetry('site-a'), payload: Buffer.from(JSON.stringify({ v: 1, siteId: 'site-a', records: recordsOf('site-a', 2) })) };
    pool.offer(m.topic, m.payload, undefined);
    assert.equal(pool.pool, null);
    assert.deepStrictEqual(got, [parseBatch(m.topic, m.payload)]);
  });
});
