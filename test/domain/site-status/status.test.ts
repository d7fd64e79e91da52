// The site sidebar's view of a site (domain/site-status/status.ts): the numbers it shows,
// alarm acknowledgement that lasts exactly as long as the alarm, and a history of changes only.
import assert from 'node:assert/strict';
import type { Alarm, Decision, Envelope } from '../../../domain/contracts';
import { DECISION_HISTORY, SiteStatus } from '../../../domain/site-status/status';

const alarm = (code: string, ts: number): Alarm => ({ code, severity: 'critical', message: code, source: 'safety-envelope', ts, active: true });
const envelope = (ts: number, alarms: Alarm[]): Envelope => ({ siteId: 's', ts, mode: alarms.length ? 'SAFE_MODE' : 'NORMAL', maxChargeW: 5000, maxDischargeW: 5000, restrictions: [], alarms });
const decision = (ts: number, setpointW: number, source = 'arbitrage'): Decision => ({
  siteId: 's', ts, setpointW, requestedW: setpointW, level: 5, source, requestId: null, mode: 'NORMAL', clamps: [], ignored: [], reason: `${source} asks ${setpointW} W`,
});

describe('site status view', () => {
  it('shows the latest battery, PCS and meter numbers and the winning level by name', () => {
    const s = new SiteStatus('s');
    s.addTelemetry({ siteId: 's', ts: 10, meter: { ts: 10, power: 1200, frequency: 50, voltage: 230, energyImportWh: null, energyExportWh: null, alarms: [] } });
    s.setDecision(decision(11, 800));
    const v = s.view();
    assert.deepEqual(v.meter, { ts: 10, gridW: 1200 });
    assert.equal(v.battery, null);
    assert.equal(v.decision?.levelName, 'ECONOMIC');
    assert.equal(v.updatedAt, 11);
  });

  it('keeps an acknowledgement while the alarm stays active and forgets it once the alarm clears', () => {
    const s = new SiteStatus('s');
    s.setEnvelope(envelope(1, [alarm('TELEMETRY_STALE', 1)]));
    assert.equal(s.acknowledge('safety-envelope', 'NOT_ACTIVE', 'op', 2), false);
    assert.equal(s.acknowledge('safety-envelope', 'TELEMETRY_STALE', 'op', 2), true);
    s.setEnvelope(envelope(3, [alarm('TELEMETRY_STALE', 3)]));
    assert.deepEqual(s.view().alarms.map((a) => [a.code, a.since, a.ack]), [['TELEMETRY_STALE', 1, { by: 'op', ts: 2 }]]);
    s.setEnvelope(envelope(4, []));
    s.setEnvelope(envelope(5, [alarm('TELEMETRY_STALE', 5)]));
    assert.deepEqual(s.view().alarms.map((a) => [a.since, a.ack]), [[5, null]]);
  });

  it('records a decision in the history only when it changes, newest first, at most the last few', () => {
    const s = new SiteStatus('s');
    s.setDecision(decision(1, 1000));
    s.setDecision(decision(2, 1000));
    assert.deepEqual(s.view().decisions.map((d) => d.ts), [2]);
    for (let i = 0; i < DECISION_HISTORY + 3; i++) s.setDecision(decision(10 + i, i * 100));
    const history = s.view().decisions;
    assert.equal(history.length, DECISION_HISTORY);
    assert.equal(history[0]?.ts, 10 + DECISION_HISTORY + 2);
  });
});

describe('site status freshness', () => {
  const battery = (ts: number) => ({
    ts, soc: 50, soh: 98, voltage: 52, current: 0, power: 0, capacityWh: 10_000, energyAvailableWh: 5000, cellVmax: 3.3, cellVmin: 3.29, cellVavg: 3.3, cellVoltages: [],
    tempMax: 25, tempMin: 24, cellTemps: [], chargeCurrentMax: null, dischargeCurrentMax: null, chargePowerMax: null, dischargePowerMax: null, cycles: 1, state: 'CONNECTED', alarms: [],
  });

  it('marks the site stale after the same count of control cycles as the envelope, lost after ten', () => {
    const s = new SiteStatus('s');
    s.addTelemetry({ siteId: 's', ts: 1000, battery: battery(1000) });
    assert.equal(s.view(3999).freshness.battery, 'fresh');
    assert.equal(s.view(4000).freshness.battery, 'stale');
    assert.equal(s.view(11_000).freshness.battery, 'lost');
    assert.equal(s.view(1000).freshness.site, 'lost', 'no PCS data at all: the site cannot be vouched for');
    assert.equal(s.view(1000).freshness.meter, null);
  });
});
