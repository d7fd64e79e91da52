// Guessing passwords and TOTP codes against a real `lifo4 cloud`: the brake is per account and
// ignores the client's address (127.0.0.1 and 127.0.0.2 are both loopback, and both this
// machine), API and editor share it, it delays rather than locks out (Node-RED's own sign-in
// locked a user name out for 10 minutes after 5 failures), and failed editor sign-ins are limited
// per address. bcrypt runs in worker threads with a bounded queue, so a login
// flood neither starves the event loop (health answers before the first login does) nor queues
// without end (503 with Retry-After beyond the queue).
import { strict as assert } from 'node:assert';
import { BcryptPool, PoolBusyError } from '../../runtime/api/bcrypt-pool';
import { configurePasswordPool, hashPassword } from '../../runtime/api/passwords';
import { startHarness } from '../runtime/api/harness';
import { addUser, api, awayFromStepEdge, type Cloud, editorSignIn, http, PASSWORD, startCloud, totp, userCli } from './cloud-process';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('security: login limits of the cloud', function () {
  this.timeout(180_000);
  let cloud: Cloud;

  before(async () => {
    cloud = await startCloud();
  });
  after(() => cloud?.stop());

  const login = (email: string, password: string, from: string, totpCode?: string) =>
    api(cloud, '/auth/login', { body: { email, password, ...(totpCode ? { totp: totpCode } : {}) }, from });

  it('brakes an account after 5 failures from one address for tries from any other, then lets the real user in after the delay', async () => {
    userCli(cloud, ['add', '--email', 'victim@limits.example', '--role', 'VIEWER', '--password', PASSWORD]);
    for (let i = 0; i < 5; i++) assert.equal((await login('victim@limits.example', `wrong guess ${i}`, '127.0.0.1')).status, 401);
    const other = await login('victim@limits.example', PASSWORD, '127.0.0.2');
    assert.equal(other.status, 429, other.text);
    const retryAfterS = Number(other.headers['retry-after']);
    assert.ok(retryAfterS > 0 && retryAfterS <= 5, `Retry-After ${retryAfterS}`);
    // The case of the name does not make another account.
    assert.equal((await login('Victim@Limits.example', PASSWORD, '127.0.0.3')).status, 429);
    await sleep(retryAfterS * 1000 + 200);
    assert.equal((await login('victim@limits.example', PASSWORD, '127.0.0.2')).status, 200);
  });

  it('counts wrong TOTP codes on the account, and the editor sign-in is braked by the same counter', async () => {
    const u = await addUser(cloud, 'totp-root@limits.example', 'SUPER_ADMIN');
    await awayFromStepEdge();
    const valid = new Set(await Promise.all([-1, 0, 1].map((o) => totp(u.secret as string, o))));
    const wrong = ['111111', '222222', '333333', '444444', '555555', '666666', '777777'].filter((c) => !valid.has(c)).slice(0, 5);
    for (const [i, code] of wrong.entries()) {
      const r = await login('totp-root@limits.example', PASSWORD, i % 2 ? '127.0.0.1' : '127.0.0.2', code);
      assert.equal(r.body.error, 'invalid_totp', r.text);
    }
    const right = await totp(u.secret as string, 0);
    assert.equal((await login('totp-root@limits.example', PASSWORD, '127.0.0.3', right)).status, 429);
    const braked = await http(`${cloud.url}/editor/auth/token`, {
      form: { client_id: 'node-red-editor', grant_type: 'password', scope: '', username: 'totp-root@limits.example', password: `${PASSWORD}${right}` }, from: '127.0.0.4',
    });
    assert.equal(braked.status, 429, braked.text);
    await sleep(Number(braked.headers['retry-after']) * 1000 + 200);
    const after = await editorSignIn(cloud, 'totp-root@limits.example', `${PASSWORD}${right}`, '127.0.0.4');
    assert.equal(after.status, 200);
    assert.equal(typeof after.token, 'string');
  });

  it("does not lock the real user out of the editor after an attacker's 6 failures: it signs in after the delay", async () => {
    const u = await addUser(cloud, 'editor-root@limits.example', 'SUPER_ADMIN');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await editorSignIn(cloud, 'editor-root@limits.example', `not the password ${i}123456`, '127.0.0.9')).status);
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
    await awayFromStepEdge();
    const code = await totp(u.secret as string, 0);
    let s = await editorSignIn(cloud, 'editor-root@limits.example', `${PASSWORD}${code}`, '127.0.0.1');
    for (let i = 0; i < 10 && s.status === 429; i++) {
      await sleep(1000);
      s = await editorSignIn(cloud, 'editor-root@limits.example', `${PASSWORD}${code}`, '127.0.0.1');
    }
    assert.equal(s.status, 200);
    assert.equal((await http(`${cloud.url}/editor/flows`, { token: s.token as string })).status, 200);
  });

  it('limits failed editor sign-ins per address (20 per 15 min), not other addresses', async () => {
    for (let i = 0; i < 20; i++) {
      const r = await editorSignIn(cloud, `nobody-${i}@limits.example`, 'not a password at all', '127.0.0.5');
      assert.equal(r.status, 401, `try ${i}`);
    }
    const limited = await http(`${cloud.url}/editor/auth/token`, {
      form: { client_id: 'node-red-editor', grant_type: 'password', scope: '*', username: 'nobody-x@limits.example', password: 'x' }, from: '127.0.0.5',
    });
    assert.equal(limited.status, 429, limited.text);
    assert.ok(Number(limited.headers['retry-after']) > 0);
    const elsewhere = await editorSignIn(cloud, 'nobody-y@limits.example', 'not a password at all', '127.0.0.6');
    assert.notEqual(elsewhere.status, 429);
  });

  it('answers health before the first of a flood of logins, since no bcrypt runs on the event loop', async () => {
    const answered: string[] = [];
    const flood = Array.from({ length: 12 }, (_, i) => login(`flood-${i}@limits.example`, 'some wrong password', '127.0.0.7').then((r) => {
      answered.push(`login ${r.status}`);
      return r;
    }));
    await sleep(50);
    const health = await http(`${cloud.url}/api/v1/health`, { from: '127.0.0.8' });
    answered.push(`health ${health.status}`);
    const logins = await Promise.all(flood);
    assert.equal(answered[0], 'health 200', answered.join(', '));
    for (const r of logins) assert.ok(r.status === 401 || r.status === 503, `${r.status} ${r.text}`);
  });
});

