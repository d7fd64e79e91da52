// The path between a site and the fleet, end to end as `npm start` runs it: the edge's telemetry
// crosses MQTT into the cloud's store, an operator's command crosses the API, MQTT and the edge
// flow to the simulated PCS and its ack comes back, and neither a dying cloud process nor a forged
// command costs a record or moves the battery.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { CommandAckSchema, type SignedCommand } from '../../domain/contracts';
import { signCommand } from '../../io/command-signature';
import { topics } from '../../domain/topics';
import { Lifo4Process, eventually, freePorts, getJson, runCli } from './lifo4-process';

const SITE = 'site-1';

interface StoreCount {
  rows: number;
  distinct: number;
  min: number;
  max: number;
}

describe('lifo4 start: the site reaches the fleet and the fleet reaches the site', function () {
  this.timeout(240_000);
  let dir: string;
  let run: Lifo4Process;
  let api: string;
  let sim: string;
  let token: string;

  const storeCount = (): StoreCount | undefined => {
    try {
      const db = new Database(join(dir, 'cloud', 'timeseries.db'), { readonly: true, fileMustExist: true });
      const r = db.prepare('SELECT count(*) AS rows, count(DISTINCT seq) AS distinct_, min(seq) AS min, max(seq) AS max FROM telemetry WHERE site_id = ?').get(SITE) as { rows: number; distinct_: number; min: number | null; max: number | null };
      db.close();
      return r.max === null ? undefined : { rows: r.rows, distinct: r.distinct_, min: r.min ?? 0, max: r.max };
    } catch {
      return undefined;
    }
  };
  const pcsPower = async (): Promise<number> => ((await getJson(`${sim}/state`)).body as { pcs: { power: number } }).pcs.power;
  const command = (body: object) => fetch(`${api}/sites/${SITE}/commands`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lifo4-fleet-path-'));
    const [port, edgePort, modbusPort, controlPort, mqttPort] = await freePorts(5);
    run = new Lifo4Process(['start', '--data-dir', dir, '--port', String(port), '--edge-port', String(edgePort), '--modbus-port', String(modbusPort),
      '--control-port', String(controlPort), '--mqtt-port', String(mqttPort)]);
    await run.waitFor(/LiFePO4 EMS is running/, 120_000);
    api = `http://127.0.0.1:${port}/api/v1`;
    sim = `http://127.0.0.1:${controlPort}`;
    const added = runCli(['user', 'add', '--email', 'op@example.com', '--role', 'OPERATOR', '--password', 'operator-pass-1234', '--data-dir', dir]);
    assert.equal(added.code, 0, added.stderr);
    const login = await fetch(`${api}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'op@example.com', password: 'operator-pass-1234' }) });
    assert.equal(login.status, 200);
    token = ((await login.json()) as { accessToken: string }).accessToken;
  });

  after(async () => {
    await run?.stop('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("stores the edge's records in the cloud from seq 1 on, each once, and serves the latest through the API", async () => {
    // A record sent before the cloud had subscribed is sent again after the ack timeout (10 s).
    const count = await eventually(async () => { const c = storeCount(); return c && c.max >= 5 && c.min === 1 && c.distinct === c.max ? c : undefined; }, 60_000, 'records 1..5 or more stored');
    assert.equal(count.rows, count.distinct);
    const latest = await getJson(`${api}/sites/${SITE}/telemetry/latest`, { authorization: `Bearer ${token}` });
    assert.equal(latest.status, 200, JSON.stringify(latest.body));
    assert.equal(typeof (latest.body as { fields?: { socPct?: unknown } }).fields?.socPct, 'number', JSON.stringify(latest.body));
  });

  it("carries an operator's setpoint from the API to the simulated PCS and answers with the executed ack", async () => {
    const res = await command({ type: 'setpoint', powerW: 1500, expiresInS: 300 });
    const body = (await res.json()) as { outcome: string };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.outcome, 'executed');
    await eventually(async () => (Math.abs((await pcsPower()) - 1500) < 100 ? true : undefined), 30_000, 'the PCS delivering 1500 W');
  });

  it('rejects a command with a forged signature at the edge, and the battery keeps doing what it did', async () => {
    const secrets = JSON.parse(readFileSync(join(dir, 'secrets.json'), 'utf8')) as { mqttCloudPassword: string };
    const url = /MQTT broker\s+(mqtt:\/\/\S+)/.exec(run.output)?.[1];
    assert.ok(url, run.output);
    const client = await mqtt.connectAsync(url, { username: 'cloud', password: secrets.mqttCloudPassword, clientId: `forger-${process.pid}` });
    try {
      const acks: unknown[] = [];
      client.on('message', (_t, payload) => acks.push(JSON.parse(payload.toString())));
      await client.subscribeAsync(topics.cmdAck(SITE), { qos: 1 });
      const now = Date.now();
      const unsigned: Omit<SignedCommand, 'sig'> = { v: 1, id: `forged-${now}`, siteId: SITE, issuedAt: now, expiresAt: now + 60_000, by: 'mallory', role: 'SUPER_ADMIN', body: { type: 'setpoint', powerW: -4000, durationS: 600 } };
      const forged = signCommand(unsigned, Buffer.alloc(32, 7)); // a key that is not the site's
      await client.publishAsync(topics.cmd(SITE), JSON.stringify(forged), { qos: 1 });
      const ack = await eventually(async () => acks.map((a) => CommandAckSchema.safeParse(a)).find((a) => a.success && a.data.id === forged.id), 20_000, 'the rejection');
      assert.ok(ack.success);
      assert.equal(ack.data.outcome, 'rejected');
      assert.match(ack.data.reason ?? '', /signature/i);
      await new Promise((r) => setTimeout(r, 3000));
      assert.ok(Math.abs((await pcsPower()) - 1500) < 100, 'still the operator\'s 1500 W, not the forged -4000 W');
    } finally {
      await client.endAsync();
    }
  });

  it('loses no record and stores none twice when the cloud process dies mid-stream', async () => {
    const pid = Number(/\[start\] cloud started \(pid (\d+)\)/.exec(run.output)?.[1]);
    assert.ok(pid > 0);
    const before = storeCount();
    assert.ok(before);
    process.kill(pid, 'SIGKILL');
    await run.waitFor(/\[start\] cloud is back/, 60_000);
    const after = await eventually(async () => { const c = storeCount(); return c && c.max >= before.max + 15 ? c : undefined; }, 90_000, 'records flowing again');
    assert.equal(after.min, 1);
    assert.equal(after.distinct, after.max, `every seq from 1 to ${after.max} is stored`);
    assert.equal(after.rows, after.distinct, 'none twice');
  });
});
