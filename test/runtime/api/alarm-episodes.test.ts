// The cloud's alarms on a real cloud database (SQLite and PostgreSQL): an over-temperature with its knock-on alarms is one
// episode acknowledged at once (as the real user), the cloud's temperature band does not repeat the
// edge's OVER_TEMPERATURE, a silent site gets COMMUNICATION_LOST that its next record clears, and
// each change (clearing too) is emitted for the realtime channel.
import assert from 'node:assert/strict';
import type { Alarm } from '../../../domain/contracts';
import { AlarmRules, AlarmStore, COMMUNICATION_LOST, DEFAULT_ALARM_LIMITS, type AlarmView } from '../../../runtime/api/alarms';
import type { CloudDb } from '../../../runtime/cloud-db/cloud-db';
import { forEachDb } from '../../cloud-db/targets';
import { cloudLimits } from '../../../domain/freshness';
import { call, createUser, login, record, startHarness } from './harness';

const T0 = 1_700_000_000_000;

forEachDb('cloud alarms: episodes, no duplicates, COMMUNICATION_LOST', (openDb) => {
  let db: CloudDb;
  let now: number;
  let store: AlarmStore;
  let rules: AlarmRules;
  let events: [AlarmView, string][];

  beforeEach(async () => {
    db = await openDb();
    now = T0;
    store = new AlarmStore(db, () => now);
    rules = new AlarmRules(store, DEFAULT_ALARM_LIMITS, cloudLimits(1000));
    events = [];
    store.on('change', (a, e) => events.push([a, e]));
  });
  afterEach(async () => {
    await db.close();
  });

  const edge = (code: string, dt: number, active = true, severity: Alarm['severity'] = 'critical'): Alarm & { siteId: string } =>
    ({ siteId: 'site-1', code, severity, message: `${code} message`, source: 'safety-envelope', ts: T0 + dt, active });
  const open = async () => (await store.list({ siteIds: ['site-1'], limit: 100 })).filter((a) => a.state !== 'cleared');

  it('groups an over-temperature and what it set off into one episode, acknowledged at once by the user', async () => {
    // The cloud's band sees 60 degC first, then the edge reports its own alarms.
    await rules.onRecord(record('site-1', 1, T0, { tempMax: 60 }), T0);
    assert.deepEqual((await open()).map((a) => a.code), ['TEMPERATURE_OUT_OF_BAND']);
    for (const [code, dt] of [['BMS_WARNING', 100], ['OVER_TEMPERATURE', 200], ['BMS_ALARM', 300], ['DISCHARGE_TEMPERATURE', 300], ['PCS_FAULT', 2000]] as const) await rules.onSiteAlarm(edge(code, dt));
    await rules.onRecord(record('site-1', 2, T0 + 3000, { tempMax: 60 }), T0 + 3000);

    const alarms = await open();
    assert.deepEqual(alarms.map((a) => a.code).sort(), ['BMS_ALARM', 'BMS_WARNING', 'DISCHARGE_TEMPERATURE', 'OVER_TEMPERATURE', 'PCS_FAULT'], 'the cloud band gave way to the edge alarm and is not raised again');
    const root = alarms.find((a) => a.code === 'OVER_TEMPERATURE') as AlarmView;
    assert.ok(alarms.every((a) => a.episodeId === root.id), 'one episode, named by its root');
    assert.match(root.remedy, /ventilation/);
    const [newest] = await store.list({ siteIds: ['site-1'], limit: 1, state: 'active' });
    assert.deepEqual([newest?.code, newest?.episodeId], ['PCS_FAULT', root.id], 'a page without the root still names its episode');
    const band = await store.list({ siteIds: ['site-1'], limit: 100, state: 'cleared' });
    assert.deepEqual(band.map((a) => a.code), ['TEMPERATURE_OUT_OF_BAND']);

    now = T0 + 10_000;
    events = [];
    const pcs = alarms.find((a) => a.code === 'PCS_FAULT') as AlarmView;
    const episode = await store.ackEpisode(pcs.id, 'operator@example.test', 'crew on the way');
    assert.equal(episode.length, 5);
    assert.ok(episode.every((a) => a.state === 'acknowledged' && a.acknowledgedBy === 'operator@example.test'));
    assert.equal(events.filter(([, e]) => e === 'acknowledged').length, 5, 'each acknowledgement is pushed');
    assert.deepEqual((await store.history(root.id)).map((e) => [e.event, e.by]), [['raised', null], ['acknowledged', 'operator@example.test']]);
  });

  it("acknowledges every active alarm of one site and none of another's", async () => {
    await rules.onSiteAlarm(edge('CELL_SPREAD', 0, true, 'warning'));
    await rules.onSiteAlarm(edge('ANOMALY', 10, true, 'warning'));
    await rules.onSiteAlarm({ ...edge('ANOMALY', 10, true, 'warning'), siteId: 'site-2' });
    const acked = await store.ackSite('site-1', 'manager@example.test', null);
    assert.deepEqual(acked.map((a) => [a.code, a.state]), [['CELL_SPREAD', 'acknowledged'], ['ANOMALY', 'acknowledged']]);
    assert.equal((await store.list({ siteIds: ['site-2'], limit: 10 }))[0]?.state, 'active');
  });

  it('raises COMMUNICATION_LOST once a site is silent past the lost limit and clears it with the next record', async () => {
    await rules.onRecord(record('site-1', 1, T0), T0);
    await rules.tick(T0 + 11_999);
    assert.equal((await open()).length, 0, 'stale is not yet lost');
    await rules.tick(T0 + 12_000);
    await rules.tick(T0 + 13_000);
    const lost = await open();
    assert.deepEqual(lost.map((a) => [a.code, a.severity, a.occurrences]), [[COMMUNICATION_LOST, 'critical', 1]]);
    assert.match(lost[0]?.message ?? '', /no telemetry since .* \(lost after 12 s\)/);

    events = [];
    await rules.onRecord(record('site-1', 2, T0 + 20_000), T0 + 20_000);
    assert.equal((await open()).length, 0);
    assert.deepEqual(events.map(([a, e]) => [a.code, e, a.clearedAt]), [[COMMUNICATION_LOST, 'cleared', new Date(T0 + 20_000).toISOString()]], 'the clearing is pushed with its time');
  });

  it('raises an alarm once when a second store (another cloud process) raises it too, and either clears it', async () => {
    const other = new AlarmStore(db, () => now);
    const alarm = { siteId: 'site-1', code: 'SITE_OFFLINE', source: 'cloud', severity: 'critical' as const, message: 'offline', ts: T0 };
    assert.ok(await store.raise(alarm), 'the first raises it');
    assert.equal(await other.raise(alarm), null, 'the second finds it open and adopts it');
    assert.equal((await open()).length, 1);
    assert.equal((await other.clear('site-1', 'SITE_OFFLINE', 'cloud', T0 + 1000))?.state, 'cleared');
    assert.equal(await store.clear('site-1', 'SITE_OFFLINE', 'cloud', T0 + 2000), null, 'cleared already: nothing to do');
    assert.deepEqual((await store.list({ siteIds: ['site-1'], limit: 10 })).map((a) => [a.code, a.state]), [['SITE_OFFLINE', 'cleared']]);
  });

  it('checks sites known from before a restart: a site that never comes back is lost too', async () => {
    rules.knownSince('site-9', T0 - 60_000);
    await rules.tick(T0);
    assert.deepEqual((await store.list({ siteIds: ['site-9'], limit: 10 })).map((a) => a.code), [COMMUNICATION_LOST]);
  });
});

