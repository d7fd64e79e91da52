// What every service starter shares: free ports on 127.0.0.1, temp dirs, waiting for a port to
// accept connections, and the policy for a service binary that is not installed.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const LOCALHOST = '127.0.0.1';

/** True when `path` exists and is executable by this process. */
export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The policy for a test that needs a real service: when it is not installed, CI (CI=true) fails
 * the test, because CI installs every service and a silent skip there would hide a broken setup;
 * a developer's machine skips it with a message saying what to install. Call it from a hook or a
 * test with mocha's `this` (`function () {}`, not an arrow function); from a `before` hook the skip
 * covers the whole describe block.
 */
export function requireService(ctx: Mocha.Context, name: string, available: boolean, hint = ''): void {
  if (available) return;
  const message = `${name} is not installed${hint ? ` (${hint})` : ''}`;
  if (process.env['CI'] === 'true') throw new Error(`${message}: CI must provide it`);
  console.warn(`      skipped: ${message}`);
  ctx.skip();
}

/** A port that was free a moment ago: for services (mosquitto, influxd) that cannot listen on port 0 and report it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, LOCALHOST, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

/** A fresh directory under the OS temp dir, and its removal. */
export function makeTempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `lifo4-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Whether something accepts a TCP connection on host:port right now. */
export function accepts(port: number, host = LOCALHOST): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `ready` until it is true, failing with `describe()` (e.g. the service's log) after
 * `timeoutMs` or as soon as `failed()` says the process is gone.
 */
export async function waitUntil(
  what: string,
  ready: () => Promise<boolean>,
  opts: { timeoutMs?: number; failed?: () => string | null; describe?: () => string } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    const failure = opts.failed?.();
    if (failure) throw new Error(`${what}: ${failure}\n${opts.describe?.() ?? ''}`);
    if (await ready()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${opts.timeoutMs ?? 30_000} ms\n${opts.describe?.() ?? ''}`);
    await sleep(50);
  }
}

/** A child process of a service, with its output kept (the last 64 KiB) for error messages. */
export class ServiceProcess {
  private output = '';
  private exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly exited: Promise<void>;
  readonly child: ChildProcess;

  constructor(readonly name: string, command: string, args: string[], cwd: string) {
    this.child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString('utf8')).slice(-65_536);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve();
      });
      this.child.once('error', (err) => {
        this.output += `\nspawn ${command}: ${err.message}`;
        this.exit = { code: null, signal: null };
        resolve();
      });
    });
  }

  get log(): string {
    return this.output;
  }

  /** Why the process is gone, or null while it runs. */
  failure(): string | null {
    return this.exit ? `${this.name} exited (code ${this.exit.code}, signal ${this.exit.signal})` : null;
  }

  /** SIGTERM, then SIGKILL when it has not exited after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exit) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (!this.exit) this.child.kill('SIGKILL');
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL at once: a crash, nothing written on the way out. */
  async kill(): Promise<void> {
    if (this.exit) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}
