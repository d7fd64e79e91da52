// A login flood against the cloud API at the real bcrypt cost (12): `--parallel` clients (default
// 16) keep logging in with unknown names (the decoy hash path) for `--seconds` (default 6) while a
// prober asks GET /api/v1/health every 50 ms. Run twice: with the bcrypt pool (worker threads,
// runtime/api/bcrypt-pool.ts) and, as the floor, with bcrypt on the event loop (pool size 0).
// Health latency p50/p99 during the flood, logins answered per second (401 = judged; 503 = refused
// by the full queue), and a known name with a wrong password for the decoy's cost beside a real
// hash's. The target: health under 200 ms during the flood.
//
// Run: npm run bench -- login-flood [--parallel N] [--seconds S]
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { FleetHub } from '../io/fleet-hub';
import { configurePasswordPool } from '../runtime/api/passwords';
import { UserStore } from '../runtime/api/users';
import { createCloudApi } from '../runtime/app/cloud-api';
import { loadOrCreateSecrets } from '../runtime/secrets';

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const PARALLEL = arg('--parallel', 16);
const SECONDS = arg('--seconds', 6);

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const round = (x: number) => Math.round(x * 10) / 10;

async function flood(poolSize: number | undefined): Promise<Record<string, number>> {
  const pool = await configurePasswordPool(poolSize === undefined ? {} : { size: poolSize });
  const dir = mkdtempSync(join(tmpdir(), 'lifo4-flood-'));
  const api = await createCloudApi({
    dataDir: dir, hub: new FleetHub(), secrets: loadOrCreateSecrets(dir), print: () => undefined, log: () => undefined,
    rateLimits: { globalPerMin: 1e9, loginPer15Min: 1e9 },
  });
  await new UserStore(api.db).create({ email: 'known@flood.example', password: 'the real password of the user', role: 'VIEWER' });
  const app = express().use('/api/v1', api.router);
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
  const post = (email: string) => fetch(`${url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: 'a wrong password' }) });
  try {
    // One login alone of each kind: the decoy must cost what a real hash costs.
    const timed = async (email: string) => {
      const t = performance.now();
      await (await post(email)).text();
      return performance.now() - t;
    };
    await timed('warm-up@flood.example');
    const unknownMs = Math.min(await timed('nobody-a@flood.example'), await timed('nobody-b@flood.example'));
    const knownMs = Math.min(await timed('known@flood.example'), await timed('known@flood.example'));

    let n = 0;
    const statuses: Record<number, number> = {};
    const until = performance.now() + SECONDS * 1000;
    const client = async () => {
      while (performance.now() < until) {
        const r = await post(`nobody-${n++}@flood.example`);
        await r.text();
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      }
    };
    const health: number[] = [];
    const prober = async () => {
      await new Promise((r) => setTimeout(r, 200));
      while (performance.now() < until) {
        const t = performance.now();
        await (await fetch(`${url}/health`)).text();
        health.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const t0 = performance.now();
    await Promise.all([...Array.from({ length: PARALLEL }, client), prober()]);
    const elapsedS = (performance.now() - t0) / 1000;
    health.sort((a, b) => a - b);
    return {
      workers: pool.size,
      health_p50_ms: round(pct(health, 50)), health_p99_ms: round(pct(health, 99)), health_max_ms: round(health[health.length - 1] ?? NaN), health_samples: health.length,
      logins_per_s: round(((statuses[401] ?? 0) + (statuses[503] ?? 0)) / elapsedS), judged_401: statuses[401] ?? 0, refused_503: statuses[503] ?? 0,
      unknown_name_ms: round(unknownMs), known_name_ms: round(knownMs),
    };
  } finally {
    await api.close();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const withPool = await flood(undefined);
  const onEventLoop = await flood(0);
  console.log(JSON.stringify({ bench: 'login-flood', bcrypt_cost: 12, parallel: PARALLEL, seconds: SECONDS, pool: withPool, event_loop: onEventLoop, target_health_ms: 200 }));
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
