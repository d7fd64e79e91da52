// What the e2e suite drives: `lifo4 start` (the default: cloud with API and dashboard, edge, and
// simulator as child processes on free ports, a temp data dir), or, with LIFO4_E2E_TARGET=harness,
// the in-process stand-in of harness.ts (for working on the dashboard before the runtime serves it).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { cloudDbPath, openCloudDb } from '../../runtime/cloud-db/cloud-db';
import { UserStore } from '../../runtime/api/users';
import { HARNESS_PASSWORD, startHarness } from './harness';

const run = promisify(execFile);
const CLI = resolve(__dirname, '../../runtime/cli/main.js');

export interface Target {
  /** The dashboard and API origin, e.g. http://127.0.0.1:41234. */
  url: string;
  /** The simulator's control API. */
  controlUrl: string;
  siteId: string;
  /** The edge's editor origin and the data directory, when the target is `lifo4 start` run here. */
  edgeUrl: string | null;
  dataDir: string | null;
  /** Creates a user (the CLI's `lifo4 user add` for the real runtime). */
  addUser(email: string, role: string, password: string): Promise<void>;
  /** What the processes printed, for a failure message. */
  log(): string;
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = net.createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => ok(port));
    });
  });
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>, log: () => string): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    try {
      const v = await probe();
      if (v !== null) return v;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what} (${last})\n--- process output ---\n${log().slice(-4000)}`);
}

async function startRuntime(extraArgs: readonly string[]): Promise<Target> {
  const dataDir = mkdtempSync(join(tmpdir(), 'lifo4-e2e-'));
  const [port, edgePort, modbusPort, controlPort, mqttPort] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const args = [CLI, 'start', '--port', String(port), '--edge-port', String(edgePort), '--modbus-port', String(modbusPort), '--control-port', String(controlPort), '--mqtt-port', String(mqttPort), '--data-dir', dataDir, ...extraArgs];
  let output = '';
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'production' } });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  const controlUrl = `http://127.0.0.1:${controlPort}`;
  const log = () => output;
  const target: Target = {
    url,
    controlUrl,
    siteId: 'site-1',
    edgeUrl: `http://127.0.0.1:${edgePort}`,
    dataDir,
    async addUser(email, role, password) {
      await run(process.execPath, [CLI, 'user', 'add', '--email', email, '--role', role, '--password', password, '--data-dir', dataDir]);
    },
    log,
    async close() {
      if (child.exitCode === null) {
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor('the dashboard at /', 90_000, async () => {
      const r = await fetch(`${url}/`);
      const text = await r.text();
      return r.ok && text.includes('<div id="app">') ? true : null;
    }, log);
    await waitFor('the simulator control API', 30_000, async () => ((await fetch(`${controlUrl}/health`)).ok ? true : null), log);
  } catch (err) {
    await target.close();
    throw err;
  }
  return target;
}

async function startHarnessTarget(): Promise<Target> {
  const h = await startHarness();
  return {
    url: h.url,
    controlUrl: h.controlUrl,
    siteId: 'site-1',
    edgeUrl: null,
    dataDir: null,
    async addUser(email, role, password) {
      const db = await openCloudDb(cloudDbPath(h.dataDir));
      try {
        await new UserStore(db, 4).create({ email, password, role: role as 'VIEWER' });
      } finally {
        await db.close();
      }
    },
    log: () => `(harness; users share the password ${HARNESS_PASSWORD.length} chars)`,
    async close() {
      await h.close();
      rmSync(h.dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * An already running system: LIFO4_E2E_URL (dashboard and API origin), LIFO4_E2E_CONTROL_URL (the
 * simulator's control API) and LIFO4_E2E_DATA_DIR (for `lifo4 user add`). Nothing is stopped.
 */
function externalTarget(): Promise<Target> {
  const url = process.env.LIFO4_E2E_URL;
  const controlUrl = process.env.LIFO4_E2E_CONTROL_URL;
  const dataDir = process.env.LIFO4_E2E_DATA_DIR;
  if (!url || !controlUrl || !dataDir) throw new Error('LIFO4_E2E_TARGET=external needs LIFO4_E2E_URL, LIFO4_E2E_CONTROL_URL and LIFO4_E2E_DATA_DIR');
  return Promise.resolve({
    url, controlUrl, siteId: process.env.LIFO4_E2E_SITE ?? 'site-1', edgeUrl: null, dataDir,
    async addUser(email, role, password) {
      await run(process.execPath, [CLI, 'user', 'add', '--email', email, '--role', role, '--password', password, '--data-dir', dataDir]);
    },
    log: () => '(external target)',
    close: () => Promise.resolve(),
  });
}

/** `args` are extra flags of `lifo4 start` (ignored by the harness and external targets). */
export function startTarget(args: readonly string[] = []): Promise<Target> {
  const which = process.env.LIFO4_E2E_TARGET ?? 'runtime';
  if (which === 'harness') return startHarnessTarget();
  if (which === 'external') return externalTarget();
  return startRuntime(args);
}
