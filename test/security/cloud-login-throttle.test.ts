// The per-account brake on login guesses (runtime/api/login-throttle.ts) on a clock of its own:
// free failures, then a delay that doubles up to a ceiling; never a lockout longer than the
// ceiling; parallel guesses counted while they are judged; a success clears the account.
import { strict as assert } from 'node:assert';
import { LoginThrottle, type Attempt } from '../../runtime/api/login-throttle';

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
