// The edge's accounts live in <dataDir>/edge/accounts.db: a database of the cloud's schema
// (runtime/cloud-db), so the cloud's UserStore, TokenService and editor adminAuth work on it
// unchanged, and an edge without internet still has its own users (README, "Securing the edge").
// Only the users, refresh tokens and audit tables are used; the rest stays empty. A file of its
// own, not the cloud's cloud.db: in `lifo4 start` both share one data dir, and an account of the
// cloud must not open the battery's editor by accident (and vice versa).
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { openCloudDb, type CloudDb } from '../cloud-db/cloud-db';

export function edgeAccountsPath(dataDir: string): string {
  return join(dataDir, 'edge', 'accounts.db');
}

/** Opens (creating) the edge's accounts; the file and its WAL are private to the owner (0600). */
export async function openEdgeAccountsDb(dataDir: string): Promise<CloudDb> {
  const path = edgeAccountsPath(dataDir);
  mkdirSync(join(dataDir, 'edge'), { recursive: true, mode: 0o700 });
  // Created 0600 before SQLite opens it: SQLite gives the WAL and shared-memory files the
  // database's mode, so they are private from their first byte.
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
  const db = await openCloudDb(path);
  for (const extra of [`${path}-wal`, `${path}-shm`]) if (existsSync(extra)) chmodSync(extra, 0o600);
  return db;
}
