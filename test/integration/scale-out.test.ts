// Scale-out as deployed: two `lifo4 cloud` processes, each with its own store, on one Mosquitto
// (the shipped ACL, per-site passwords) with --share-group: each record goes to one of them, every
// record is stored and acknowledged, none is stored by both.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { packageRoot } from '../../io/package-root';
import { mosquittoPasswordFile } from '../../runtime/broker/mosquitto-files';
import { loadOrCreateSecrets, secretsPath, siteSecrets } from '../../runtime/secrets';
import { EdgeClient, eventually } from '../nodes/mqtt/edge-client';
import { mosquittoAvailable, startMosquitto, type RunningMosquitto } from '../services/mosquitto';
import { requireService } from '../services/service';
import { householdRecords } from '../io/timeseries/records';
import { Lifo4Process, freePorts } from './lifo4-process';

const SITES = ['site-a', 'site-b', 'site-c'];

describe('two cloud runtimes share the ingest through a Mosquitto shared subscription', function () {
  this.timeout(180_000);
  let dir: string;
  let broker: RunningMosquitto | undefined;
  const clouds: Lifo4Process[] = [];
  const edges: EdgeClient[] = [];

  before(function () {
    requireService(this, 'mosquitto', mosquittoAvailable(), 'apt-get install mosquitto');
  });

  after(async () => {
    for (const e of edges) await e.close();
    for (const c of clouds) await c.stop('SIGTERM');
    await broker?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('stores every record once, split between the two, and acknowledges all of them', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lifo4-scale-out-'));
    // One installation's secrets, shared by both cloud runtimes (as a deployment would copy them).
    const first = join(dir, 'cloud-1');
    mkdirSync(first);
    const secrets = loadOrCreateSecrets(first);
    const sites = SITES.map((id) => ({ id, ...siteSecrets(first, id) }));
    const second = join(dir, 'cloud-2');
    mkdirSync(second);
    copyFileSync(secretsPath(first), secretsPath(second));
    const passwordFile = join(dir, 'passwd');
    writeFileSync(passwordFile, mosquittoPasswordFile([{ username: 'cloud', password: secrets.mqttCloudPassword }, ...sites.map((s) => ({ username: s.id, password: s.mqttPassword }))]));
    broker = await startMosquitto({ passwordFile, aclFile: join(packageRoot, 'deploy', 'mosquitto', 'acl') });

    const ports = await freePorts(2);
    for (const [i, data] of [first, second].entries()) {
      const c = new Lifo4Process(['cloud', '--data-dir', data, '--port', String(ports[i]), '--mqtt-url', broker.url, '--share-group', 'ingest']);
      clouds.push(c);
    }
    for (const c of clouds) await c.waitFor(/cloud ready/, 90_000);

    for (const s of sites) edges.push(await EdgeClient.connect(broker.url, s.id, { username: s.id, password: s.mqttPassword }));
    const sent = await Promise.all(edges.map(async (e) => {
      const records = householdRecords({ siteId: e.siteId, count: 120 });
      // The runtimes may still be subscribing: resend what is not acked after 5 s, as the edge does
      // after its ack timeout (sooner would hand a record still being stored to the other runtime).
      await e.sendUntilAcked(records, 10, 5000, 90_000);
      return records.length;
    }));
    await eventually('every record acked', () => edges.every((e) => e.acked.size === 120), 60_000);

    for (const c of clouds) await c.stop('SIGTERM');
    const stored = [first, second].map((data) => {
      const db = new Database(join(data, 'cloud', 'timeseries.db'), { readonly: true });
      const rows = db.prepare('SELECT site_id AS site, seq FROM telemetry').all() as { site: string; seq: number }[];
      db.close();
      return rows.map((r) => `${r.site}:${r.seq}`);
    });
    const [a, b] = stored as [string[], string[]];
    assert.ok(a.length > 0 && b.length > 0, `both took a share (${a.length} / ${b.length})`);
    const both = a.filter((k) => new Set(b).has(k));
    assert.deepEqual(both, [], 'no record stored by both');
    assert.equal(new Set([...a, ...b]).size, sent.reduce((n, k) => n + k, 0), 'every record stored');
  });
});