describe('the bcrypt pool', () => {
  it('runs at most size jobs with maxQueue waiting, refuses the next at once, and keeps the event loop free', async () => {
    const hash = await hashPassword('a password to compare', 10);
    const pool = new BcryptPool({ size: 1, maxQueue: 2 });
    try {
      const order: string[] = [];
      const jobs = Array.from({ length: 3 }, (_, i) => pool.compare(i === 0 ? 'a password to compare' : 'wrong', hash).then((ok) => order.push(`job ${i} ${ok}`)));
      assert.deepEqual(pool.load, { running: 1, queued: 2 });
      await assert.rejects(pool.compare('one too many', hash), PoolBusyError);
      // A timer set after the jobs fires before the first of them is done: they run elsewhere.
      await new Promise<void>((resolve) => setTimeout(() => {
        order.push('timer');
        resolve();
      }, 0));
      await Promise.all(jobs);
      assert.deepEqual(order, ['timer', 'job 0 true', 'job 1 false', 'job 2 false']);
      assert.deepEqual(pool.load, { running: 0, queued: 0 });
    } finally {
      await pool.close();
    }
  });

  it('answers an API login beyond the queue with 503 and Retry-After, judging nothing', async () => {
    await configurePasswordPool({ size: 1, maxQueue: 0 });
    // Real cost: the decoy compare keeps the one worker busy while the other logins arrive.
    const h = await startHarness({ bcryptCost: 12 });
    try {
      const post = () => fetch(`${h.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'nobody@pool.example', password: 'a wrong password' }) });
      const answers = await Promise.all(Array.from({ length: 4 }, post));
      const statuses = answers.map((r) => r.status).sort();
      assert.equal(statuses[0], 401, statuses.join());
      assert.ok(statuses.includes(503), statuses.join());
      const busy = answers.find((r) => r.status === 503);
      assert.equal(busy?.headers.get('retry-after'), '1');
      assert.equal(((await busy?.json()) as { error: string }).error, 'busy');
      // Only the judged login counted on the account: 4 more failures pass, the 6th is braked.
      const next: number[] = [];
      for (let i = 0; i < 5; i++) next.push((await post()).status);
      assert.deepEqual(next, [401, 401, 401, 401, 429]);
    } finally {
      await h.close();
      await configurePasswordPool({});
    }
  });
});
