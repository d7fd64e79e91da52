// The API's request limits counted in a shared PostgreSQL (runtime/cloud-db/rate-limit-store.ts):
// two servers (two cloud processes) with the same limit refuse a client that spreads its requests
// over both once the sum passes the limit, and count each client and each limiter on its own.
import { strict as assert } from 'node:assert';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { rateLimit } from 'express-rate-limit';
import pg from 'pg';
import { postgresRateStores } from '../../runtime/cloud-db/rate-limit-store';
import { acquirePostgres, releasePostgres, requirePostgres } from './targets';
import type { Server } from 'node:http';

describe('request limits shared through PostgreSQL', function () {
  this.timeout(30_000);
  const pools: pg.Pool[] = [];
  const servers: Server[] = [];
  let running = false;

  before(async function () {
    this.timeout(90_000);
    requirePostgres(this);
    const url = await (await acquirePostgres()).createDatabase();
    running = true;
    pools.push(new pg.Pool({ connectionString: url, max: 2 }), new pg.Pool({ connectionString: url, max: 2 }));
    for (const p of pools) p.on('error', () => undefined);
  });
  after(async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    await Promise.all(pools.map((p) => p.end()));
    if (running) await releasePostgres();
  });

  /** A server of its own pool: `limit` requests per minute per client (the X-Client header). */
  async function server(pool: pg.Pool, prefix: string, limit: number): Promise<string> {
    const stores = await postgresRateStores(pool);
    const app = express();
    app.use(rateLimit({ windowMs: 60_000, limit, store: stores(prefix), keyGenerator: (req) => String(req.headers['x-client']), standardHeaders: 'draft-7', legacyHeaders: false }));
    app.get('/', (_req, res) => void res.json({ ok: true }));
    const s = app.listen(0, '127.0.0.1');
    servers.push(s);
    await new Promise((r) => s.once('listening', r));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}/`;
  }

  it('refuses a client past the limit whichever process it asks, and not another client', async () => {
    const [a, b] = await Promise.all([server(pools[0]!, 'global', 4), server(pools[1]!, 'global', 4)]);
    const ask = async (url: string, client: string) => (await fetch(url, { headers: { 'x-client': client } })).status;
    const statuses = [await ask(a, 'c1'), await ask(b, 'c1'), await ask(a, 'c1'), await ask(b, 'c1'), await ask(a, 'c1'), await ask(b, 'c1')];
    assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
    assert.equal(await ask(b, 'c2'), 200, 'another client has its own count');
    const other = await server(pools[1]!, 'other-limiter', 4);
    assert.equal(await ask(other, 'c1'), 200, 'another limiter has its own count');
  });
});
