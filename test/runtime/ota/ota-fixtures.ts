// Test fixtures of the OTA tests: real bundles of a small runtime (runtime.js below) whose flows say
// how it behaves, a real HTTP server serving bundle folders with Range (express.static), temp dirs.
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { buildBundle } from '../../../runtime/ota/bundle';
import { type Manifest } from '../../../runtime/ota/manifest';
import type { OtaNotice } from '../../../runtime/ota/messages';

/**
 * The runtime the agent manages in these tests: a real child process that reads its release's
 * flows.json and behaves as its 'ota-test-behaviour' node says: healthy (reports healthy over the
 * IPC channel), unhealthy (reports MQTT disconnected), crash (exits), hang (never reports),
 * config-error (exits at once with 2, as `lifo4 edge` does on a bad setting).
 */
export const TEST_RUNTIME = `'use strict';
const fs = require('fs');
const path = require('path');
const flows = JSON.parse(fs.readFileSync(path.join(__dirname, 'flows.json'), 'utf8'));
const b = (flows.find((n) => n.type === 'ota-test-behaviour') || {}).behaviour || 'healthy';
fs.appendFileSync(path.join(process.env.LIFO4_DATA_DIR, 'starts.log'), process.env.LIFO4_RELEASE + ' ' + process.pid + '\\n');
process.on('SIGTERM', () => process.exit(0));
if (b === 'config-error') process.exit(2);
else if (b === 'crash') setTimeout(() => process.exit(3), 100);
else if (b === 'hang') setInterval(() => {}, 1000);
else setInterval(() => {
  if (process.send && process.connected) process.send({ type: 'lifo4-health', mqttConnected: b !== 'unhealthy', flowsStarted: true, pollAgeMs: 40 });
}, 100);
`;

export type Behaviour = 'healthy' | 'unhealthy' | 'crash' | 'hang' | 'config-error';

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `lifo4-ota-${prefix}-`));
}

export function ed25519(): { privateKey: KeyObject; publicKey: KeyObject; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** A flow export with the behaviour node and a marker of the version. */
export function flowsFor(behaviour: Behaviour, version: string): unknown[] {
  return [
    { id: 'tab1', type: 'tab', label: `release ${version}` },
    { id: 'b1', type: 'ota-test-behaviour', z: 'tab1', behaviour },
  ];
}

/** Source files of a test release: runtime.js and a blob big enough for a download to be cut in half. */
export class ReleaseSource {
  readonly dir: string;
  constructor(root: string, blobBytes = 384 * 1024) {
    this.dir = join(root, 'source');
    mkdirSync(join(this.dir, 'lib'), { recursive: true });
    writeFileSync(join(this.dir, 'runtime.js'), TEST_RUNTIME);
    writeFileSync(join(this.dir, 'lib', 'blob.bin'), randomBytes(blobBytes));
  }
}

export async function buildTestBundle(o: {
  root: string; source: ReleaseSource; key: KeyObject; version: string; sequence: number; behaviour?: Behaviour; outDir?: string;
}): Promise<{ dir: string; manifest: Manifest }> {
  const flowsFile = join(o.root, `flows-${o.version}.json`);
  writeFileSync(flowsFile, JSON.stringify(flowsFor(o.behaviour ?? 'healthy', o.version)));
  return buildBundle({
    flowsFile, outDir: o.outDir ?? join(o.root, 'bundles', o.version), signingKey: o.key, version: o.version, sequence: o.sequence,
    include: [join(o.source.dir, 'runtime.js'), join(o.source.dir, 'lib')], entry: ['runtime.js'],
  });
}

/** Serves <root>/bundles/<name>/<file> with Range support, as the cloud does. */
export class BundleServer {
  private server: Server | null = null;
  private sockets = new Set<import('node:net').Socket>();
  base = '';
  /** Range headers of the requests served (a resumed download asks for the rest). */
  readonly ranges: string[] = [];
  constructor(readonly root: string) {}

  async start(): Promise<string> {
    const app = express();
    app.use((req, _res, next) => {
      if (typeof req.headers.range === 'string') this.ranges.push(req.headers.range);
      next();
    });
    app.use('/bundles', express.static(join(this.root, 'bundles'), { acceptRanges: true, etag: false, lastModified: false }));
    await new Promise<void>((resolve) => {
      this.server = app.listen(0, '127.0.0.1', () => resolve());
    });
    this.server!.on('connection', (s) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    this.base = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/bundles`;
    return this.base;
  }

  notice(siteId: string, deploymentId: string, m: Manifest, name = m.version): OtaNotice {
    return { v: 1, deploymentId, siteId, version: m.version, sequence: m.sequence, url: `${this.base}/${name}`, issuedAt: Date.now() };
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
  }
}

/** What `current` points at, checked to be complete: its flows.json and manifest exist. */
export function currentRelease(agentDir: string): string | null {
  let target: string;
  try {
    target = readlinkSync(join(agentDir, 'current'));
  } catch {
    return null;
  }
  const dir = join(agentDir, target);
  if (!existsSync(join(dir, 'flows.json')) || !existsSync(join(dir, '.lifo4-manifest.json')) || !existsSync(join(dir, 'runtime.js'))) {
    throw new Error(`current -> ${target} is not a complete release`);
  }
  return target.replace(/^releases\//, '');
}

export function readState(agentDir: string): { committed: { version: string } | null; trial: { version: string; attempts: number } | null; outcomes: Record<string, { phase: string; reason?: string }> } {
  return JSON.parse(readFileSync(join(agentDir, 'state.json'), 'utf8')) as ReturnType<typeof readState>;
}

/** Kills a runtime an agent left behind (its pid file), so no test leaves a process. */
export function killLeftRuntime(agentDir: string): void {
  const f = join(agentDir, 'runtime.pid');
  if (!existsSync(f)) return;
  const pid = Number(readFileSync(f, 'utf8').split(' ')[0]);
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
