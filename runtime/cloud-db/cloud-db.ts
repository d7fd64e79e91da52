// The cloud's relational store: organisations, users, sites, refresh-token families, alarms,
// audit log, commands, plans, OTA roll-outs and the models' results in <dataDir>/cloud.db
// (better-sqlite3, WAL). Fleet metadata is small, so one SQLite file serves a single cloud process
// well (docs/ARCHITECTURE.md, "Embedded defaults and production"). The schema is the list of
// migrations in ./migrations.ts, applied in order and recorded in PRAGMA user_version.
import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MIGRATIONS } from './migrations';

export type CloudDb = Database.Database;

export const DEFAULT_ORG_ID = 'default';


export function cloudDbPath(dataDir: string): string {
  return join(dataDir, 'cloud.db');
}

/** Opens (creating and migrating) the cloud database; the default organisation always exists. */
export function openCloudDb(path: string): CloudDb {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new Database(path);
  // First: the CLI (`lifo4 user ...`) opens this file while the cloud runs, and even switching to
  // WAL must wait for the other writer rather than fail with SQLITE_BUSY.
  db.pragma('busy_timeout = 5000');
  // Before the first write: SQLite gives new -wal and -shm files the main file's mode.
  if (path !== ':memory:') ownerOnly(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    db.close();
    throw new Error(`${path} has schema version ${version}, newer than this build knows (${MIGRATIONS.length})`);
  }
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  db.prepare('INSERT OR IGNORE INTO orgs (id, name, created_at) VALUES (?, ?, ?)').run(DEFAULT_ORG_ID, 'Default organisation', Date.now());
  return db;
}

/**
 * cloud.db and its WAL and shared-memory files hold password hashes and claim hashes: owner only,
 * also in a data directory made before this rule or by a looser umask. SQLite creates -wal and -shm
 * with the main file's mode, but an existing file keeps its own, so every open sets them.
 */
function ownerOnly(path: string): void {
  for (const f of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
}

/** Rows per table: what the fuzz tests compare to prove that refused input wrote nothing. */
export function rowCounts(db: CloudDb): Record<string, number> {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[];
  return Object.fromEntries(tables.map(({ name }) => [name, (db.prepare(`SELECT COUNT(*) AS n FROM "${name}"`).get() as { n: number }).n]));
}
