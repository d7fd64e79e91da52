// A real PostgreSQL 15 for tests: a private cluster (initdb) in a temp dir, listening on 127.0.0.1
// on a free port with no Unix socket, password authentication, fsync off (a test's data need not
// survive a power cut). createDatabase() gives each caller a fresh, empty database and its URL.
// PostgreSQL refuses to run as root: as root the cluster's files belong to the `postgres` user and
// its processes run as that user.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { LOCALHOST, freePort, isExecutable, makeTempDir, waitUntil } from './service';

const BIN_DIRS = ['/usr/lib/postgresql/15/bin', '/usr/local/bin', '/usr/bin'];

function binary(name: string): string | null {
  return BIN_DIRS.map((d) => join(d, name)).find(isExecutable) ?? null;
}

export function postgresAvailable(): boolean {
  return binary('initdb') !== null && binary('postgres') !== null && (process.getuid?.() !== 0 || postgresUser() !== null);
}

/** The uid and gid to run as: the `postgres` user when this process is root, else this process's. */
function postgresUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : null;
  } catch {
    return null;
  }
}

export interface RunningPostgres {
  host: string;
  port: number;
  /** The server's URL with its superuser and password, ending in `/postgres`. */
  adminUrl: string;
  dir: string;
  log(): string;
  /** A fresh empty database; resolves to its URL (`postgres://user:password@127.0.0.1:port/name`). */
  createDatabase(): Promise<string>;
  /** Stops the server (fast shutdown: connected sessions are ended) and removes its directory. */
  stop(): Promise<void>;
}

const USER = 'lifo4';

export async function startPostgres(): Promise<RunningPostgres> {
  const initdb = binary('initdb');
  const postgres = binary('postgres');
  if (!initdb || !postgres) throw new Error('PostgreSQL binaries (initdb, postgres) not found');
  const as = postgresUser();
  const tmp = makeTempDir('postgres');
  const own = (path: string): void => {
    if (as) chownSync(path, as.uid, as.gid);
  };
  own(tmp.dir);
  const data = join(tmp.dir, 'data');
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const pwfile = join(tmp.dir, 'pwfile');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  own(pwfile);
  const ids = as ? { uid: as.uid, gid: as.gid } : {};
  execFileSync(initdb, ['-D', data, '-U', USER, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--no-sync', '--locale=C'], {
    cwd: tmp.dir,
    stdio: 'pipe',
    ...ids,
  });

  let output = '';
  let exited: string | null = null;
  let child: ChildProcess | null = null;
  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    output = '';
    exited = null;
    const c = spawn(
      postgres,
      ['-D', data, '-c', `listen_addresses=${LOCALHOST}`, '-c', `port=${port}`, '-c', 'unix_socket_directories=', '-c', 'fsync=off',
        '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200', '-c', 'shared_buffers=16MB'],
      { cwd: tmp.dir, stdio: ['ignore', 'pipe', 'pipe'], ...ids },
    );
    child = c;
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-65_536);
    };
    c.stdout?.on('data', keep);
    c.stderr?.on('data', keep);
    c.once('exit', (code, signal) => {
      exited = `postgres exited (code ${code}, signal ${signal})`;
    });
    try {
      await waitUntil(`postgres on ${port}`, () => connects(adminUrl(port, password)), {
        timeoutMs: 60_000,
        failed: () => exited,
        describe: () => output,
      });
      break;
    } catch (err) {
      if (!exited) c.kill('SIGKILL');
      if (attempt >= 3 || !/already in use/i.test(output)) {
        tmp.remove();
        throw err;
      }
    }
  }

  let n = 0;
  const running = child;
  return {
    host: LOCALHOST,
    port,
    adminUrl: adminUrl(port, password),
    dir: tmp.dir,
    log: () => output,
    async createDatabase() {
      const name = `t${process.pid}_${++n}`;
      const client = new pg.Client({ connectionString: adminUrl(port, password) });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://${USER}:${password}@${LOCALHOST}:${port}/${name}`;
    },
    async stop() {
      if (!exited) {
        const gone = new Promise<void>((resolve) => running.once('exit', () => resolve()));
        running.kill('SIGINT');
        const timer = setTimeout(() => running.kill('SIGKILL'), 10_000);
        await gone;
        clearTimeout(timer);
      }
      tmp.remove();
    },
  };
}

function adminUrl(port: number, password: string): string {
  return `postgres://${USER}:${password}@${LOCALHOST}:${port}/postgres`;
}

async function connects(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
