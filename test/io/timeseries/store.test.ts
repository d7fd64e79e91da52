// The time-series store: the same behaviour from SQLite (a file in a temp dir) and a real InfluxDB
// 1.x started by the test, and the same answers for the same data.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { TelemetryRecord } from '../../../domain/contracts';
import { FIELD_NAMES, flattenRecord } from '../../../io/timeseries/fields';
import { openInfluxStore } from '../../../io/timeseries/influx-store';
import { openTimeseriesStore } from '../../../io/timeseries/open';
import { openSqliteStore } from '../../../io/timeseries/sqlite-store';
import { rangeBuckets, roundMean, type RangeBucket, type TimeseriesStore, type WriteResult } from '../../../io/timeseries/store';
import { StoreClosedError, StoreQueueFullError } from '../../../io/timeseries/write-queue';
import { influxdAvailable, startInfluxd, type RunningInfluxd } from '../../services/influxdb';
import { makeTempDir, requireService } from '../../services/service';
import { householdRecords } from './records';

/** The aggregates computed here from the records themselves: what both back ends must answer. */
function expectedBuckets(records: TelemetryRecord[], siteId: string, from: number, to: number, everyMs: number, fields: readonly string[]): RangeBucket[] {
  const groups = new Map<number, Record<string, number>[]>();
  for (const r of records) {
    if (r.siteId !== siteId || r.ts < from || r.ts >= to) continue;
    const start = Math.floor(r.ts / everyMs) * everyMs;
    groups.set(start, [...(groups.get(start) ?? []), flattenRecord(r)]);
  }
  return [...groups].sort((a, b) => a[0] - b[0]).map(([start, rows]) => ({
    start,
    count: rows.length,
    fields: Object.fromEntries(fields.map((f) => {
      const vs = rows.map((row) => row[f]).filter((v): v is number => v !== undefined);
      return [f, vs.length ? { mean: roundMean(vs.reduce((a, b) => a + b, 0) / vs.length), min: Math.min(...vs), max: Math.max(...vs) } : { mean: null, min: null, max: null }];
    })),
  }));
}

