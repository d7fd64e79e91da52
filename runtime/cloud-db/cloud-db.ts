// The cloud's relational store: organisations, users, sites, refresh-token families, alarms,
// audit log, commands, plans, OTA roll-outs and the models' results. Embedded by default in
// <dataDir>/cloud.db (better-sqlite3, WAL): fleet metadata is small, so one SQLite file serves a
// single cloud process well. Several cloud processes share one PostgreSQL instead
// (`--database-url postgres://...`). Both sit behind one small async interface and take the same
// SQL text, written with kysely's `sql` tag so values are always parameters (docs/ARCHITECTURE.md,
// "The cloud database"). The schema is the list of migrations in ./migrations.ts.
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql, type RawBuilder, type Transaction } from 'kysely';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { MIGRATIONS } from './migrations';

export type DbDialect = 'sqlite' | 'postgres';

export interface CloudDb {
  readonly dialect: DbDialect;
  /** First row, or undefined. */
  one<T>(query: RawBuilder<T>): Promise<T | undefined>;
  all<T>(query: RawBuilder<T>): Promise<T[]>;
  /** Runs a statement; resolves to the number of rows it changed. */
  run(query: RawBuilder<unknown>): Promise<number>;
  /**
   * fn's queries in one transaction (serialised on SQLite); a tx() inside fn joins the outer one.
   * Inside fn use only the db it is given: on SQLite the outer one waits for the transaction to end.
   */
  tx<T>(fn: (db: CloudDb) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A PostgreSQL CloudDb also lends its pool, for LISTEN/NOTIFY and advisory-lock leases. */
export interface PgCloudDb extends CloudDb {
  readonly dialect: 'postgres';
  readonly pool: pg.Pool;
}

export const DEFAULT_ORG_ID = 'default';

export function cloudDbPath(dataDir: string): string {
  return join(dataDir, 'cloud.db');
}

/** The cloud's database target from its settings: --database-url, else cloud.db in the data dir. */
export function cloudDatabase(settings: { dataDir: string; databaseUrl?: string | undefined }): string {
  return settings.databaseUrl ?? cloudDbPath(settings.dataDir);
}

/** Whether a database target names a PostgreSQL server rather than a SQLite file. */
export function isPostgresUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//i.test(target);
}

/** A database target fit for a log line: the password of a URL replaced by `***`. */
export function maskDatabaseUrl(target: string): string {
  if (!isPostgresUrl(target)) return target;
  try {
    const url = new URL(target);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return 'postgres://***';
  }
}

export function isPgCloudDb(db: CloudDb): db is PgCloudDb {
  return db.dialect === 'postgres' && 'pool' in db;
}

/**
 * `postgres://...` (or postgresql://) opens PostgreSQL; anything else is a SQLite file path or
 * ':memory:'. Either is created and migrated; the default organisation always exists.
 */
export async function openCloudDb(target: string): Promise<CloudDb> {
  const db = isPostgresUrl(target) ? await openPostgres(target) : openSqlite(target);
  await db.run(sql`INSERT INTO orgs (id, name, created_at) VALUES (${DEFAULT_ORG_ID}, ${'Default organisation'}, ${Date.now()})
    ON CONFLICT (id) DO NOTHING`);
  return db;
}

// A kysely instance without a typed schema: every query is a `sql` text.
type AnyKysely = Kysely<Record<string, never>>;

class KyselyCloudDb implements CloudDb {
  constructor(
    readonly dialect: DbDialect,
    private readonly k: AnyKysely | Transaction<Record<string, never>>,
    private readonly inTx: boolean,
  ) {}

  async one<T>(query: RawBuilder<T>): Promise<T | undefined> {
    return (await query.execute(this.k)).rows[0];
  }

  async all<T>(query: RawBuilder<T>): Promise<T[]> {
    return (await query.execute(this.k)).rows;
  }

  async run(query: RawBuilder<unknown>): Promise<number> {
    const res = await query.execute(this.k);
    return Number(res.numAffectedRows ?? 0n);
  }

