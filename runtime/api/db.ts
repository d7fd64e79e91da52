// The cloud's relational store: organisations, users, sites, refresh-token families, alarms,
// audit log, commands and plans in <dataDir>/cloud.db (better-sqlite3, WAL). Fleet metadata is
// small, so SQLite serves at scale too (DESIGN.md, "Embedded defaults"). The schema is a list of
// migrations applied in order and recorded in PRAGMA user_version: a migration, once released, is
// never edited; a change is a new entry at the end.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { OTA_MIGRATION } from '../ota/rollout-schema';
import { ML_MIGRATION } from '../ml/insight-store';

export type CloudDb = Database.Database;

export const DEFAULT_ORG_ID = 'default';

const MIGRATIONS: readonly string[] = [
  // 1: identity, sites, tokens, alarms, audit, commands, plans
  `CREATE TABLE orgs (
     id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at INTEGER NOT NULL);
   CREATE TABLE users (
     id TEXT PRIMARY KEY,
     email TEXT NOT NULL UNIQUE COLLATE NOCASE,
     password_hash TEXT NOT NULL,
     role TEXT NOT NULL,
     org_id TEXT NOT NULL REFERENCES orgs(id),
     totp_secret TEXT,              -- AES-256-GCM sealed base32 secret, enabled
     totp_pending TEXT,             -- sealed secret of an enrolment not yet confirmed
     totp_last_step INTEGER NOT NULL DEFAULT 0,
     token_version INTEGER NOT NULL DEFAULT 0,
     disabled INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
   CREATE TABLE recovery_codes (
     user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     code_hash TEXT NOT NULL, pending INTEGER NOT NULL, used_at INTEGER,
     PRIMARY KEY (user_id, code_hash));
   CREATE TABLE sites (
     id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id), name TEXT NOT NULL,
     lat REAL, lon REAL, state TEXT NOT NULL DEFAULT 'unknown', state_ts INTEGER,
     last_seen INTEGER, created_at INTEGER NOT NULL);
   CREATE TABLE user_sites (
     user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
     PRIMARY KEY (user_id, site_id));
   CREATE TABLE refresh_tokens (
     id TEXT PRIMARY KEY, family TEXT NOT NULL, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     secret_hash TEXT NOT NULL, issued_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
     used_at INTEGER, revoked_at INTEGER);
   CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
   CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
   CREATE TABLE alarms (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     site_id TEXT NOT NULL, code TEXT NOT NULL, source TEXT NOT NULL, severity TEXT NOT NULL,
     message TEXT NOT NULL, state TEXT NOT NULL,
     raised_at INTEGER NOT NULL, last_seen INTEGER NOT NULL, occurrences INTEGER NOT NULL DEFAULT 1,
     acked_by TEXT, acked_at INTEGER, cleared_at INTEGER,
     silenced_until INTEGER, silenced_by TEXT);
   -- Deduplication: at most one open (not cleared) alarm per site, code and source.
   CREATE UNIQUE INDEX alarms_open ON alarms (site_id, code, source) WHERE state != 'cleared';
   CREATE INDEX alarms_site_raised ON alarms (site_id, raised_at);
   CREATE TABLE alarm_events (
     id INTEGER PRIMARY KEY AUTOINCREMENT, alarm_id INTEGER NOT NULL REFERENCES alarms(id),
     ts INTEGER NOT NULL, event TEXT NOT NULL, by TEXT, note TEXT);
   CREATE INDEX alarm_events_alarm ON alarm_events (alarm_id);
   CREATE TABLE audit (
     id INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL,
     user_id TEXT, email TEXT, role TEXT, org_id TEXT, ip TEXT,
     action TEXT NOT NULL, target TEXT, outcome TEXT NOT NULL, status INTEGER, details TEXT);
   CREATE INDEX audit_ts ON audit (ts);
   CREATE TABLE commands (
     id TEXT PRIMARY KEY, site_id TEXT NOT NULL, user_id TEXT NOT NULL, body TEXT NOT NULL,
     issued_at INTEGER NOT NULL, outcome TEXT, reason TEXT, acked_at INTEGER);
   CREATE INDEX commands_site ON commands (site_id, issued_at);
   CREATE TABLE plans (site_id TEXT PRIMARY KEY, ts INTEGER NOT NULL, plan TEXT NOT NULL);
   -- Every price step any plan carried, so revenue can be priced for past periods too.
   CREATE TABLE prices (
     site_id TEXT NOT NULL, start INTEGER NOT NULL, step_ms INTEGER NOT NULL, eur_per_mwh REAL NOT NULL,
     PRIMARY KEY (site_id, start)) WITHOUT ROWID;`,
  // 2: OTA roll-outs, provisioning (issue 8)
  OTA_MIGRATION,
  // 3: forecasts, state of health, anomaly scores, model versions and retraining scores (issue 9)
  ML_MIGRATION,
];

export function cloudDbPath(dataDir: string): string {
  return join(dataDir, 'cloud.db');
}

/** Opens (creating and migrating) the cloud database; the default organisation always exists. */
export function openCloudDb(path: string): CloudDb {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  // The CLI (`lifo4 user ...`) writes while the cloud runs: wait for the other writer.
  db.pragma('busy_timeout = 5000');
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

/** Rows per table: what the fuzz tests compare to prove that refused input wrote nothing. */
export function rowCounts(db: CloudDb): Record<string, number> {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[];
  return Object.fromEntries(tables.map(({ name }) => [name, (db.prepare(`SELECT COUNT(*) AS n FROM "${name}"`).get() as { n: number }).n]));
}
