// The per-account brake on login guesses (runtime/api/login-throttle.ts) on a clock of its own:
// free failures, then a delay that doubles up to a ceiling; never a lockout longer than the
// ceiling; parallel guesses counted while they are judged; a success clears the account. And the
// same brake shared by two cloud processes through PostgreSQL, on the real clock.
import { strict as assert } from 'node:assert';
import pg from 'pg';
import { LoginThrottle, SharedAccounts, type Attempt } from '../../runtime/api/login-throttle';
import { openCloudDb, type CloudDb } from '../../runtime/cloud-db/cloud-db';
import { acquirePostgres, releasePostgres, requirePostgres } from '../cloud-db/targets';

function brake(limits: ConstructorParameters<typeof LoginThrottle>[0] = {}) {
  let now = 1_000_000;
  const t = new LoginThrottle(limits, () => now);
  const attempt = async (name = 'user@example.com'): Promise<Attempt> => {
    const r = await t.begin(name);
    assert.ok(r.attempt, `refused for ${r.retryAfterMs} ms`);
    return r.attempt;
  };
  const fail = async (name?: string) => (await attempt(name)).settle(false);
  return { t, attempt, fail, wait: (name = 'user@example.com') => t.retryAfterMs(name), advance: (ms: number) => (now += ms) };
}

describe('the login brake', () => {
  it('lets 5 failures pass, then delays 5 s, 10 s, 20 s, 40 s and at most 60 s however many follow', async () => {
    const b = brake();
    for (let i = 0; i < 4; i++) {
      await b.fail();
      assert.equal(await b.wait(), 0);
    }
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      await b.fail();
      const w = await b.wait();
      delays.push(w);
      b.advance(w);
    }
    assert.deepEqual(delays, [5000, 10_000, 20_000, 40_000, 60_000, 60_000, 60_000, 60_000]);
  });

  it('brakes the account whatever the case or spaces of the name, and not another account', async () => {
    const b = brake();
    for (let i = 0; i < 5; i++) await b.fail('User@Example.com ');
    assert.equal(await b.wait('user@example.com'), 5000);
    assert.equal(await b.wait('other@example.com'), 0);
  });

  it('does not lengthen the delay for attempts refused during it', async () => {
    const b = brake();
    for (let i = 0; i < 5; i++) await b.fail();
    for (let i = 0; i < 100; i++) assert.ok(await b.wait() > 0);
    b.advance(5000);
    assert.equal(await b.wait(), 0);
  });

  it('counts guesses still being judged, so parallel guesses cannot slip past the free ones', async () => {
    const b = brake();
    const inFlight = await Promise.all(Array.from({ length: 5 }, () => b.attempt()));
    assert.ok(await b.wait() > 0, 'a sixth parallel guess went ahead');
    for (const a of inFlight) a.settle(false);
    assert.equal(await b.t.failures('user@example.com'), 5);
  });

  it('forgets a success, an unjudged attempt and failures older than 15 min', async () => {
    const b = brake();
    for (let i = 0; i < 4; i++) await b.fail();
    (await b.attempt()).settle(undefined);
    assert.equal(await b.t.failures('user@example.com'), 4);
    (await b.attempt()).settle(true);
    assert.equal(await b.t.failures('user@example.com'), 0);
    for (let i = 0; i < 5; i++) await b.fail();
    b.advance(15 * 60_000);
    assert.equal(await b.wait(), 0);
    assert.equal(await b.t.failures('user@example.com'), 0);
  });

  it('holds a bounded number of accounts, the oldest going first', async () => {
    const b = brake({ maxAccounts: 3 });
    for (const n of ['a', 'b', 'c', 'd']) await b.fail(n);
    assert.equal(await b.t.failures('a'), 0);
    assert.equal(await b.t.failures('d'), 1);
  });
});

describe('the login brake shared by cloud processes on one PostgreSQL', function () {
  this.timeout(30_000);
  let pools: pg.Pool[] = [];
  let brakes: LoginThrottle[] = [];
  let db: CloudDb | null = null;
  // Short delays on the real clock: 2 free failures, then 400 ms, 800 ms, at most 1.6 s.
  const limits = { freeFailures: 2, baseDelayMs: 400, maxDelayMs: 1600, forgetAfterMs: 60_000 };

  before(async function () {
    this.timeout(90_000);
    requirePostgres(this);
    const url = await (await acquirePostgres()).createDatabase();
    db = await openCloudDb(url);
    pools = [new pg.Pool({ connectionString: url, max: 2 }), new pg.Pool({ connectionString: url, max: 2 })];
    for (const p of pools) p.on('error', () => undefined);
    brakes = await Promise.all(pools.map(async (p) => new LoginThrottle(limits, Date.now, await SharedAccounts.postgres(p))));
  });
  after(async () => {
    await Promise.all(pools.map((p) => p.end()));
    await db?.close();
    if (db) await releasePostgres();
  });

  const fail = async (t: LoginThrottle, name: string) => {
    const r = await t.begin(name);
    assert.ok(r.attempt, `refused for ${r.retryAfterMs} ms`);
    r.attempt.settle(false);
  };
  const settled = () => new Promise((r) => setTimeout(r, 100));

  it('counts failures made through either process against the account, and brakes it in both', async () => {
    const [a, b] = brakes as [LoginThrottle, LoginThrottle];
    await fail(a, 'shared@example.com');
    await settled();
    await fail(b, 'Shared@Example.com');
    await settled();
    assert.equal(await a.failures('shared@example.com'), 2);
    const waitA = await a.retryAfterMs('shared@example.com');
    const waitB = await b.retryAfterMs('shared@example.com');
    assert.ok(waitA > 0 && waitA <= 400 && waitB > 0 && waitB <= 400, `${waitA} ms, ${waitB} ms`);
    assert.ok((await b.begin('shared@example.com')).retryAfterMs, 'the other process let a guess through');
    assert.equal(await a.retryAfterMs('other@example.com'), 0);
    await new Promise((r) => setTimeout(r, waitA + 50));
    // One more failure doubles the delay, in both.
    await fail(b, 'shared@example.com');
    await settled();
    const next = await a.retryAfterMs('shared@example.com');
    assert.ok(next > 400 && next <= 800, `${next} ms`);
    await new Promise((r) => setTimeout(r, next + 50));
    const ok = await a.begin('shared@example.com');
    assert.ok(ok.attempt);
    ok.attempt.settle(true);
    await settled();
    assert.equal(await b.failures('shared@example.com'), 0, 'a success through one process clears the account for both');
  });

  it('lets only the free number of parallel guesses through, wherever they arrive', async () => {
    const [a, b] = brakes as [LoginThrottle, LoginThrottle];
    const turns = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).begin('parallel@example.com')));
    const through = turns.filter((t) => t.attempt);
    assert.ok(through.length >= 1 && through.length <= limits.freeFailures, `${through.length} of 6 parallel guesses went ahead`);
    for (const t of through) t.attempt?.settle(false);
    await settled();
  });
});