  tx<T>(fn: (db: CloudDb) => Promise<T>): Promise<T> {
    if (this.inTx) return fn(this);
    return (this.k as AnyKysely).transaction().execute((trx) => fn(this.child(trx)));
  }

  protected child(trx: Transaction<Record<string, never>>): CloudDb {
    return new KyselyCloudDb(this.dialect, trx, true);
  }

  async close(): Promise<void> {
    if (!this.inTx) await (this.k as AnyKysely).destroy();
  }
}

class PgKyselyCloudDb extends KyselyCloudDb implements PgCloudDb {
  declare readonly dialect: 'postgres';
  constructor(k: AnyKysely, readonly pool: pg.Pool) {
    super('postgres', k, false);
  }
}

function openSqlite(path: string): CloudDb {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new Database(path);
  try {
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
      throw new Error(`${path} has schema version ${version}, newer than this build knows (${MIGRATIONS.length})`);
    }
    for (let v = version; v < MIGRATIONS.length; v++) {
      db.transaction(() => {
        db.exec((MIGRATIONS[v] as { sqlite: string }).sqlite);
        db.pragma(`user_version = ${v + 1}`);
      })();
    }
  } catch (err) {
    db.close();
    throw err;
  }
  return new KyselyCloudDb('sqlite', new Kysely({ dialect: new SqliteDialect({ database: db }) }), false);
}

/**
 * cloud.db and its WAL and shared-memory files hold password hashes and claim hashes: owner only,
 * also in a data directory made before this rule or by a looser umask. SQLite creates -wal and -shm
 * with the main file's mode, but an existing file keeps its own, so every open sets them.
 */
function ownerOnly(path: string): void {
  for (const f of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
}

// PostgreSQL's OIDs of int8 (BIGINT, COUNT(*)) and numeric (SUM of integers): times are integer
// milliseconds far below 2^53, so both are JS numbers as on SQLite.
const INT8_OID = 20;
const NUMERIC_OID = 1700;
const numberTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

// Any constant shared by every lifo4 process migrating one database: two cloud processes starting
// together take turns, and the second finds the schema current.
const MIGRATION_LOCK = 0x6c69666f34; // 'lifo4'

async function openPostgres(url: string): Promise<CloudDb> {
  const pool = new pg.Pool({ connectionString: url, types: numberTypes, max: 10 });
  // An idle client's error (the server restarted) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  try {
    await migratePostgres(pool);
  } catch (err) {
    await pool.end();
    throw new Error(`PostgreSQL ${maskDatabaseUrl(url)}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return new PgKyselyCloudDb(new Kysely({ dialect: new PostgresDialect({ pool }) }), pool);
}

async function migratePostgres(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
      const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_version');
      let version = rows[0]?.version ?? 0;
      if (rows.length === 0) await client.query('INSERT INTO schema_version (version) VALUES (0)');
      if (version > MIGRATIONS.length) {
        throw new Error(`schema version ${version}, newer than this build knows (${MIGRATIONS.length})`);
      }
      for (; version < MIGRATIONS.length; version++) {
        await client.query('BEGIN');
        try {
          // No parameters: the simple query protocol, which takes several statements in one text.
          await client.query((MIGRATIONS[version] as { postgres: string }).postgres);
          await client.query(`UPDATE schema_version SET version = ${version + 1}`);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}

/** Rows per table: what the fuzz tests compare to prove that refused input wrote nothing. */
export async function rowCounts(db: CloudDb): Promise<Record<string, number>> {
  const tables =
    db.dialect === 'sqlite'
      ? await db.all<{ name: string }>(sql`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
      : await db.all<{ name: string }>(sql`SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'schema_version' ORDER BY tablename`);
  const counts: Record<string, number> = {};
  for (const { name } of tables) {
    const row = await db.one<{ n: number }>(sql`SELECT COUNT(*) AS n FROM ${sql.table(name)}`);
    counts[name] = row?.n ?? 0;
  }
  return counts;
}