/** Waits until `check` holds, polling; fails after `ms`. */
async function eventually(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`never: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('time-series store (SQLite and InfluxDB 1.x)', function () {
  let influxd: RunningInfluxd | null = null;
  let tmp: ReturnType<typeof makeTempDir>;
  let opened: TimeseriesStore[] = [];
  let n = 0;

  before(async function () {
    requireService(this, 'influxd', influxdAvailable(), 'apt-get install influxdb');
    this.timeout(90_000);
    influxd = await startInfluxd();
    tmp = makeTempDir('timeseries');
  });
  after(async () => {
    await influxd?.stop();
    tmp?.remove();
  });
  afterEach(async () => {
    await Promise.all(opened.map((s) => s.close()));
    opened = [];
  });

  /** A fresh store of each kind: a new SQLite file, a new InfluxDB database. */
  function fresh(kind: 'sqlite' | 'influxdb', queue: { maxQueued?: number; retryMinMs?: number; retryMaxMs?: number } = {}): TimeseriesStore {
    n += 1;
    const s = kind === 'sqlite'
      ? openSqliteStore(join(tmp.dir, `ts-${n}.db`), queue)
      : openInfluxStore({ url: `${influxd!.url}/lifo4_${n}`, requestTimeoutMs: 3000, queue });
    opened.push(s);
    return s;
  }

  it('flattens a record into the named fields of fields.ts', () => {
    const [r] = householdRecords({ siteId: 'site-a', count: 1 });
    const f = flattenRecord(r!);
    const b = r!.telemetry!.battery!;
    assert.equal(f['socPct'], b.soc);
    assert.equal(f['cellSpreadV'], b.cellVmax - b.cellVmin);
    assert.equal(f['netLoadW'], r!.telemetry!.meter!.power + r!.telemetry!.pcs!.power);
    assert.equal(f['modeCode'], 1, 'DERATED');
    assert.equal(f['deviceAlarmCount'], 1);
    assert.ok(Object.keys(f).every((k) => FIELD_NAMES.includes(k)));
    assert.deepEqual(flattenRecord({ siteId: 'x', seq: 1, ts: 0 }), {}, 'a record without parts has no fields');
  });

  it('gives identical latest values and interval aggregates from both back ends for the same records', async () => {
    // Two sites, two days of 15-minute records, written in three batches out of order.
    const a = householdRecords({ siteId: 'site-a', count: 192, startRow: 4000 });
    const b = householdRecords({ siteId: 'site-b', count: 150, startRow: 9000, startTs: a[0]!.ts + 7 * 60_000 });
    const all = [...a, ...b];
    const batches = [all.slice(200), all.slice(0, 120), all.slice(120, 200)];
    const sqlite = fresh('sqlite');
    const influx = fresh('influxdb');
    for (const batch of batches) {
      assert.equal((await sqlite.write(batch)).inserted, batch.length);
      assert.equal((await influx.write(batch)).inserted, batch.length);
    }

    const latest = await sqlite.latest();
    assert.deepEqual(await influx.latest(), latest);
    assert.deepEqual(latest.map((l) => [l.siteId, l.seq, l.ts]), [['site-a', 192, a[191]!.ts], ['site-b', 150, b[149]!.ts]]);
    assert.deepEqual(latest[0]!.fields, flattenRecord(a[191]!));
    assert.deepEqual(await influx.latest(['site-b']), [latest[1]]);

    const from = a[0]!.ts + 3_600_000 + 123; // not on an interval boundary
    const to = a[0]!.ts + 30 * 3_600_000;
    for (const everyMs of [3_600_000, 4 * 3_600_000, 15 * 60_000]) {
      for (const siteId of ['site-a', 'site-b']) {
        const q = { siteId, from, to, everyMs };
        const s = await sqlite.range(q);
        assert.deepEqual(s.buckets, expectedBuckets(all, siteId, from, to, everyMs, FIELD_NAMES));
        assert.deepEqual(await influx.range(q), s);
      }
    }
    const some = { siteId: 'site-a', from: a[0]!.ts - 5 * 86_400_000, to: to + 86_400_000, everyMs: 86_400_000, fields: ['gridPowerW', 'socPct'] };
    const s = await sqlite.range(some);
    assert.deepEqual(s.fields, ['gridPowerW', 'socPct']);
    assert.deepEqual(s.buckets, expectedBuckets(all, 'site-a', some.from, some.to, some.everyMs, some.fields));
    assert.deepEqual(await influx.range(some), s);
  });

  it('answers null for fields no record carried, identically from both back ends', async () => {
    // Only a meter: the battery, PCS, decision and envelope fields were never written anywhere.
    const records = householdRecords({ siteId: 'site-m', count: 8 }).map(({ telemetry, ...r }) => ({
      ...r, decision: undefined, envelope: undefined, telemetry: { siteId: 'site-m', ts: r.ts, meter: telemetry!.meter! },
    }));
    const sqlite = fresh('sqlite');
    const influx = fresh('influxdb');
    await sqlite.write(records);
    await influx.write(records);
    const q = { siteId: 'site-m', from: records[0]!.ts, to: records[7]!.ts + 1, everyMs: 3_600_000 };
    const s = await sqlite.range(q);
    assert.deepEqual(s.buckets[0]!.fields['socPct'], { mean: null, min: null, max: null });
    assert.notEqual(s.buckets[0]!.fields['gridPowerW']!.mean, null);
    assert.deepEqual(await influx.range(q), s);
    assert.deepEqual(await influx.latest(), await sqlite.latest());
    assert.deepEqual(Object.keys((await sqlite.latest())[0]!.fields).sort(), ['deviceAlarmCount', 'gridExportWh', 'gridFrequencyHz', 'gridImportWh', 'gridPowerW']);
  });

  for (const kind of ['sqlite', 'influxdb'] as const) {
    describe(`${kind}`, () => {
      it('stores a record sent twice once, and still reports it committed so it is acknowledged again', async () => {
        const store = fresh(kind);
        const records = householdRecords({ siteId: 'site-a', count: 20 });
        const first = await store.write(records.slice(0, 12));
        assert.deepEqual(first, { inserted: 12, duplicates: 0, rejected: [], committed: [{ siteId: 'site-a', ranges: [[1, 12]], seq: 12 }] });
        // The edge resends 8..20 (its ack for 8..12 was lost), and 15 twice in the same batch.
        const again = await store.write([...records.slice(7), records[14]!]);
        assert.deepEqual(again, { inserted: 8, duplicates: 6, rejected: [], committed: [{ siteId: 'site-a', ranges: [[8, 20]], seq: 20 }] });
        const day = await store.range({ siteId: 'site-a', from: 0, to: records[19]!.ts + 1, everyMs: 31 * 86_400_000, fields: ['socPct'] });
        assert.equal(day.buckets.reduce((sum, bk) => sum + bk.count, 0), 20);
        assert.equal(await store.highestSeq('site-a'), 20);
        assert.equal(await store.highestSeq('site-none'), 0);
      });

      it('gives a range longer than one query allows in parts (rangeBuckets), every bucket once', async () => {
        const store = fresh(kind);
        const records = householdRecords({ siteId: 'site-a', count: 30, stepMs: 400, startTs: 1_700_000_000_500 });
        await store.write(records);
        // Just over 10,000 one-second intervals from a start off the second: two parts. A part ending
        // 10,000 s after that start would cut the second holding the records at 5.3 s and 5.7 s.
        const q = { siteId: 'site-a', from: records[0]!.ts + 5000 - 10_000_000, to: records[29]!.ts + 1, everyMs: 1000, fields: ['socPct'] };
        await assert.rejects(store.range(q), /intervals/);
        const buckets = await rangeBuckets(store, q);
        const seconds = [...new Set(records.map((r) => Math.floor(r.ts / 1000) * 1000))];
        assert.deepEqual(buckets.map((b) => b.start), seconds, 'every second once');
        assert.equal(buckets.reduce((n, b) => n + b.count, 0), 30);
      });

      it('rejects records that fail the schema, stores the rest and names the problem', async () => {
        const store = fresh(kind);
        const [good1, good2] = householdRecords({ siteId: 'site-a', count: 2 });
        const bad = [
          { ...good1, seq: 0 },
          { ...good1, siteId: 'site a/#' },
          { ...good1, telemetry: { ...good1!.telemetry, battery: { ...good1!.telemetry!.battery, soc: 140 } } },
          'not a record',
        ];
        const r = await store.write([bad[0], good1, bad[1], bad[2], good2, bad[3]]);
        assert.equal(r.inserted, 2);
        assert.deepEqual(r.rejected.map((x) => x.index), [0, 2, 3, 5]);
        assert.match(r.rejected[0]!.reason, /seq/);
        assert.match(r.rejected[2]!.reason, /soc/);
        assert.deepEqual(r.committed, [{ siteId: 'site-a', ranges: [[1, 2]], seq: 2 }]);
        assert.deepEqual((await store.latest()).map((l) => l.siteId), ['site-a']);
        await assert.rejects(store.range({ siteId: 'site-a', from: 0, to: 10, everyMs: 1000, fields: ['noSuchField'] }), /unknown field/);
      });

      it('keeps the alarm transitions records carry, once each, oldest first', async () => {
        const store = fresh(kind);
        const records = householdRecords({ siteId: 'site-a', count: 40 });
        await store.write(records);
        await store.write(records.slice(0, 10));
        const carried = records.flatMap((r) => (r.alarms ?? []).map((a) => ({ ...a, siteId: r.siteId, seq: r.seq })));
        assert.equal(carried.length, 5);
        assert.deepEqual(await store.alarms({ siteId: 'site-a' }), carried);
        assert.deepEqual(await store.alarms({ from: carried[1]!.ts, to: carried[3]!.ts, limit: 10 }), carried.slice(1, 3));
        assert.deepEqual(await store.alarms({ siteId: 'site-b' }), []);
      });
    });
  }

  it('answers alarm queries identically from both back ends', async () => {
    const records = [...householdRecords({ siteId: 'site-b', count: 60 }), ...householdRecords({ siteId: 'site-a', count: 60 })];
    const sqlite = fresh('sqlite');
    const influx = fresh('influxdb');
    await sqlite.write(records);
    await influx.write(records);
    const all = await sqlite.alarms();
    assert.equal(all.length, 14);
    assert.deepEqual(await influx.alarms(), all);
  });

  it('holds writes while InfluxDB is down and lands every record once when it returns', async function () {
    this.timeout(120_000);
    const store = fresh('influxdb', { retryMinMs: 100, retryMaxMs: 500 });
    const records = householdRecords({ siteId: 'site-a', count: 300 });
    await store.write(records.slice(0, 100));
    await influxd!.halt();
    try {
      const waiting = [store.write(records.slice(100, 200)), store.write(records.slice(150, 300))];
      await eventually('the store retries', () => store.health().retrying);
      assert.equal(store.health().queued, 250);
      assert.ok(store.health().lastError);
      await influxd!.start();
      const [r1, r2] = (await Promise.all(waiting)) as [WriteResult, WriteResult];
      assert.equal(r1.inserted, 100);
      assert.equal(r2.inserted, 100, 'the 50 of 150..200 the first write stored are duplicates');
      assert.deepEqual(r2.committed, [{ siteId: 'site-a', ranges: [[151, 300]], seq: 300 }]);
      assert.deepEqual(store.health(), { queued: 0, retrying: false, lastError: null });
    } finally {
      if (!influxd!.running) await influxd!.start();
    }
    const all = await store.range({ siteId: 'site-a', from: 0, to: records[299]!.ts + 1, everyMs: 31 * 86_400_000, fields: ['socPct'] });
    assert.equal(all.buckets[0]!.count, 300);
    assert.equal(await store.highestSeq('site-a'), 300);
  });

  it('refuses a write when the queue is full, so the caller does not acknowledge it, and loses nothing it took', async function () {
    this.timeout(120_000);
    const store = fresh('influxdb', { maxQueued: 150, retryMinMs: 100, retryMaxMs: 300 });
    const records = householdRecords({ siteId: 'site-a', count: 200 });
    await influxd!.halt();
    let taken: Promise<unknown>[] = [];
    try {
      taken = [store.write(records.slice(0, 100)), store.write(records.slice(100, 150))];
      await assert.rejects(store.write(records.slice(150, 200)), StoreQueueFullError);
      assert.equal(store.health().queued, 150);
    } finally {
      await influxd!.start();
    }
    await Promise.all(taken);
    assert.equal(await store.highestSeq('site-a'), 150);
    assert.equal((await store.write(records.slice(150, 200))).inserted, 50, 'the refused records are stored when sent again');
  });

  it('refuses writes still waiting when it is closed: they were not stored and are not acknowledged', async function () {
    this.timeout(60_000);
    const store = openInfluxStore({ url: `${influxd!.url}/lifo4_closed`, requestTimeoutMs: 2000, queue: { retryMinMs: 100 } });
    await influxd!.halt();
    try {
      const waiting = store.write(householdRecords({ siteId: 'site-a', count: 5 }));
      await eventually('the store retries', () => store.health().retrying);
      await store.close();
      await assert.rejects(waiting, StoreClosedError);
      await assert.rejects(store.write(householdRecords({ siteId: 'site-a', count: 1 })), StoreClosedError);
    } finally {
      await influxd!.start();
    }
  });

  it('keeps SQLite records across closing and reopening the file (openTimeseriesStore)', async () => {
    const path = join(tmp.dir, 'reopen', 'timeseries.db');
    const records = householdRecords({ siteId: 'site-a', count: 30 });
    const first = openTimeseriesStore({ backend: 'sqlite', path });
    await first.write(records.slice(0, 20));
    await first.close();
    const second = openTimeseriesStore({ backend: 'sqlite', path });
    opened.push(second);
    assert.equal(await second.highestSeq('site-a'), 20);
    const r = await second.write(records);
    assert.equal(r.inserted, 10);
    assert.equal(r.duplicates, 20);
  });
});
