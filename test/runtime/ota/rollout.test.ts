// The cloud's canary roll-out with a fake clock: stages advance on their success share after their
// time, pause by themselves on failures, count silent sites as failed, tolerate duplicate reports,
// and let offline sites catch up when they return.
import { strict as assert } from 'node:assert';
import type { CloudDb } from '../../../runtime/cloud-db/cloud-db';
import type { Lease } from '../../../runtime/cloud-db/lease';
import { forEachDb } from '../../cloud-db/targets';
import type { OtaNotice, OtaPhase } from '../../../runtime/ota/messages';
import { RolloutController, cohortSize } from '../../../runtime/ota/rollout';

const H = 3_600_000;

forEachDb('OTA roll-out controller (fake clock)', (open) => {
  let db: CloudDb;
  let now: number;
  let sent: OtaNotice[];
  let ctl: RolloutController;
  const sites = Array.from({ length: 40 }, (_, i) => `site-${String(i + 1).padStart(2, '0')}`);

  beforeEach(async () => {
    db = await open();
    now = Date.UTC(2026, 0, 1);
    sent = [];
    ctl = new RolloutController({ db, now: () => now, notify: async (n) => void sent.push(n), log: () => undefined });
  });
  afterEach(() => db.close());
  const others: CloudDb[] = [];
  after(() => Promise.all(others.splice(0).map((d) => d.close())));

  const report = (siteId: string, deploymentId: string, phase: OtaPhase, reason?: string) =>
    ctl.onStatus({ v: 1, siteId, deploymentId, phase, running: null, ts: now, ...(reason ? { reason } : {}) });
  const notifiedSites = (id: string) => new Set(sent.filter((n) => n.deploymentId === id).map((n) => n.siteId));
  const commitAllNotified = async (id: string) => {
    for (const s of notifiedSites(id)) await report(s, id, 'committed');
  };
  const create = (config = {}) => ctl.create({ id: 'dep-1', version: '2.0.0', sequence: 2, url: 'http://cloud/api/v1/ota/bundles/2.0.0', siteIds: sites, config, by: 'admin' });

  it('notifies only the first stage (5 %) at once', async () => {
    const d = await create();
    assert.equal(d.state, 'running');
    assert.equal(d.stagePercent, 5);
    assert.equal(sent.length, cohortSize(5, 40));
    assert.equal(sent.length, 2);
    assert.deepEqual(sent[0], { v: 1, deploymentId: 'dep-1', siteId: sent[0]!.siteId, version: '2.0.0', sequence: 2, url: 'http://cloud/api/v1/ota/bundles/2.0.0', issuedAt: now });
  });

  it('advances a stage only after its time AND once its success share is reached, through 25, 50, 100 %', async () => {
    await create();
    await commitAllNotified('dep-1');
    now += 23 * H;
    await ctl.tick();
    assert.equal((await ctl.get('dep-1'))!.stage, 0, 'a stage lasts its 24 h even when all committed');
    now += 1 * H;
    await ctl.tick();
    assert.equal((await ctl.get('dep-1'))!.stagePercent, 25);
    assert.equal(notifiedSites('dep-1').size, 10);
    for (const pct of [50, 100]) {
      await commitAllNotified('dep-1');
      now += 24 * H;
      await ctl.tick();
      assert.equal((await ctl.get('dep-1'))!.stagePercent, pct);
    }
    assert.equal(notifiedSites('dep-1').size, 40);
    await commitAllNotified('dep-1');
    const d = (await ctl.get('dep-1'))!;
    assert.equal(d.state, 'completed');
    assert.equal(d.counts.committed, 40);
  });

  it('waits at the end of a stage while sites are still working', async () => {
    await create({ stageMs: 0, successShare: 1 });
    const [a, b] = [...notifiedSites('dep-1')];
    await report(a!, 'dep-1', 'committed');
    await report(b!, 'dep-1', 'downloading');
    await ctl.tick();
    assert.equal((await ctl.get('dep-1'))!.stage, 0);
    await report(b!, 'dep-1', 'committed');
    assert.equal((await ctl.get('dep-1'))!.stagePercent, 25);
  });

  it('pauses by itself when failures pass the threshold after the minimum number of sites ran', async () => {
    await create({ stages: [25, 100], minSites: 5, failureShare: 0.2 });
    const cohort = [...notifiedSites('dep-1')];
    assert.equal(cohort.length, 10);
    await report(cohort[0]!, 'dep-1', 'rolled-back', 'MQTT not connected');
    assert.equal((await ctl.get('dep-1'))!.state, 'running', 'one failure among one finished site: too few sites ran to judge');
    await report(cohort[1]!, 'dep-1', 'committed');
    await report(cohort[2]!, 'dep-1', 'committed');
    await report(cohort[3]!, 'dep-1', 'committed');
    await report(cohort[4]!, 'dep-1', 'committed');
    assert.equal((await ctl.get('dep-1'))!.state, 'running', '1 of 5 = 20 % is not more than 20 %');
    await report(cohort[5]!, 'dep-1', 'refused', 'downgrade');
    const d = (await ctl.get('dep-1'))!;
    assert.equal(d.state, 'paused');
    assert.match(d.reason!, /2 of 6 finished sites failed/);
    const before = sent.length;
    now += 48 * H;
    await ctl.tick();
    assert.equal(sent.length, before, 'a paused roll-out sends nothing');
  });

  it('counts a site that stays silent past download + restart + health window + grace as failed', async () => {
    await create({ stages: [10, 100], silentMs: 35 * 60_000, minSites: 1, failureShare: 0.5 });
    const [a, b, c, d4] = [...notifiedSites('dep-1')];
    await report(a!, 'dep-1', 'committed');
    await report(b!, 'dep-1', 'committed');
    await report(c!, 'dep-1', 'committed');
    await report(d4!, 'dep-1', 'downloading'); // then nothing more: the device died
    now += 34 * 60_000;
    await ctl.tick();
    assert.equal((await ctl.targets('dep-1')).find((t) => t.siteId === d4)!.phase, 'downloading');
    now += 2 * 60_000;
    await ctl.tick();
    const t = (await ctl.targets('dep-1')).find((x) => x.siteId === d4)!;
    assert.equal(t.phase, 'silent');
    assert.equal(t.final, true);
    assert.equal((await ctl.get('dep-1'))!.counts.failed, 1);
  });

  it('a silent site that returns reports its real outcome; a late progress report changes nothing', async () => {
    await create({ stages: [100], silentMs: 60_000, minSites: 100 });
    const site = [...notifiedSites('dep-1')][0]!;
    now += 2 * 60_000;
    await ctl.tick();
    assert.equal((await ctl.targets('dep-1')).find((t) => t.siteId === site)!.phase, 'silent');
    await report(site, 'dep-1', 'committed');
    assert.equal((await ctl.targets('dep-1')).find((t) => t.siteId === site)!.phase, 'committed');
    await report(site, 'dep-1', 'downloading');
    await report(site, 'dep-1', 'rolled-back');
    assert.equal((await ctl.targets('dep-1')).find((t) => t.siteId === site)!.phase, 'committed', 'the first final outcome stands');
  });

  it('duplicate reports do not count twice', async () => {
    await create({ stages: [10, 100], minSites: 2, failureShare: 0.5 });
    const [a, b] = [...notifiedSites('dep-1')];
    for (let i = 0; i < 5; i++) await report(a!, 'dep-1', 'rolled-back');
    await report(b!, 'dep-1', 'committed');
    const d = (await ctl.get('dep-1'))!;
    assert.equal(d.counts.failed, 1);
    assert.equal(d.state, 'running', '1 of 2 = 50 % is not more than 50 %');
  });

  it('re-sends the notice to an offline site when it reconnects ("running" report), not to settled ones', async () => {
    await create({ stages: [100] });
    const [a, b] = [...notifiedSites('dep-1')];
    await report(a!, 'dep-1', 'committed');
    const before = sent.length;
    await ctl.onStatus({ v: 1, siteId: b!, phase: 'running', running: '1.0.0', ts: now });
    await ctl.onStatus({ v: 1, siteId: a!, phase: 'running', running: '2.0.0', ts: now });
    assert.deepEqual(sent.slice(before).map((n) => n.siteId), [b]);
  });

  it('pause, resume (accepting the failures so far) and abort', async () => {
    await create({ stages: [25, 100], minSites: 1, failureShare: 0 });
    const cohort = [...notifiedSites('dep-1')];
    await report(cohort[0]!, 'dep-1', 'failed', 'download failed');
    assert.equal((await ctl.get('dep-1'))!.state, 'paused');
    await assert.rejects(ctl.pause('dep-1'), /paused/);
    const resumed = await ctl.resume('dep-1');
    assert.equal(resumed.state, 'running', 'the failure before the resume is accepted');
    await report(cohort[1]!, 'dep-1', 'committed');
    assert.equal((await ctl.get('dep-1'))!.state, 'running');
    await ctl.pause('dep-1', 'weekend');
    assert.equal((await ctl.get('dep-1'))!.reason, 'weekend');
    await ctl.resume('dep-1');
    const aborted = await ctl.abort('dep-1');
    assert.equal(aborted.state, 'aborted');
    await assert.rejects(ctl.resume('dep-1'), /aborted, not paused/);
    const before = sent.length;
    now += 100 * H;
    await ctl.tick();
    assert.equal(sent.length, before);
  });

  it('orders the canary stably per deployment, not alphabetically', async () => {
    await create();
    const first = [...notifiedSites('dep-1')];
    const other = await open();
    others.push(other);
    const again = new RolloutController({ db: other, now: () => now, notify: async () => undefined });
    const view = await again.create({ id: 'dep-1', version: '2.0.0', sequence: 2, url: 'http://x/y', siteIds: [...sites].reverse() });
    assert.deepEqual((await again.targets(view.id)).slice(0, 2).map((t) => t.siteId).sort(), first.sort());
    assert.notDeepEqual(first.sort(), ['site-01', 'site-02']);
  });

  it('evaluates and takes reports only while its lease is held (another cloud process holds it meanwhile)', async () => {
    let held = false;
    const lease: Lease = { name: 'ota-rollout', isHolder: () => held, onChange: () => () => undefined, settled: Promise.resolve(), close: async () => undefined };
    const follower = new RolloutController({ db, now: () => now, notify: async (n) => void sent.push(n), log: () => undefined, lease });
    const d = await follower.create({ id: 'dep-2', version: '2.0.0', sequence: 2, url: 'http://x/y', siteIds: sites, config: { stages: [100] } });
    assert.equal(d.counts.notified, 0, 'a process without the lease sent notices');
    assert.equal(sent.length, 0);
    held = true;
    await follower.tick();
    assert.equal(notifiedSites('dep-2').size, 40);
    held = false;
    await follower.onStatus({ v: 1, siteId: sites[0]!, deploymentId: 'dep-2', phase: 'committed', running: null, ts: now });
    assert.equal((await follower.get('dep-2'))!.counts.committed, 0, 'a report was taken without the lease');
    await report(sites[0]!, 'dep-2', 'committed');
    assert.equal((await ctl.get('dep-2'))!.counts.committed, 1);
  });
});
