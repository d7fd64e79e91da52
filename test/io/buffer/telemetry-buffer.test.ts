// The store-and-forward buffer on its own: numbering, order, exact acks, limits, restarts.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { TelemetryRecordSchema } from '../../../domain/contracts';
import { TelemetryBuffer, type NewRecord } from '../../../io/buffer/telemetry-buffer';
import { makeTempDir } from '../../services/service';

const rec = (ts: number, siteId = 'site-1'): NewRecord => ({
  siteId, ts,
  decision: { setpointW: ts % 1000, requestedW: null, level: null, source: null, requestId: null, mode: 'NORMAL', reason: 'idle' },
});

describe('telemetry buffer (SQLite store-and-forward)', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  const open: TelemetryBuffer[] = [];
  const buffer = (o: Partial<ConstructorParameters<typeof TelemetryBuffer>[0]> = {}): TelemetryBuffer => {
    const b = new TelemetryBuffer({ path: join(tmp.dir, 'site-1.db'), siteId: 'site-1', ...o });
    open.push(b);
    return b;
  };
  beforeEach(() => {
    tmp = makeTempDir('buffer');
  });
  afterEach(() => {
    for (const b of open.splice(0)) b.close();
    tmp.remove();
  });

  it('numbers records 1, 2, 3 ... and returns them in order as valid TelemetryRecords', () => {
    const b = buffer();
    assert.deepEqual([b.append(rec(10)).firstSeq, b.append(rec(11)).firstSeq, b.append(rec(12)).firstSeq], [1, 2, 3]);
    const p = b.pending();
    assert.deepEqual(p.map((r) => r.seq), [1, 2, 3]);
    for (const r of p) {
      const parsed = TelemetryRecordSchema.parse(JSON.parse(r.json));
      assert.equal(parsed.seq, r.seq);
      assert.equal(parsed.ts, r.ts);
    }
  });

  it('gives pending records after a seq, limited by count and by bytes', () => {
    const b = buffer();
    b.appendMany(Array.from({ length: 20 }, (_, i) => rec(i)));
    assert.deepEqual(b.pending(5, 3).map((r) => r.seq), [6, 7, 8]);
    const one = b.pending(0, 1)[0]!.json.length;
    assert.equal(b.pending(0, 100, one * 2 + 2).length, 2);
    assert.equal(b.pending(0, 100, 1).length, 1, 'always at least one record');
    assert.deepEqual(b.pending(20), []);
  });

  it('deletes exactly the acknowledged ranges', () => {
    const b = buffer();
    b.appendMany(Array.from({ length: 10 }, (_, i) => rec(i)));
    assert.equal(b.ack([[2, 3], [6, 6], [9, 12], [5, 4]]), 5, 'an inverted range deletes nothing');
    assert.deepEqual(b.pending().map((r) => r.seq), [1, 4, 5, 7, 8]);
    assert.equal(b.ack([[2, 3]]), 0, 'acking again deletes nothing');
    assert.equal(b.stats().count, 5);
  });

  it('keeps its records and its sequence across a restart, even when everything was acked', () => {
    let b = buffer();
    b.appendMany([rec(1), rec(2), rec(3)]);
    b.ack([[1, 2]]);
    b.close();
    b = buffer();
    assert.deepEqual(b.pending().map((r) => r.seq), [3]);
    b.ack([[3, 3]]);
    b.close();
    b = buffer();
    assert.equal(b.stats().count, 0);
    assert.equal(b.append(rec(4)).firstSeq, 4, 'a seq is never reused');
  });

  it('drops the oldest records when full and counts them, across restarts', () => {
    let b = buffer({ maxRecords: 5 });
    b.appendMany([rec(1), rec(2), rec(3), rec(4)]);
    assert.equal(b.append(rec(5)).dropped, 0);
    assert.equal(b.append(rec(6)).dropped, 1);
    assert.equal(b.appendMany([rec(7), rec(8), rec(9)]).dropped, 3);
    assert.deepEqual(b.pending().map((r) => r.seq), [5, 6, 7, 8, 9]);
    assert.equal(b.stats().dropped, 4);
    b.close();
    b = buffer({ maxRecords: 5 });
    assert.equal(b.stats().dropped, 4);
    assert.equal(b.stats().count, 5);
  });

  it('drops records older than the age limit', () => {
    let clock = 1_000_000;
    const b = buffer({ maxAgeS: 60, now: () => clock });
    b.appendMany([rec(1), rec(2)]);
    clock += 30_000;
    b.append(rec(3));
    clock += 40_000;
    assert.equal(b.append(rec(4)).dropped, 2, 'the first two are 70 s old');
    assert.deepEqual(b.pending().map((r) => r.seq), [3, 4]);
  });

  it('refuses a file that belongs to another site, and records of another site', () => {
    buffer().close();
    assert.throws(() => new TelemetryBuffer({ path: join(tmp.dir, 'site-1.db'), siteId: 'site-2' }), /belongs to site site-1/);
    assert.throws(() => buffer().append(rec(1, 'site-2')), /record of site site-2/);
  });

  it('takes a 24 h backlog at 1 Hz (86,400 records) and drains it in order in batches of 500', () => {
    const b = buffer();
    const t0 = Date.UTC(2024, 0, 1);
    for (let hour = 0; hour < 24; hour++) b.appendMany(Array.from({ length: 3600 }, (_, i) => rec(t0 + (hour * 3600 + i) * 1000)));
    assert.equal(b.stats().count, 86_400);
    let after = 0;
    let expected = 1;
    for (;;) {
      const batch = b.pending(after, 500);
      if (batch.length === 0) break;
      for (const r of batch) assert.equal(r.seq, expected++);
      after = batch.at(-1)!.seq;
      b.ack([[batch[0]!.seq, after]]);
    }
    assert.equal(expected, 86_401);
    assert.equal(b.stats().count, 0);
  });
});
