// The monthly report's arithmetic on data small enough to check by hand, and properties that hold
// for any month of samples.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildMonthlyReport, monthBounds, parseMonth, previousMonth, type MonthlyReportInput, type ReportSample } from '../../../domain/reports/monthly';
import { monthlyReportCsv } from '../../../domain/reports/monthly-csv';
import { monthlyReportSections } from '../../../domain/reports/monthly-lines';
import { DEFAULT_TARIFF } from '../../../domain/tariff/tariff';

const NOV = Date.UTC(2026, 10, 1);
const MIN = 60_000;
const sample = (start: number, over: Partial<ReportSample> = {}): ReportSample => ({
  start, spanMs: MIN, records: 60, batteryPowerW: 0, batteryDischargeW: null, batteryChargeW: null, gridPowerW: 0, netLoadW: 0, sohPct: null, capacityWh: 10_000, mode: { min: 0, mean: 0, max: 0 }, ...over,
});

/** November 2026, hand-checkable (see each figure's test). */
function november(over: Partial<MonthlyReportInput> = {}): MonthlyReportInput {
  return {
    siteId: 'site-1', siteName: 'Test site', month: { year: 2026, month: 11 }, now: Date.UTC(2026, 11, 5),
    samples: [
      // 60 s discharging 6 kW: 0.1 kWh; grid 1 kW, without the battery 7 kW.
      sample(NOV, { batteryPowerW: 6000, gridPowerW: 1000, netLoadW: 7000, sohPct: 98 }),
      // 30 records in a minute: 30 s charging 6 kW = 0.05 kWh; grid 7 kW, without the battery 1 kW.
      sample(NOV + MIN, { records: 30, batteryPowerW: -6000, gridPowerW: 7000, netLoadW: 1000 }),
      // Online but in SAFE_MODE: not controllable.
      sample(NOV + 2 * MIN, { gridPowerW: 2000, netLoadW: 2000, mode: { min: 2, mean: 2, max: 2 } }),
      // The month's last minute, after a silence of 30 days (a gap, not bridged): no price.
      sample(Date.UTC(2026, 11, 1) - MIN, { gridPowerW: 500, netLoadW: 500, sohPct: 97 }),
    ],
    lastMonthSamples: [sample(Date.UTC(2026, 9, 15), { gridPowerW: 3000 })],
    sohEstimates: [],
    alarms: [
      { code: 'SITE_OFFLINE', severity: 'warning', raisedAt: Date.UTC(2026, 10, 3) },
      { code: 'SITE_OFFLINE', severity: 'critical', raisedAt: Date.UTC(2026, 10, 4) },
      { code: 'ESTOP', severity: 'critical', raisedAt: Date.UTC(2026, 10, 5) },
      { code: 'ESTOP', severity: 'critical', raisedAt: Date.UTC(2026, 11, 1) }, // December
      { code: 'ESTOP', severity: 'critical', raisedAt: NOV - 1 }, // October
    ],
    // One hour at 100 EUR/MWh from midnight.
    prices: [{ start: NOV, stepMs: 3_600_000, eurPerMWh: 100 }],
    tariff: { ...DEFAULT_TARIFF, importAdderEurPerKwh: 0.2, vatFactor: 1, feedInEurPerKwh: 0.08, demandChargeEurPerKw: 10 },
    tariffSource: 'test',
    recordMs: 1000,
    ...over,
  };
}

