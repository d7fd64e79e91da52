import { describe, expect, it } from 'vitest';
import { hasTariff, importPeak, plannedBill, planChartOption, planReason } from '../../../src/views/schedule/plan-chart';
import { legendItems } from '../../../src/charts/legend';
import { COLORS } from '../../../src/charts/colors';
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
    expect(names).toEqual(['Planned discharge', 'Planned charge', 'Import price', 'Export price', 'Planned SoC']);
  });
});

describe('the schedule chart reads at a glance', () => {
  type Bar = { name: string; type: string; data: [number, number][]; itemStyle: { color: unknown }; stack?: string };
  const option = planChartOption(plan) as unknown as { series: Bar[]; yAxis: { show?: boolean; name: string; min?: number; max?: number }[]; legend: { show: boolean } };

  it('draws discharge and charge as bars of one colour each, the same as their legend swatch', () => {
    const [discharge, charge] = option.series;
    expect(discharge?.data.map((d) => d[1])).toEqual([2, 0, 0]);
    expect(charge?.data.map((d) => d[1])).toEqual([0, -4, 0]);
    expect(discharge?.itemStyle.color).toBe(COLORS.discharge);
    expect(charge?.itemStyle.color).toBe(COLORS.charge);
    expect(discharge?.stack).toBe(charge?.stack);
    const legend = legendItems(option as never);
    expect(legend.slice(0, 2)).toEqual([
      { name: 'Planned discharge', color: COLORS.discharge, dashed: false, shape: 'block' },
      { name: 'Planned charge', color: COLORS.charge, dashed: false, shape: 'block' },
    ]);
  });

  it('shows the planned SoC on a visible 0-100 % axis, and no paged legend', () => {
    const soc = option.yAxis[2];
    expect(soc?.show).not.toBe(false);
    expect(soc).toMatchObject({ name: 'SoC %', min: 0, max: 100 });
    expect(option.legend.show).toBe(false);
  });

  it('takes the month peak from imports only: a month of export has none', () => {
    expect(importPeak([{ start: 1, max: -857 }, { start: 2, max: -100 }])).toBeNull();
    expect(importPeak([{ start: 1, max: -857 }, { start: '1970-01-01T00:00:00.002Z', max: 1200 }, { start: 3, max: null }])).toEqual({ w: 1200, at: 2 });
  });

  it('says why the plan was made in words', () => {
    expect(planReason('first plan')).toBe('Planned when arbitrage started.');
    expect(planReason('new prices')).toBe('Re-planned for new prices.');
    expect(planReason('SoC 50.0 % is 6.0 points off the plan')).toBe('Re-planned: SoC 50.0 % is 6.0 points off the plan.');
    expect(planReason('')).toBe('');
  });
});
