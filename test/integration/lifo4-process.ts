// Runs the real `lifo4` CLI as a child process, the way a user starts it, for the integration tests.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { request } from 'node:http';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export const CLI = join(__dirname, '..', '..', 'runtime', 'cli', 'main.js');

/** `n` distinct free ports on 127.0.0.1: listen on 0 (all at once, so they differ), then close. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class Lifo4Process {
  readonly proc: ChildProcess;
  private out = '';
  readonly exited: Promise<Exit>;
  exit: Exit | undefined;

  /** `script` another Node.js entry point than the CLI (e.g. a stock Node-RED's red.js); `env` replaces the environment when `replaceEnv`. */
  constructor(args: string[], env: NodeJS.ProcessEnv = {}, script = CLI, replaceEnv = false) {
    this.proc = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: replaceEnv ? env : { ...process.env, ...env } });
    this.proc.stdout?.on('data', (chunk: Buffer) => (this.out += chunk.toString()));
    this.proc.stderr?.on('data', (chunk: Buffer) => (this.out += chunk.toString()));
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  get output(): string {
    return this.out;
  }

  /** Resolves when the output matches; rejects with the output so far if the process exits or time runs out. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (pattern.test(this.out)) return done(resolve);
        if (this.exit) return done(() => reject(new Error(`exited (${JSON.stringify(this.exit)}) before ${pattern}:\n${this.out}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${this.out}`))), timeoutMs);
      const interval = setInterval(check, 100);
      const done = (f: () => void) => {
        clearTimeout(timer);
        clearInterval(interval);
        f();
      };
      check();
    });
  }

  /** Sends `signal` and waits for the exit, SIGKILLing the process if it is still alive after `timeoutMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15000): Promise<{ exit: Exit; inTime: boolean }> {
    if (this.exit) return { exit: this.exit, inTime: true };
    this.proc.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
    const exit = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (exit) return { exit, inTime: true };
    this.proc.kill('SIGKILL');
    return { exit: await this.exited, inTime: false };
  }
}

/** Runs the CLI to completion (for --help and bad flags). */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30000, env: { ...process.env, ...env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Runs the CLI to completion without blocking the event loop: while a test waits for a synchronous
 * child, a kept-alive connection to a server under test can expire unnoticed, and the next fetch
 * fails on it.
 */
export function runCliAsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

export async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { headers: { accept: 'application/json', ...headers } });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body };
}

/** The status of a GET with the Host header `host` (fetch would not let a test set Host); 101 for an accepted WebSocket upgrade. */
export function statusWithHost(url: string, host: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { ...headers, host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Polls `fn` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function eventually<T>(fn: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`${what} did not happen within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