describe('monthly report (domain/reports/monthly)', () => {
  it('reads months as yyyy-mm and bounds them in UTC', () => {
    assert.deepEqual(parseMonth('2026-11'), { year: 2026, month: 11 });
    for (const bad of ['2026-13', '2026-00', '2026-1', '26-11', '1969-12', '2026-11-01', ' 2026-11', '']) assert.equal(parseMonth(bad), null, bad);
    assert.deepEqual(monthBounds({ year: 2028, month: 2 }), { from: Date.UTC(2028, 1, 1), to: Date.UTC(2028, 2, 1) });
    assert.deepEqual(previousMonth({ year: 2026, month: 1 }), { year: 2025, month: 12 });
  });

  it('integrates battery power over the time records cover: 60 s at 6 kW discharged, 30 records at -6 kW charged', () => {
    const r = buildMonthlyReport(november());
    assert.equal(r.energy.dischargedKwh, 0.1);
    assert.equal(r.energy.chargedKwh, 0.05);
    // (0.1 + 0.05) / 2 / 10 kWh rated
    assert.equal(r.cycles.equivalentFull, 0.0075);
    assert.equal(r.cycles.capacityKwh, 10);
  });

  it('counts a minute that discharged and charged as both, from the power split by direction', () => {
    // 30 s at +2 kW and 30 s at -1 kW: mean +500 W, but 1000 W mean discharging and 500 W mean charging.
    const r = buildMonthlyReport(november({ samples: [sample(NOV, { batteryPowerW: 500, batteryDischargeW: 1000, batteryChargeW: 500 })] }));
    assert.equal(r.energy.dischargedKwh, Number((1000 * 60 / 3.6e6).toFixed(3)));
    assert.equal(r.energy.chargedKwh, Number((500 * 60 / 3.6e6).toFixed(3)));
  });

  it('counts as available only covered time in NORMAL or DERATED, over the whole month', () => {
    const r = buildMonthlyReport(november());
    assert.equal(r.period.hours, 720);
    assert.equal(r.period.complete, true);
    // online 60 + 30 + 60 + 60 s = 210 s; controllable without the SAFE_MODE minute: 150 s
    assert.equal(r.availability.onlineHours, Number((210 / 3600).toFixed(3)));
    assert.equal(r.availability.controllableHours, Number((150 / 3600).toFixed(3)));
    assert.equal(r.availability.share, Number((150 / (720 * 3600)).toFixed(4)));
  });

  it('bills the priced windows with and without the battery through the site tariff', () => {
    const r = buildMonthlyReport(november());
    // Window 00:00: with the battery (1000 x 60 + 7000 x 30 + 2000 x 60) W s = 390 000 W s over 150 s = 2.6 kW;
    // without: (7000 x 60 + 1000 x 30 + 2000 x 60) = 570 000 W s = 3.8 kW. Import price 0.1 + 0.2 EUR/kWh.
    assert.equal(r.bill.withBattery.energyEur, Number(((390_000 / 3.6e6) * 0.3).toFixed(2)));
    assert.equal(r.bill.withBattery.demandEur, 26);
    assert.equal(r.bill.withoutBattery.demandEur, 38);
    assert.equal(r.bill.withBattery.totalEur, 26.03);
    assert.equal(r.bill.withoutBattery.totalEur, 38.05);
    assert.equal(r.bill.savingEur, 12.02);
    // The last minute has no price: out of both bills, and said so.
    assert.equal(r.bill.pricedHours, Number((150 / 3600).toFixed(3)));
    assert.equal(r.bill.unpricedHours, Number((60 / 3600).toFixed(3)));
  });

  it("compares the month's highest 15-minute mean import with last month's", () => {
    const r = buildMonthlyReport(november());
    assert.equal(r.peak.importKw, 2.6);
    assert.equal(r.peak.lastMonthImportKw, 3);
    assert.equal(r.peak.changeKw, -0.4);
    assert.equal(buildMonthlyReport(november({ lastMonthSamples: [] })).peak.changeKw, null);
  });

  it('takes SoH from the estimates when the records carried some, else from the BMS', () => {
    const bms = buildMonthlyReport(november());
    assert.deepEqual([bms.soh.startPct, bms.soh.endPct, bms.soh.source], [98, 97, 'bms']);
    const est = buildMonthlyReport(november({ sohEstimates: [{ ts: NOV + 5 * 86_400_000, sohPct: 96.5 }, { ts: NOV + 86_400_000, sohPct: 96.9 }, { ts: NOV - 1, sohPct: 99 }] }));
    assert.deepEqual([est.soh.startPct, est.soh.endPct, est.soh.source], [96.9, 96.5, 'estimate']);
  });

  it('counts the alarms raised in the month by type, with the worst severity', () => {
    const r = buildMonthlyReport(november());
    assert.equal(r.alarms.total, 3);
    assert.deepEqual(r.alarms.byType, [{ code: 'SITE_OFFLINE', severity: 'critical', count: 2 }, { code: 'ESTOP', severity: 'critical', count: 1 }]);
  });

  it('splits a minute that enters SAFE_MODE by its mean mode: 45 of 60 records NORMAL, 15 SAFE_MODE', () => {
    // mean = (45 x 0 + 15 x 2) / 60 = 0.5
    const r = buildMonthlyReport(november({ samples: [sample(NOV, { mode: { min: 0, mean: 0.5, max: 2 } })] }));
    assert.equal(r.availability.controllableHours, Number((45 / 3600).toFixed(3)));
    assert.equal(r.availability.onlineHours, Number((60 / 3600).toFixed(3)));
    assert.equal(buildMonthlyReport(november({ samples: [sample(NOV, { mode: null })] })).availability.controllableHours, 0);
  });

  it('ends the current month at now and leaves what comes later out', () => {
    const now = NOV + 2 * MIN + 30_000;
    const r = buildMonthlyReport(november({ now }));
    assert.equal(r.period.complete, false);
    assert.equal(r.period.end, new Date(now).toISOString());
    // The SAFE_MODE minute is cut at now (30 s), the last minute of the month is in the future.
    assert.equal(r.availability.onlineHours, Number((120 / 3600).toFixed(3)));
    assert.equal(r.availability.share, Number((90 / 150).toFixed(4)));
  });

  it('writes one figure per CSV row (section,metric,value,unit) and keeps text from being read as a formula', () => {
    const csv = monthlyReportCsv(buildMonthlyReport(november({ siteName: '=HYPERLINK("x"), Berlin' })));
    const rows = csv.trimEnd().split('\r\n');
    assert.equal(rows[0], 'section,metric,value,unit');
    assert.ok(rows.includes('energy,discharged,0.1,kWh'));
    assert.ok(rows.includes('bill,saving,12.02,EUR'));
    assert.ok(rows.includes('peak,change,-0.4,kW'));
    assert.ok(rows.includes('alarms,SITE_OFFLINE,2,critical'));
    assert.ok(rows.includes(`report,siteName,"'=HYPERLINK(""x""), Berlin",`));
  });

  it('formats the figures the page and the PDF show', () => {
    const lines = monthlyReportSections(buildMonthlyReport(november())).flatMap((s) => s.lines);
    const value = (label: string) => lines.find((l) => l.label === label)?.value;
    assert.equal(value('Discharged'), '0.1 kWh');
    assert.equal(value('Saving'), '12.02 EUR');
    assert.equal(value('Change'), '-0.40 kW');
    assert.equal(value('SoH source'), 'BMS');
  });

  describe('for any samples of a month', () => {
    const from = NOV;
    const arb = fc
      .uniqueArray(
        fc.record({
          minute: fc.integer({ min: -60, max: 30 * 24 * 60 + 60 }),
          records: fc.integer({ min: 1, max: 120 }),
          batteryPowerW: fc.option(fc.double({ min: -50_000, max: 50_000, noNaN: true }), { nil: null }),
          batteryDischargeW: fc.option(fc.double({ min: 0, max: 50_000, noNaN: true }), { nil: null }),
          batteryChargeW: fc.option(fc.double({ min: 0, max: 50_000, noNaN: true }), { nil: null }),
          gridPowerW: fc.option(fc.double({ min: -50_000, max: 50_000, noNaN: true }), { nil: null }),
          netLoadW: fc.option(fc.double({ min: -50_000, max: 50_000, noNaN: true }), { nil: null }),
          mode: fc.option(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.double({ min: 0, max: 1, noNaN: true }))
            .map(([a, b, f]) => ({ min: Math.min(a, b), max: Math.max(a, b), mean: Math.min(a, b) + f * Math.abs(a - b) })), { nil: null }),
        }),
        { selector: (s) => s.minute, maxLength: 200 },
      )
      .map((xs) => xs.map((x) => sample(from + x.minute * MIN, { ...x })));
    const input = (samples: ReportSample[], now = Date.UTC(2026, 11, 5)) => november({ samples, lastMonthSamples: samples, now });

    it('charged and discharged are never negative, availability lies in [0, 1] and never exceeds being online', () => {
      fc.assert(fc.property(arb, fc.integer({ min: NOV - 86_400_000, max: Date.UTC(2026, 11, 5) }), (samples, now) => {
        const r = buildMonthlyReport(input(samples, now));
        assert.ok(r.energy.chargedKwh >= 0 && r.energy.dischargedKwh >= 0);
        assert.ok(r.availability.share >= 0 && r.availability.share <= 1);
        assert.ok(r.availability.onlineShare >= 0 && r.availability.onlineShare <= 1);
        assert.ok(r.availability.share <= r.availability.onlineShare);
        assert.ok(r.availability.controllableHours <= r.period.hours + 1e-9);
      }));
    });

    it('the same samples in any order and split in any parts give the same report', () => {
      fc.assert(fc.property(arb, fc.func(fc.integer()), fc.nat(), (samples, key, cut) => {
        const shuffled = [...samples].sort((a, b) => key(a.start) - key(b.start) || a.start - b.start);
        const at = samples.length ? cut % samples.length : 0;
        // Parts: two halves of the shuffled list, joined the other way round.
        const parts = [...shuffled.slice(at), ...shuffled.slice(0, at)];
        assert.deepEqual(buildMonthlyReport(input(parts)), buildMonthlyReport(input(samples)));
      }));
    });
  });
});
