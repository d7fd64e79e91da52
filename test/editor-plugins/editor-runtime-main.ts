// A child process running Node-RED as the edge does (runtime/app/runtime.ts nodeRedSettings:
// telemetry, update checks and tours off), loading this package's nodes and editor plugins, with
// an empty flow. Usage: node editor-runtime-main.js <work dir> [auth]; prints `READY <url>` when
// listening. With `auth`, the editor needs a login: EDITOR_USERS (admin: every permission; viewer:
// read only).
// The package is presented through <work dir>/module (package.json + a link to dist) so the
// plugins load even before package.json lists them under "node-red".plugins.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import express from 'express';
import RED from 'node-red';
import { loadSettings } from '../../settings';
import { nodeRedSettings } from '../../runtime/app/runtime';
import { packageRoot } from '../../io/package-root';
import { securityHeaders } from '../../runtime/app/http-security';

export const EDITOR_PLUGINS: Record<string, string> = {
  'lifo4-flow-check': 'dist/editor-plugins/flow-check/flow-check.js',
  'lifo4-site-sidebar': 'dist/editor-plugins/site-sidebar/site-sidebar.js',
  'lifo4-profile-editor': 'dist/editor-plugins/profile-editor/profile-editor.js',
};
/** Nodes under test that package.json may not list yet. */
export const EDITOR_NODES: Record<string, string> = { 'site-status': 'dist/nodes/site-status/site-status.js' };
export const EDITOR_USERS = [
  { username: 'admin', password: 'admin-editor-test', permissions: '*' },
  { username: 'viewer', password: 'viewer-editor-test', permissions: 'read' },
] as const;

async function main(): Promise<void> {
  const work = process.argv[2];
  if (!work) throw new Error('usage: editor-runtime-main <work dir>');
  const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string>; plugins?: Record<string, string> } };
  const moduleDir = join(work, 'module');
  mkdirSync(moduleDir, { recursive: true });
  symlinkSync(join(packageRoot, 'dist'), join(moduleDir, 'dist'));
  writeFileSync(join(moduleDir, 'package.json'), JSON.stringify({
    name: 'lifo4-ems-editor-test', version: '0.0.0',
    'node-red': { nodes: { ...EDITOR_NODES, ...pkg['node-red'].nodes }, plugins: { ...EDITOR_PLUGINS, ...(pkg['node-red'].plugins ?? {}) } },
  }));
  const userDir = join(work, 'edge');
  mkdirSync(userDir, { recursive: true });
  const flowFile = join(userDir, 'flows.json');
  writeFileSync(flowFile, '[]');
  const settings = loadSettings('edge', { flags: { dataDir: work, edgePort: '0', host: '127.0.0.1', logLevel: 'warn' } as never });
  const app = express();
  // The headers and the editor's CSP the runtimes send (runtime/app/runtime.ts): the editor and the
  // plugins must work under them.
  app.use(securityHeaders({ tls: false, editorRoot: '/editor' }));
  const server = createServer(app);
  const adminAuth = process.argv[3] === 'auth'
    ? { type: 'credentials', users: EDITOR_USERS.map((u) => ({ username: u.username, password: bcrypt.hashSync(u.password, 4), permissions: u.permissions })) }
    : undefined;
  RED.init(server, { ...nodeRedSettings(settings, userDir, flowFile, 'editor-test-secret'), nodesDir: [moduleDir], ...(adminAuth && { adminAuth }) } as never);
  app.use('/editor', RED.httpAdmin);
  app.use('/nodes', RED.httpNode);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  await RED.start();
  console.log(`READY http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  process.on('SIGTERM', () => {
    void RED.stop().finally(() => { server.close(); process.exit(0); });
    server.closeAllConnections();
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
