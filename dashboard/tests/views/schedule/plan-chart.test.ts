import { describe, expect, it } from 'vitest';
import { hasTariff, plannedBill, planChartOption } from '../../../src/views/schedule/plan-chart';
import type { Plan } from '../../../src/api/types';

const Q = 900_000;
const day = Date.parse('2026-03-10T00:00:00Z');
// Two quarters today and one tomorrow: 2 kW load served by the battery, then a 4 kW surplus stored, then 1 kW bought.
const plan: Plan = {
  siteId: 's', ts: day, stepMinutes: 15, objectiveEur: 0, solveMs: 1, reason: '',
  steps: [
    { start: day, priceEurPerMWh: 50, powerW: 2000, socPct: 50, gridW: 0, importEurPerKwh: 0.25, exportEurPerKwh: 0.08 },
    { start: day + Q, priceEurPerMWh: 50, powerW: -4000, socPct: 60, gridW: 0, importEurPerKwh: 0.25, exportEurPerKwh: 0.08 },
    { start: day + 96 * Q, priceEurPerMWh: 50, powerW: 0, socPct: 60, gridW: 1000, importEurPerKwh: 0.25, exportEurPerKwh: 0.08 },
  ],
};

describe('plan against the site tariff', () => {
  it('prices today\'s planned grid with the battery and the same site without it', () => {
    const b = plannedBill(plan, day, day + 96 * Q);
    // Without the battery: 2 kW bought for 15 min (0.125 EUR), 4 kW sold for 15 min (-0.08 EUR).
    expect(b?.withEur).toBeCloseTo(0, 9);
    expect(b?.withoutEur).toBeCloseTo(0.5 * 0.25 - 1 * 0.08, 9);
    expect(b?.savingEur).toBeCloseTo(0.045, 9);
  });

  it('has no bill for a spot-only plan and shows spot then', () => {
    const spot: Plan = { ...plan, steps: plan.steps.map(({ importEurPerKwh: _i, exportEurPerKwh: _e, ...s }) => s) };
    expect(hasTariff(spot)).toBe(false);
    expect(plannedBill(spot, day, day + 96 * Q)).toBeNull();
    const names = (planChartOption(spot).series as { name: string }[]).map((s) => s.name);
    expect(names).toContain('Price');
  });

  it('charts the import and export prices and the planned SoC', () => {
    const names = (planChartOption(plan).series as { name: string }[]).map((s) => s.name);
    expect(names).toEqual(['Battery plan (+ discharge)', 'Import price', 'Export price', 'SoC']);
  });
});
