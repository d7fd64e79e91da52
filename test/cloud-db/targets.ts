// Store tests run on both cloud database back ends: forEachDb runs a describe block once on SQLite
// (a fresh ':memory:' database per open) and once on a real PostgreSQL 15 (a fresh database per
// open, in one private cluster per test process, started for the first block that needs it and
// stopped after the last).
import { openCloudDb, type CloudDb } from '../../runtime/cloud-db/cloud-db';
import { postgresAvailable, startPostgres, type RunningPostgres } from '../services/postgres';
import { requireService } from '../services/service';

let shared: Promise<RunningPostgres> | null = null;
let users = 0;

/** The test process's PostgreSQL, started on first use; release() stops it after its last user. */
export async function acquirePostgres(): Promise<RunningPostgres> {
  users++;
  shared ??= startPostgres();
  try {
    return await shared;
  } catch (err) {
    users--;
    shared = null;
    throw err;
  }
}

export async function releasePostgres(): Promise<void> {
  if (users === 0 || !shared) return;
  users--;
  if (users > 0) return;
  const running = shared;
  shared = null;
  await (await running).stop();
}

/** Skips (or under CI=true fails) a suite when PostgreSQL is not installed. */
export function requirePostgres(ctx: Mocha.Context): void {
  requireService(ctx, 'PostgreSQL 15', postgresAvailable(), 'apt-get install postgresql');
}

/**
 * In the calling describe block: the test process's PostgreSQL for its tests (skipped without one,
 * failed under CI=true). The returned function gives the running server.
 */
export function usePostgres(): () => RunningPostgres {
  let server: RunningPostgres | null = null;
  before(async function () {
    this.timeout(90_000);
    requirePostgres(this);
    server = await acquirePostgres();
  });
  after(async function () {
    this.timeout(30_000);
    if (server) await releasePostgres();
    server = null;
  });
  return () => {
    if (!server) throw new Error('PostgreSQL is not running');
    return server;
  };
}

export function forEachDb(title: string, body: (open: () => Promise<CloudDb>) => void): void {
  describe(`${title} (SQLite)`, () => {
    body(() => openCloudDb(':memory:'));
  });
  describe(`${title} (PostgreSQL)`, function () {
    const server = usePostgres();
    body(async () => openCloudDb(await server().createDatabase()));
  });
}
