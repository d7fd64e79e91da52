// OTA benchmark: several real edge agents (`lifo4 agent` processes, each supervising a
// small runtime) on this machine are provisioned from claim tokens over the real provisioning
// route and an mTLS broker, then one canary deployment runs through all stages (5/25/50/100 %)
// with short stage times. Prints one JSON line: edges, committed, rolled_back, update_p50_s,
// update_p99_s (notice to committed, the health window excluded), provision_s (claim to running,
// p50, the first bundle's health window included: it is part of "running").
//   npm run bench -- ota [--edges 10] [--health-s 2]
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import { connectAsync } from 'mqtt';
import { openCloudDb } from '../runtime/cloud-db/cloud-db';
import { startBroker } from '../runtime/broker/broker';
import { OtaStatusSchema, OTA_STATUS_FILTER, type OtaStatus } from '../runtime/ota/messages';
import { mqttOtaTransport } from '../runtime/ota/mqtt-transport';
import { OtaCloud } from '../runtime/ota/ota-cloud';
import { issueCertificate, loadOrCreateFleetCa, ProvisioningError } from '../runtime/ota/provisioning';
import { makeCsr } from '../runtime/ota/provisioning-client';
import { loadOrCreateSigningKey, otaDir } from '../runtime/ota/signing-key';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { Lifo4Process, freePorts } from '../test/integration/lifo4-process';
import { buildTestBundle, readState, ReleaseSource, removeDir, tempDir, killLeftRuntime } from '../test/runtime/ota/ota-fixtures';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}

async function until<T>(f: () => T | undefined | Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main(): Promise<void> {
  const edges = Math.round(arg('edges', 10));
  const healthS = arg('health-s', 2);
  const root = tempDir('bench');
  const dataDir = join(root, 'cloud');
  mkdirSync(dataDir, { recursive: true });
  const agents: Lifo4Process[] = [];
  const dirs: string[] = [];
  const db = await openCloudDb(join(dataDir, 'cloud.db'));
  const [mqttPort] = await freePorts(1);
  const ca = await loadOrCreateFleetCa(dataDir);
  const certFor = async (cn: string, usage: 'client' | 'server') => {
    const { csrPem, keyPem } = await makeCsr(cn);
    const cert = await issueCertificate(ca, new x509.Pkcs10CertificateRequest(csrPem).publicKey, cn, usage, 2, usage === 'server' ? ['127.0.0.1'] : []);
    return { cert: cert.toString('pem'), key: keyPem };
  };
  const broker = await startBroker({ port: mqttPort!, credentials: new Map(), tls: { ...(await certFor('127.0.0.1', 'server')), ca: ca.certPem, requireCertificate: true, identityAsUsername: true } });
  const client = await connectAsync(broker.url, { ca: ca.certPem, ...(await certFor('cloud', 'client')), clientId: 'bench-ota-cloud', reconnectPeriod: 200 });
  const reports: (OtaStatus & { at: number })[] = [];
  client.on('message', (_t, p) => {
    const r = OtaStatusSchema.safeParse(JSON.parse(p.toString('utf8')));
    if (r.success) reports.push({ ...r.data, at: Date.now() });
  });
  await client.subscribeAsync(OTA_STATUS_FILTER, { qos: 1 });

  const ota = await OtaCloud.create({ dataDir, db, transport: mqttOtaTransport(client), publicUrl: 'http://127.0.0.1:0/api/v1', mqttUrl: broker.url, tickMs: 200, log: () => undefined });
  const app = express();
  app.use(express.json());
  app.use('/api/v1', ota.fileRouter);
  app.post('/api/v1/ota/provision', (req, res) => {
    ota.provisioning.provision(req.body).then(
      (r) => res.json({ ...r, serial: undefined }),
      (err: unknown) => res.status(err instanceof ProvisioningError ? err.status : 500).json({ error: err instanceof ProvisioningError ? err.code : 'internal', message: String(err) }),
    );
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
  ota.publicUrl = api;

  try {
    const source = new ReleaseSource(root);
    const key = loadOrCreateSigningKey(dataDir).privateKey;
    await buildTestBundle({ root, source, key, version: '1.0.0', sequence: 1, outDir: join(otaDir(dataDir), 'bundles', '1.0.0') });

    // Provisioning: claim to running (first bundle committed).
    const siteIds = Array.from({ length: edges }, (_, i) => `bench-${String(i + 1).padStart(3, '0')}`);
    await ota.provisioning.allowSerials(siteIds.map((s) => `SN-${s}`));
    const provisionS: number[] = [];
    await Promise.all(
      siteIds.map(async (siteId, i) => {
        const claim = await ota.provisioning.createClaim(siteId, 3_600_000, 'bench');
        const dir = join(root, 'edges', siteId);
        dirs.push(dir);
        const t0 = Date.now();
        // One machine, plain http: the lab flag, with the fleet's key and CA the devices would ship with.
        const trust = ['--insecure-provisioning', '--trust-key', join(otaDir(dataDir), 'fleet-signing.pub'), '--ca', join(otaDir(dataDir), 'fleet-ca.crt')];
        const p = new Lifo4Process(['agent', '--dir', dir, '--provision-url', api, ...trust, '--claim-token', claim.token, '--serial', `SN-${siteId}`, '--health-window-s', String(healthS)], { LIFO4_OTA_KILL_AT: '' });
        agents[i] = p;
        await until(() => { try { return readState(dir).committed?.version === '1.0.0' ? true : undefined; } catch { return undefined; } }, 300_000, `${siteId} provisioned`);
        provisionS.push((Date.now() - t0) / 1000);
      }),
    );

    // One canary roll-out through all stages.
    await buildTestBundle({ root: join(root, 'v2'), source: new ReleaseSource(join(root, 'v2')), key, version: '2.0.0', sequence: 2, outDir: join(otaDir(dataDir), 'bundles', '2.0.0') });
    const d = await ota.rollouts.create({ version: '2.0.0', sequence: 2, url: ota.bundleUrl('2.0.0'), siteIds, config: { stageMs: 1000, minSites: 1 }, by: 'bench' });
    const done = await until(async () => {
      const v = (await ota.rollouts.get(d.id))!;
      return v.state === 'completed' || v.state === 'paused' || v.state === 'aborted' ? v : undefined;
    }, 600_000, 'roll-out finished');
    const targets = await ota.rollouts.targets(d.id);
    const updateS = targets
      .map((t) => {
        const committed = reports.find((r) => r.siteId === t.siteId && r.deploymentId === d.id && r.phase === 'committed');
        return committed && t.notifiedAt !== null ? (committed.at - t.notifiedAt) / 1000 - healthS : null;
      })
      .filter((x): x is number => x !== null);
    console.log(JSON.stringify({
      edges,
      committed: targets.filter((t) => t.phase === 'committed').length,
      rolled_back: targets.filter((t) => t.phase === 'rolled-back').length,
      state: done.state,
      update_p50_s: Number(quantile(updateS, 0.5).toFixed(2)),
      update_p99_s: Number(quantile(updateS, 0.99).toFixed(2)),
      provision_s: Number(quantile(provisionS, 0.5).toFixed(2)),
      provision_max_s: Number(Math.max(...provisionS).toFixed(2)),
      health_window_s: healthS,
    }));
  } finally {
    await Promise.all(agents.filter(Boolean).map((a) => a.stop('SIGTERM', 15_000)));
    for (const dir of dirs) killLeftRuntime(dir);
    await ota.close();
    await client.endAsync();
    await broker.close();
    await new Promise((r) => server.close(r));
    await db.close();
    removeDir(root);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