describe('API: acknowledging an alarm episode', function () {
  this.timeout(30_000);

  it('acknowledges the root and its knock-on alarms in one request, recorded and audited as the signed-in user', async () => {
    const h = await startHarness();
    try {
      const operator = await login(h, await createUser(h, 'op@episodes.test', 'OPERATOR'));
      const admin = await login(h, await createUser(h, 'admin@episodes.test', 'ADMIN'));
      const now = Date.now();
      h.hub.emit('record', record('site-1', 1, now));
      for (const [code, dt] of [['OVER_TEMPERATURE', 0], ['BMS_ALARM', 500], ['PCS_FAULT', 1500]] as const) {
        h.hub.emit('alarm', { siteId: 'site-1', code, severity: 'critical', message: code, source: 'safety-envelope', ts: now + dt, active: true });
      }
      await h.api.settled();
      const open = await call<{ alarms: AlarmView[] }>(h, 'get', '/alarms', { token: operator.accessToken, query: { siteId: 'site-1', state: 'active' } });
      const root = open.body.alarms.find((a) => a.code === 'OVER_TEMPERATURE') as AlarmView;
      assert.deepEqual(new Set(open.body.alarms.map((a) => a.episodeId)), new Set([root.id]));
      const pcs = open.body.alarms.find((a) => a.code === 'PCS_FAULT') as AlarmView;

      const r = await call<{ episodeId: number; alarms: AlarmView[] }>(h, 'post', `/alarms/${pcs.id}/ack-episode`, { token: operator.accessToken, body: { note: 'fans checked' } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.episodeId, root.id);
      assert.deepEqual(r.body.alarms.map((a) => [a.code, a.state, a.acknowledgedBy]), [
        ['OVER_TEMPERATURE', 'acknowledged', 'op@episodes.test'], ['BMS_ALARM', 'acknowledged', 'op@episodes.test'], ['PCS_FAULT', 'acknowledged', 'op@episodes.test'],
      ]);
      const audit = await call<{ entries: { email: string; target: string; outcome: string }[] }>(h, 'get', '/audit', { token: admin.accessToken, query: { action: 'ackAlarmEpisode' } });
      assert.deepEqual(audit.body.entries.map((e) => [e.email, e.outcome]), [['op@episodes.test', 'success']]);
      assert.match(audit.body.entries[0]?.target ?? '', /OVER_TEMPERATURE/);

      const none = await call<{ alarms: AlarmView[] }>(h, 'post', '/sites/site-1/alarms/ack', { token: operator.accessToken, body: {} });
      assert.deepEqual(none.body.alarms, [], 'nothing left to acknowledge at the site');
    } finally {
      await h.close();
    }
  });
});
