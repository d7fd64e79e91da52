// The join of a site's telemetry parts: what the safety envelope, the strategies, the cloud record
// and the sidebar see of the whole site.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SiteTelemetry } from '../../domain/telemetry-snapshot';
import { batteryTelemetry, meterTelemetry } from '../nodes/mqtt/edge-messages';

describe('the site telemetry join (SiteTelemetry)', () => {
  it('has nothing to show before the first part', () => {
    assert.equal(new SiteTelemetry('s1').joined(), null);
  });

  it('joins the parts of its site into one Telemetry stamped with the newest part', () => {
    const site = new SiteTelemetry('s1');
    const battery = batteryTelemetry('s1', 50);
    assert.equal(site.add(battery), true);
    assert.equal(site.add(meterTelemetry('s1', 1200, battery.ts + 500)), true);
    const joined = site.joined();
    assert.equal(joined?.siteId, 's1');
    assert.equal(joined?.ts, battery.ts + 500);
    assert.equal(joined?.battery?.soc, 50);
    assert.equal(joined?.meter?.power, 1200);
    assert.equal(joined?.deviceId, undefined);
  });

  it("refuses another site's part and keeps what it had", () => {
    const site = new SiteTelemetry('s1');
    site.add(meterTelemetry('s1', 100, 1000));
    assert.equal(site.add(meterTelemetry('s2', 9999, 2000)), false);
    assert.equal(site.joined()?.meter?.power, 100);
  });

  it('never rolls a part back in time, whatever order the parts arrive in', () => {
    fc.assert(fc.property(fc.array(fc.record({ ts: fc.integer({ min: 1, max: 1e6 }), power: fc.integer({ min: -5000, max: 5000 }) }), { minLength: 1, maxLength: 30 }), (parts) => {
      const site = new SiteTelemetry('s1');
      for (const p of parts) site.add(meterTelemetry('s1', p.power, p.ts));
      const newest = Math.max(...parts.map((p) => p.ts));
      assert.equal(site.snapshot.meter?.ts, newest);
      // Of the parts sharing the newest time, the last to arrive wins.
      assert.equal(site.snapshot.meter?.power, parts.filter((p) => p.ts === newest).at(-1)?.power);
    }));
  });
});
