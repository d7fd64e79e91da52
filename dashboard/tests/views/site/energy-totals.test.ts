import { describe, expect, it } from 'vitest';
import { energyTotals, startOfLocalDay } from '../../../src/views/site/energy-totals';

const FIVE_MIN = 300_000;
const at = (i: number, fields: Record<string, number>) => ({ ts: i * FIVE_MIN, fields });

describe("today's energy totals", () => {
  it('integrate interval means into import, export, charged, discharged and house energy', () => {
    // An hour of 12 five-minute means: 6 importing 1.2 kW while charging 1 kW, 6 exporting 600 W while discharging 400 W.
    const points = [
      ...Array.from({ length: 6 }, (_, i) => at(i, { gridPowerW: 1200, pcsPowerW: -1000, netLoadW: 200 })),
      ...Array.from({ length: 6 }, (_, i) => at(6 + i, { gridPowerW: -600, pcsPowerW: 400, netLoadW: -200 })),
    ];
    const t = energyTotals(points, FIVE_MIN);
    expect(t.importWh).toBeCloseTo(600, 6);
    expect(t.exportWh).toBeCloseTo(300, 6);
    expect(t.chargedWh).toBeCloseTo(500, 6);
    expect(t.dischargedWh).toBeCloseTo(200, 6);
    expect(t.houseWh).toBeCloseTo(100, 6);
    expect(t.houseNetOfPv).toBe(true);
    expect(t.pvWh).toBeNull();
  });

  it("prefer the meter's energy counters for import and export", () => {
    const points = [at(0, { gridPowerW: 5000, gridImportWh: 1000, gridExportWh: 50 }), at(1, { gridPowerW: 5000, gridImportWh: 1250, gridExportWh: 50 })];
    const t = energyTotals(points, FIVE_MIN);
    expect(t.importWh).toBe(250);
    expect(t.exportWh).toBe(0);
  });

  it('say "no data" (null) for a quantity nothing measured, never 0', () => {
    const t = energyTotals([], FIVE_MIN);
    expect(t).toMatchObject({ pvWh: null, importWh: null, exportWh: null, chargedWh: null, dischargedWh: null, houseWh: null });
  });

  it('start the day at local midnight', () => {
    const now = new Date(2026, 11, 7, 15, 30).getTime();
    expect(startOfLocalDay(now)).toBe(new Date(2026, 11, 7).getTime());
  });
});
