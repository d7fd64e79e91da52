// The cloud process killed (SIGKILL) while thousands of sites send once a second: the sites keep
// what is not acknowledged and send it again, as the edge does, and after the cloud is back every
// record is stored exactly once. Acks are sent only after the commit, so whatever the kill cut off
// (records in the broker, in the flow's batches, in a write, acks not yet sent) is resent and
// stored once by the idempotent store.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { FleetSites } from '../../bench/fleet-sites';
import { loadOrCreateSecrets } from '../../runtime/secrets';
import { Lifo4Process, freePorts } from './lifo4-process';

/** As many sites as one test run affords on a shared 2-core machine (the bench goes to 10,000). */
const SITES = 2000;

describe('the cloud killed mid-stream while 2,000 sites send', function () {
  this.timeout(300_000);
  let dir: string;
  const clouds: Lifo4Process[] = [];
  after(async () => {
    for (const c of clouds) await c.stop('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('stores every record exactly once after it comes back', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lifo4-fleet-kill-'));
    const { mqttCloudPassword } = loadOrCreateSecrets(dir);
    const [port, mqttPort] = await freePorts(2);
    const start = async (): Promise<Lifo4Process> => {
      const c = new Lifo4Process(['cloud', '--data-dir', dir, '--port', String(port), '--mqtt-port', String(mqttPort), '--log-level', 'error']);
      clouds.push(c);
      await c.waitFor(/cloud ready/, 120_000);
      return c;
    };
    let cloud = await start();
    const fleet = await FleetSites.connect({ url: `mqtt://127.0.0.1:${mqttPort}`, password: mqttCloudPassword, sites: SITES, connections: 20, resendMs: 5000, clientPrefix: `kill-${process.pid}` });
    let unacked: string[];
    try {
      const publishing = fleet.publishFor(8_000);
      // Killed once records are flowing, with more in flight.
      while (fleet.ackedKeys.size < SITES) await new Promise((r) => setTimeout(r, 100));
      await cloud.stop('SIGKILL');
      cloud = await start();
      await publishing;
      await fleet.settle(90_000);
      unacked = [...fleet.publishedKeys].filter((k) => !fleet.ackedKeys.has(k));
    } finally {
      await fleet.close();
    }
    await cloud.stop('SIGTERM');

    const db = new Database(join(dir, 'cloud', 'timeseries.db'), { readonly: true });
    const stored = new Map<string, number>();
    for (const r of db.prepare('SELECT site_id AS s, seq FROM telemetry').iterate() as Iterable<{ s: string; seq: number }>) {
      const k = `${r.s}:${r.seq}`;
      stored.set(k, (stored.get(k) ?? 0) + 1);
    }
    db.close();
    const lost = [...fleet.publishedKeys].filter((k) => !stored.has(k));
    const twice = [...stored].filter(([, n]) => n > 1).map(([k]) => k);
    const unackedStored = unacked.filter((k) => stored.has(k)).length;
    assert.deepEqual(lost.slice(0, 20), [], `${lost.length} published and not stored`);
    assert.deepEqual(twice.slice(0, 20), [], `${twice.length} stored twice`);
    assert.equal(stored.size, fleet.publishedKeys.size, 'nothing stored that was not published');
    assert.deepEqual(unacked.slice(0, 20), [], `${unacked.length} of ${fleet.publishedKeys.size} records never acknowledged (${unackedStored} of them stored)`);
    assert.ok(fleet.resent > 0, 'the kill cut the stream: records were sent again');
  });
});
