// Alarm episodes: one root event and the alarms it set off are one episode, by the documented
// rule (same site, a known cause, raised within the window); every code has a remedy.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ALARM_CATALOGUE, causesOf, EPISODE_WINDOW_MS, episodeRoots, remedyOf, repeatersOf, repeatsOpenAlarm, type EpisodeMember } from '../../domain/alarm-episodes';

const T = 1_700_000_000_000;
const m = (id: number, code: string, dt = 0, siteId = 's1'): EpisodeMember => ({ id, siteId, code, raisedAt: T + dt });

describe('alarm episodes', () => {
  it('an over-temperature and its knock-on BMS, PCS and derating alarms are one episode named by the root', () => {
    const alarms = [m(1, 'BMS_WARNING', -500), m(2, 'OVER_TEMPERATURE'), m(3, 'BMS_ALARM', 200), m(4, 'DISCHARGE_TEMPERATURE', 300), m(5, 'CHARGE_TEMPERATURE', 300), m(6, 'PCS_FAULT', 4000), m(7, 'BMS_FAULT', 1000)];
    const roots = episodeRoots(alarms);
    for (const a of alarms) assert.equal(roots.get(a.id), 2, a.code);
  });

  it('keeps apart what is on another site, too far apart in time, or not a known consequence', () => {
    const roots = episodeRoots([m(1, 'OVER_TEMPERATURE'), m(2, 'BMS_ALARM', 0, 's2'), m(3, 'PCS_FAULT', EPISODE_WINDOW_MS + 1), m(4, 'ANOMALY', 10), m(5, 'CELL_SPREAD', 10)]);
    assert.deepEqual([...roots.entries()].sort((a, b) => a[0] - b[0]), [[1, 1], [2, 2], [3, 3], [4, 4], [5, 5]]);
  });

  it('a chain resolves to its first root: PCS_FAULT after BMS_FAULT after OVER_TEMPERATURE', () => {
    const roots = episodeRoots([m(3, 'PCS_FAULT', 100_000), m(2, 'BMS_FAULT', 60_000), m(1, 'OVER_TEMPERATURE')]);
    assert.equal(roots.get(3), 1);
    assert.equal(roots.get(2), 1);
  });

  it('COMMUNICATION_LOST follows SITE_OFFLINE, whichever the cloud noticed first', () => {
    assert.equal(episodeRoots([m(1, 'COMMUNICATION_LOST'), m(2, 'SITE_OFFLINE', 30_000)]).get(1), 2);
  });

  it('every alarm gets an episode whose root is its own root, on the same site, within reach of the window', () => {
    const codes = Object.keys(ALARM_CATALOGUE);
    const arb = fc.array(fc.record({ code: fc.constantFrom(...codes, 'UNKNOWN_CODE'), dt: fc.integer({ min: 0, max: 4 * EPISODE_WINDOW_MS }), site: fc.constantFrom('a', 'b') }), { maxLength: 30 });
    fc.assert(fc.property(arb, (xs) => {
      const alarms = xs.map((x, i) => m(i + 1, x.code, x.dt, x.site));
      const roots = episodeRoots(alarms);
      const byId = new Map(alarms.map((a) => [a.id, a]));
      for (const a of alarms) {
        const r = roots.get(a.id) as number;
        const root = byId.get(r) as EpisodeMember;
        assert.equal(roots.get(r), r, 'a root is its own root');
        assert.equal(root.siteId, a.siteId);
        if (r !== a.id) assert.ok(causesOf(a.code).has(root.code), `${root.code} can cause ${a.code}`);
      }
    }));
  });

  it('the catalogue has no cycles, names only catalogued causes, and gives every code a remedy', () => {
    for (const [code, info] of Object.entries(ALARM_CATALOGUE)) {
      assert.ok(!causesOf(code).has(code), `${code} causes itself`);
      for (const c of info.causes) assert.ok(c in ALARM_CATALOGUE, `${code}: unknown cause ${c}`);
      assert.ok(info.remedy.length > 20, `${code} has a remedy`);
    }
    assert.match(remedyOf('NO_SUCH_CODE'), /site page/);
  });

  it("the cloud's temperature band repeats the edge's OVER_TEMPERATURE, not the other way round", () => {
    assert.ok(repeatsOpenAlarm('TEMPERATURE_OUT_OF_BAND', ['BMS_ALARM', 'OVER_TEMPERATURE']));
    assert.ok(!repeatsOpenAlarm('TEMPERATURE_OUT_OF_BAND', ['BMS_ALARM']));
    assert.ok(!repeatsOpenAlarm('OVER_TEMPERATURE', ['TEMPERATURE_OUT_OF_BAND']));
    assert.deepEqual(repeatersOf('OVER_TEMPERATURE'), ['TEMPERATURE_OUT_OF_BAND']);
  });
});
