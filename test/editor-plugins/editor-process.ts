// The child Node-RED editor runtime (editor-runtime-main.ts) for the Chromium tests: start, stop,
// log in through Node-RED's own token endpoint, deploy, and wait for the editor in a page.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';

/** As in editor-runtime-main.ts (which cannot be imported: it starts a runtime when loaded). */
export const USERS = { admin: 'admin-editor-test', viewer: 'viewer-editor-test' } as const;

export interface EditorProcess { url: string; child: ChildProcess; dir: string }

/** `env`: variables the runtime's flows see besides this process's (e.g. EMS_MODBUS_PORT). */
export function startEditor(opts: { auth?: boolean; env?: Record<string, string> } = {}): Promise<EditorProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'lifo4-editor-'));
  const args = [join(__dirname, 'editor-runtime-main.js'), dir, ...(opts.auth ? ['auth'] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (b: Buffer): void => {
      out += b.toString();
      const m = /READY (\S+)/.exec(out);
      if (m?.[1]) { child.stdout?.off('data', onData); resolve({ url: m[1], child, dir }); }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (b: Buffer) => { out += b.toString(); });
    child.once('exit', (code) => reject(new Error(`editor runtime exited ${String(code)}: ${out}`)));
  });
}

export async function stopEditor(e: EditorProcess): Promise<void> {
  if (e.child.exitCode === null) {
    const exited = new Promise((r) => e.child.once('exit', r));
    e.child.kill('SIGTERM');
    await exited;
  }
  rmSync(e.dir, { recursive: true, force: true });
}

/** An admin API access token for a user of editor-runtime-main's `auth` mode. */
export async function login(url: string, user: keyof typeof USERS): Promise<string> {
  const res = await fetch(`${url}/editor/auth/token`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: 'node-red-editor', grant_type: 'password', scope: user === 'admin' ? '*' : 'read', username: user, password: USERS[user] }),
  });
  assert.equal(res.status, 200, `login ${user}: ${res.status}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

export function authHeaders(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

export async function deploy(url: string, flow: unknown[], token?: string): Promise<void> {
  const res = await fetch(`${url}/editor/flows`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full', ...authHeaders(token) }, body: JSON.stringify(flow),
  });
  assert.ok(res.ok, `deploy: ${res.status} ${await res.text()}`);
}

/** Opens the editor (logged in with `token` when given) and waits until the palette has loaded. */
export async function openEditor(page: Page, url: string, token?: string): Promise<void> {
  // Node-RED's editor stores an access_token given in the query and reloads without it.
  await page.goto(`${url}/editor/${token ? `?access_token=${token}` : ''}`);
  await waitForEditor(page);
}

export async function waitForEditor(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const w = window as unknown as { RED?: { nodes?: { getType(t: string): unknown; version(): string | null } } };
    // version() is set once the deployed flows are loaded: an import before that would be undone.
    return Boolean(w.RED?.nodes?.getType('pcs-setpoint') && w.RED.nodes.version() && document.querySelector('#red-ui-header-button-deploy'));
  }, undefined, { timeout: 60_000 });
}
