// The cloud processes' event bus (runtime/cloud-db/events.ts): on PostgreSQL an event published in
// one process reaches the subscribers of every process once, in order, also when it is larger
// than a NOTIFY may carry, and again after the listening connection was lost; on SQLite it stays
// in the process.
import { strict as assert } from 'node:assert';
import pg from 'pg';
import { openCloudDb, type CloudDb } from '../../runtime/cloud-db/cloud-db';
import { LocalEventBus, MAX_NOTIFY_BYTES, PgEventBus, openEventBus, type EventBus } from '../../runtime/cloud-db/events';
import { acquirePostgres, releasePostgres, requirePostgres } from './targets';
import { sleep } from '../services/service';

async function until(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

function collect(bus: EventBus, channel: string): unknown[] {
  const got: unknown[] = [];
  bus.subscribe(channel, (p) => got.push(p));
  return got;
}

describe('the event bus', () => {
  it('on SQLite delivers in the process, at once, to each subscriber of the channel', async () => {
    const db = await openCloudDb(':memory:');
    const bus = await openEventBus(db);
    assert.ok(bus instanceof LocalEventBus);
    const a = collect(bus, 'x');
    const b = collect(bus, 'x');
    const other = collect(bus, 'y');
    bus.publish('x', { n: 1 });
    assert.deepEqual(a, [{ n: 1 }]);
    assert.deepEqual(b, [{ n: 1 }]);
    assert.deepEqual(other, []);
    await bus.close();
    await db.close();
  });

  describe('on PostgreSQL', function () {
    this.timeout(30_000);
    let url = '';
    let db: CloudDb | null = null;
    const pools: pg.Pool[] = [];
    const buses: PgEventBus[] = [];
    /** A bus of its own pool, as another cloud process would have. */
    const process_ = async (): Promise<PgEventBus> => {
      const pool = new pg.Pool({ connectionString: url, max: 2 });
      // Sessions ended by the test (or the server's shutdown) are not errors of the test.
      pool.on('error', () => undefined);
      pools.push(pool);
      const bus = await PgEventBus.open(pool, { reconnectMs: 100, log: () => undefined });
      buses.push(bus);
      return bus;
    };

    before(async function () {
      this.timeout(90_000);
      requirePostgres(this);
      url = await (await acquirePostgres()).createDatabase();
      db = await openCloudDb(url);
    });
    afterEach(async () => {
      await Promise.all(buses.splice(0).map((b) => b.close()));
      await Promise.all(pools.splice(0).map((p) => p.end()));
    });
    after(async () => {
      await db?.close();
      if (db) await releasePostgres();
    });

    it('opens from the cloud database as NOTIFY/LISTEN', async () => {
      if (!db) throw new Error('no database');
      const bus = await openEventBus(db, { log: () => undefined });
      assert.ok(bus instanceof PgEventBus);
      await bus.close();
    });

    it('hands an event to every process once, the publisher\'s own subscribers at once, in the order published', async () => {
      const a = await process_();
      const b = await process_();
      const c = await process_();
      const got = [collect(a, 'alarm'), collect(b, 'alarm'), collect(c, 'alarm')];
      const events = Array.from({ length: 50 }, (_, i) => ({ i, from: i % 2 ? 'a' : 'b' }));
      for (const e of events) (e.from === 'a' ? a : b).publish('alarm', e);
      // In-process subscribers got theirs synchronously.
      assert.equal(got[0]?.length, 25);
      await until('every process has every event', () => got.every((g) => g.length >= events.length));
      await sleep(200);
      for (const g of got) {
        assert.equal(g.length, events.length, 'an event was delivered twice');
        const fromA = g.filter((e) => (e as { from: string }).from === 'a');
        assert.deepEqual(fromA, events.filter((e) => e.from === 'a'), 'events of one publisher out of order');
      }
    });

    it('carries a burst of events (many to a NOTIFY) complete and in order', async () => {
      const a = await process_();
      const b = await process_();
      const got = collect(b, 'record');
      const burst = Array.from({ length: 2000 }, (_, i) => ({ siteId: `site-${i % 20}`, seq: i, fields: { socPct: 50, powerW: i } }));
      for (const e of burst) a.publish('record', e);
      await until('the burst arrived', () => got.length >= burst.length, 15_000);
      assert.deepEqual(got, burst);
    });

    it('carries an event larger than a NOTIFY payload, in its place among the others', async () => {
      const a = await process_();
      const b = await process_();
      const got = collect(b, 'record');
      const big = { n: 2, text: 'x'.repeat(MAX_NOTIFY_BYTES * 3) };
      a.publish('record', { n: 1 });
      a.publish('record', big);
      a.publish('record', { n: 3 });
      await until('the three events arrived', () => got.length >= 3);
      assert.deepEqual(got, [{ n: 1 }, big, { n: 3 }]);
    });

    it('listens again after its connection was ended, and events published after that arrive', async () => {
      const a = await process_();
      const b = await process_();
      const got = collect(b, 'ota');
      const admin = pools[0] as pg.Pool;
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'lifo4 event bus' AND pid <> pg_backend_pid()");
      // Both listeners were ended; publish until b hears again.
      let n = 0;
      await until('b listens again', () => {
        a.publish('ota', ++n);
        return got.length > 0;
      }, 10_000);
      const before = got.length;
      a.publish('ota', 'after');
      await until('the next event arrives', () => got.length > before);
      assert.equal(got[got.length - 1], 'after');
    });
  });
});
