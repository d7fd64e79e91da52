// The schedule chart: the planned battery power per step as bars (+ discharge), the day-ahead price
// as a line on its own axis, and the planned SoC: "charge when cheap, discharge when dear" at a glance.
// A plan against the site's tariff shows its import and export prices (EUR/kWh) instead of spot.
import type { ChartOption } from '../../charts/echarts';
import type { Plan } from '../../api/types';

export function planChartOption(plan: Plan): ChartOption {
  const stepMs = plan.stepMinutes * 60_000;
  const power = plan.steps.map((s) => [s.start + stepMs / 2, Math.round(s.powerW) / 1000]);
  const price = plan.steps.map((s) => [s.start + stepMs / 2, s.priceEurPerMWh]);
  const soc = plan.steps.map((s) => [s.start + stepMs, s.socPct]);
  const tariff = hasTariff(plan);
  const priceSeries = tariff
    ? [
      { type: 'line', name: 'Import price', data: plan.steps.map((s) => [s.start + stepMs / 2, s.importEurPerKwh]), yAxisIndex: 1, step: 'middle', showSymbol: false, lineStyle: { color: '#d97706', width: 2 }, itemStyle: { color: '#d97706' } },
      { type: 'line', name: 'Export price', data: plan.steps.map((s) => [s.start + stepMs / 2, s.exportEurPerKwh]), yAxisIndex: 1, step: 'middle', showSymbol: false, lineStyle: { color: '#7c3aed', width: 2 }, itemStyle: { color: '#7c3aed' } },
    ]
    : [{ type: 'line', name: 'Price', data: price, yAxisIndex: 1, step: 'middle', showSymbol: false, lineStyle: { color: '#d97706', width: 2 }, itemStyle: { color: '#d97706' } }];
  return {
    animation: false,
    grid: { left: 52, right: 56, top: 40, bottom: 30 },
    legend: { top: 0, textStyle: { fontSize: 11 } },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'time', axisLabel: { hideOverlap: true, fontSize: 11 } },
    yAxis: [
      { type: 'value', name: 'kW', nameTextStyle: { fontSize: 11 } },
      { type: 'value', name: tariff ? '€/kWh' : '€/MWh', nameTextStyle: { fontSize: 11 }, splitLine: { show: false } },
      { type: 'value', name: '%', min: 0, max: 100, show: false },
    ],
    series: [
      {
        type: 'bar', name: 'Battery plan (+ discharge)', data: power, yAxisIndex: 0, barMaxWidth: 14,
        itemStyle: { color: (p: { value: unknown }) => (((p.value as number[])[1] ?? 0) >= 0 ? '#16a34a' : '#2563eb') },
      },
      ...priceSeries,
      { type: 'line', name: 'SoC', data: soc, yAxisIndex: 2, showSymbol: false, lineStyle: { color: '#64748b', width: 1.5, type: 'dashed' }, itemStyle: { color: '#64748b' } },
    ],
  } as ChartOption;
}

/** Energy the plan moves, Wh: charged (negative power) and discharged. */
export function planEnergy(plan: Plan): { chargeWh: number; dischargeWh: number } {
  const h = plan.stepMinutes / 60;
  let chargeWh = 0;
  let dischargeWh = 0;
  for (const s of plan.steps) {
    if (s.powerW > 0) dischargeWh += s.powerW * h;
    else chargeWh += -s.powerW * h;
  }
  return { chargeWh, dischargeWh };
}

/** Whether the plan was made against the site's tariff (each step has import and export prices). */
export function hasTariff(plan: Plan): boolean {
  return plan.steps.length > 0 && plan.steps.every((s) => s.importEurPerKwh !== undefined && s.exportEurPerKwh !== undefined && s.gridW !== null);
}

/**
 * The planned energy bill of the steps in [from, to), EUR, with the battery (the planned grid power)
 * and without it (the same site: grid power plus the battery's), at the plan's import and export
 * prices; null without a tariff or without steps there. A demand charge is left out: it is the
 * month's, not a day's.
 */
export function plannedBill(plan: Plan, from: number, to: number): { withEur: number; withoutEur: number; savingEur: number } | null {
  if (!hasTariff(plan)) return null;
  const h = plan.stepMinutes / 60;
  const price = (kw: number, s: Plan['steps'][number]): number => kw * h * (kw > 0 ? (s.importEurPerKwh as number) : (s.exportEurPerKwh as number));
  let withEur = 0;
  let withoutEur = 0;
  let n = 0;
  for (const s of plan.steps) {
    if (s.start < from || s.start >= to) continue;
    const grid = (s.gridW as number) / 1000;
    withEur += price(grid, s);
    withoutEur += price(grid + s.powerW / 1000, s);
    n++;
  }
  return n ? { withEur, withoutEur, savingEur: withoutEur - withEur } : null;
}
