import assert from 'node:assert/strict';
import {
  loadBerlinDemand, loadDayAheadPrices, loadGermanPvPerUnit, loadHouseholdProfile, loadOcvPoints,
  parseHouseholdCsv, parseModelicaTable, parseOcvCsv, RealDataError,
} from '../../../io/data/real-data';

describe('Real data files (data/SOURCES.md)', () => {
  it('reads the 600-point LFP OCV curve, soc 0..1 in volts', () => {
    const pts = loadOcvPoints();
    assert.equal(pts.length, 600);
    assert.equal(pts[0]?.soc, 0);
    assert.equal(pts[599]?.soc, 1);
    assert.ok(pts.every((p) => p.ocv > 2 && p.ocv < 3.7));
  });

  it('reads the household profile: Jan-Sep 2014 at 15 min, kW', () => {
    const h = loadHouseholdProfile();
    assert.equal(h.stepMs, 900_000);
    assert.equal(h.time[0], Date.UTC(2014, 0, 1));
    assert.equal(h.time[h.time.length - 1], Date.UTC(2014, 8, 30, 23, 45));
    assert.ok(Math.max(...h.pvKw) > 1 && Math.max(...h.loadKw) > 1);
  });

  it('reads the 2012 Modelica tables: Berlin demand in W, PV per unit, prices with negative hours', () => {
    const demand = loadBerlinDemand();
    const pv = loadGermanPvPerUnit();
    const prices = loadDayAheadPrices();
    assert.equal(demand.values.length, 26304);
    assert.equal(pv.values.length, 26304);
    assert.equal(prices.values.length, 6576);
    assert.ok(Math.max(...demand.values) > 1e9);
    assert.ok(Math.max(...pv.values) <= 1 && Math.min(...pv.values) >= 0);
    assert.ok(Math.min(...prices.values) < 0);
    assert.equal(prices.seconds[1], 3600);
  });

  it('names the file and line of bad input', () => {
    assert.throws(() => parseOcvCsv('soc,ocv_V\n0.1,abc\n', 'x.csv'), (e: Error) => e instanceof RealDataError && /x.csv line 2/.test(e.message));
    assert.throws(() => parseOcvCsv('a,b\n', 'x.csv'), RealDataError);
    assert.throws(() => parseHouseholdCsv('time,pv\n', 'h.csv'), /time,pv,load/);
    assert.throws(() => parseModelicaTable('#1\nfoo\n0\t1\n', 0, 't.txt'), /double/);
  });
});
