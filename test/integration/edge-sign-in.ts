// Signing in to an edge the way an integrator does: an edge account made with
// `lifo4 user add --edge`, then POST /api/v1/auth/login for a bearer token that the edge's editor
// and /nodes endpoints want. One helper for every test that talks to an edge.
import assert from 'node:assert/strict';
import type { Role } from '../../domain/roles';
import { runCliAsync } from './lifo4-process';

export const EDGE_TEST_PASSWORD = 'edge-test-password-1234';

/** Creates an edge account in `dataDir` (also while the edge runs); roles up to TECHNICIAN need no 2FA. */
export async function addEdgeUser(dataDir: string, email: string, role: Role, password = EDGE_TEST_PASSWORD): Promise<void> {
  const r = await runCliAsync(['user', 'add', '--edge', '--email', email, '--role', role, '--password', password, '--data-dir', dataDir]);
  assert.equal(r.code, 0, `lifo4 user add --edge: ${r.stderr}${r.stdout}`);
}

/** The access token of an edge account: POST <edgeUrl>/api/v1/auth/login. */
export async function edgeSignIn(edgeUrl: string, email: string, password = EDGE_TEST_PASSWORD): Promise<string> {
  const res = await fetch(`${edgeUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
  const body = (await res.json()) as { accessToken?: string; message?: string };
  assert.equal(res.status, 200, `edge login of ${email}: ${res.status} ${body.message ?? ''}`);
  return body.accessToken as string;
}

/** An edge account of `role` made and signed in: its bearer token. */
export async function edgeToken(edgeUrl: string, dataDir: string, role: Role = 'TECHNICIAN', email = `${role.toLowerCase()}@edge.test`): Promise<string> {
  await addEdgeUser(dataDir, email, role);
  return edgeSignIn(edgeUrl, email);
}

/** A Node-RED editor token of an edge account (the editor's own login, /editor/auth/token). */
export async function edgeEditorToken(edgeUrl: string, email: string, scope: '*' | 'read' = 'read', password = EDGE_TEST_PASSWORD): Promise<string> {
  const res = await fetch(`${edgeUrl}/editor/auth/token`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: 'node-red-editor', grant_type: 'password', scope, username: email, password }),
  });
  assert.equal(res.status, 200, `edge editor login of ${email}: ${res.status}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** POST <edgeUrl>/nodes/command as JSON with the token. */
export async function edgeCommand(edgeUrl: string, token: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${edgeUrl}/nodes/command`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(token) }, body: JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed };
}
