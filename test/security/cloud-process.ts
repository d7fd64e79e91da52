// A real `lifo4 cloud` process for the security tests, and an HTTP client that can choose its
// source address (127.0.0.1, 127.0.0.2, ... are all loopback on Linux), so limits keyed on the
// client's address and limits that must not be can both be shown.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'otplib';
import { freePorts, Lifo4Process, runCli } from '../integration/lifo4-process';

export interface Cloud {
  url: string;
  dataDir: string;
  proc: Lifo4Process;
  /** The first start's SUPER_ADMIN password, printed once. */
  initialPassword: string;
  stop(): Promise<void>;
}

export async function startCloud(env: NodeJS.ProcessEnv = {}): Promise<Cloud> {
  const dataDir = mkdtempSync(join(tmpdir(), 'lifo4-sec-'));
  const [port, mqttPort] = await freePorts(2);
  const proc = new Lifo4Process(['cloud', '--data-dir', dataDir, '--port', String(port), '--mqtt-port', String(mqttPort)], env);
  try {
    await proc.waitFor(/cloud ready/, 90_000);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  const initialPassword = /password:\s+(\S+)/.exec(proc.output)?.[1];
  assert.ok(initialPassword, 'the first start printed no password');
  return {
    url: `http://127.0.0.1:${port}`, dataDir, proc, initialPassword,
    async stop() {
      await proc.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
  text: string;
}

/** One HTTP request from `from` (a loopback address); JSON bodies unless `form`. */
export function http(url: string, o: { method?: string; token?: string; body?: unknown; form?: Record<string, string>; from?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { accept: 'application/json', ...o.headers };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  let payload: string | undefined;
  if (o.form) {
    payload = new URLSearchParams(o.form).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  } else if (o.body !== undefined) {
    payload = JSON.stringify(o.body);
    headers['content-type'] = 'application/json';
  }
  return new Promise((resolve, reject) => {
    const req = request(url, { method: o.method ?? (payload === undefined ? 'GET' : 'POST'), headers, localAddress: o.from ?? '127.0.0.1', agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let body: Record<string, unknown> = {};
        try {
          const parsed: unknown = JSON.parse(text);
          if (parsed && typeof parsed === 'object') body = parsed as Record<string, unknown>;
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export const api = (c: Cloud, path: string, o: Parameters<typeof http>[1] = {}) => http(`${c.url}/api/v1${path}`, o);

/** A TOTP code `offsetSteps` 30 s steps from now (the server accepts -1, 0 and +1, each step once). */
export function totp(secret: string, offsetSteps = 0): Promise<string> {
  return generate({ secret, epoch: Math.floor(Date.now() / 1000) + offsetSteps * 30 });
}

/** Waits until at least 6 s remain in the current TOTP step. */
export async function awayFromStepEdge(): Promise<void> {
  const left = 30_000 - (Date.now() % 30_000);
  if (left < 6000) await new Promise((r) => setTimeout(r, left + 100));
}

/** `lifo4 user ...` against the cloud's data dir: another process writing cloud.db. */
export function userCli(c: Cloud, args: string[]): string {
  const r = runCli(['user', ...args, '--data-dir', c.dataDir]);
  assert.equal(r.code, 0, `lifo4 user ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

export const PASSWORD = 'correct horse battery staple';

/** A user created by the CLI; `role` ADMIN and SUPER_ADMIN are enrolled in 2FA through the API (code of step -1 used). */
export async function addUser(c: Cloud, email: string, role: string): Promise<{ accessToken: string; secret?: string; id: string }> {
  userCli(c, ['add', '--email', email, '--role', role, '--password', PASSWORD]);
  return signIn(c, email, PASSWORD);
}

/** API login, enrolling 2FA when the role demands it. */
export async function signIn(c: Cloud, email: string, password: string): Promise<{ accessToken: string; secret?: string; id: string }> {
  const first = await api(c, '/auth/login', { body: { email, password } });
  if (first.status === 200) return { accessToken: first.body.accessToken as string, id: (first.body.user as { id: string }).id };
  assert.equal(first.body.error, 'enrollment_required', first.text);
  const enrolToken = (first.body.details as { enrollmentToken: string }).enrollmentToken;
  const enrol = await api(c, '/auth/2fa/enroll', { token: enrolToken, body: {} });
  assert.equal(enrol.status, 200, enrol.text);
  const secret = enrol.body.secret as string;
  await awayFromStepEdge();
  const v = await api(c, '/auth/2fa/verify', { token: enrolToken, body: { code: await totp(secret, -1) } });
  assert.equal(v.status, 200, v.text);
  return { accessToken: v.body.accessToken as string, secret, id: (v.body.user as { id: string }).id };
}

/** Node-RED's editor sign-in (what its login form posts): the token, or the refusal. */
export async function editorSignIn(c: Cloud, username: string, password: string, from = '127.0.0.1'): Promise<{ status: number; token?: string }> {
  const r = await http(`${c.url}/editor/auth/token`, { form: { client_id: 'node-red-editor', grant_type: 'password', scope: '*', username, password }, from });
  return { status: r.status, ...(typeof r.body.access_token === 'string' ? { token: r.body.access_token } : {}) };
}
