// The schedule chart: the planned battery power per step as bars (+ discharge), the day-ahead price
// as a line on its own axis, and the planned SoC: "charge when cheap, discharge when dear" at a glance.
// A plan against the site's tariff shows its import and export prices (EUR/kWh) instead of spot.
import type { ChartOption } from '../../charts/echarts';
import type { Plan } from '../../api/types';
import { COLORS } from '../../charts/colors';
import { HIDDEN_LEGEND, TIME_LABELS } from '../../charts/legend';

/** The right-hand axes: prices next to the plot, the planned SoC (0-100 %) outside them. */
const PRICE_AXIS_W = 52;

export function planChartOption(plan: Plan): ChartOption {
  const stepMs = plan.stepMinutes * 60_000;
  const mid = (s: Plan['steps'][number]) => s.start + stepMs / 2;
  // Charge and discharge as two bar series stacked on one axis: each has one colour, the same in
  // the legend and on the bars.
  const discharge = plan.steps.map((s) => [mid(s), s.powerW > 0 ? Math.round(s.powerW) / 1000 : 0]);
  const charge = plan.steps.map((s) => [mid(s), s.powerW < 0 ? Math.round(s.powerW) / 1000 : 0]);
  const soc = plan.steps.map((s) => [s.start + stepMs, s.socPct]);
  const tariff = hasTariff(plan);
  const priceLine = (name: string, data: (number | undefined)[][], color: string) => ({
    type: 'line', name, data, yAxisIndex: 1, step: 'middle', showSymbol: false, lineStyle: { color, width: 2 }, itemStyle: { color },
  });
  const priceSeries = tariff
    ? [
      priceLine('Import price', plan.steps.map((s) => [mid(s), s.importEurPerKwh]), COLORS.price),
      priceLine('Export price', plan.steps.map((s) => [mid(s), s.exportEurPerKwh]), COLORS.exportPrice),
    ]
    : [priceLine('Price', plan.steps.map((s) => [mid(s), s.priceEurPerMWh]), COLORS.price)];
  const bar = (name: string, data: number[][], color: string) => ({ type: 'bar', name, data, yAxisIndex: 0, stack: 'battery', barMaxWidth: 14, itemStyle: { color } });
  return {
    animation: false,
    grid: { left: 48, right: 2 * PRICE_AXIS_W, top: 28, bottom: 30 },
    legend: HIDDEN_LEGEND,
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'time', splitNumber: 4, axisLabel: { hideOverlap: true, fontSize: 11, formatter: TIME_LABELS } },
    yAxis: [
      { type: 'value', name: 'kW', nameTextStyle: { fontSize: 11 }, axisLabel: { fontSize: 11 } },
      { type: 'value', name: tariff ? '€/kWh' : '€/MWh', position: 'right', nameTextStyle: { fontSize: 11 }, axisLabel: { fontSize: 11 }, splitLine: { show: false } },
      {
        type: 'value', name: 'SoC %', position: 'right', offset: PRICE_AXIS_W, min: 0, max: 100, interval: 50,
        nameTextStyle: { fontSize: 11, color: COLORS.soc }, axisLabel: { fontSize: 11, color: COLORS.soc }, axisLine: { show: true, lineStyle: { color: COLORS.soc } }, splitLine: { show: false },
      },
    ],
    series: [
      bar('Planned discharge', discharge, COLORS.discharge),
      bar('Planned charge', charge, COLORS.charge),
      ...priceSeries,
      { type: 'line', name: 'Planned SoC', data: soc, yAxisIndex: 2, showSymbol: false, lineStyle: { color: COLORS.soc, width: 1.5, type: 'dashed' }, itemStyle: { color: COLORS.soc } },
    ],
  } as ChartOption;
}

/** The highest grid import among hourly maxima, or null when the site only exported (or nothing is stored). */
export function importPeak(buckets: readonly { start: number | string; max: number | null | undefined }[]): { w: number; at: number } | null {
  let best: { w: number; at: number } | null = null;
  for (const b of buckets) {
    if (b.max === null || b.max === undefined || !(b.max > 0)) continue;
    if (!best || b.max > best.w) best = { w: b.max, at: typeof b.start === 'string' ? Date.parse(b.start) : b.start };
  }
  return best;
}

// Why the edge made a new plan, as it reports it (nodes/arbitrage), in words an operator reads.
const PLAN_REASONS: Record<string, string> = {
  'first plan': 'Planned when arbitrage started.',
  'new step': 'Re-planned at the start of a new step.',
  enabled: 'Planned when arbitrage was switched on.',
  'new prices': 'Re-planned for new prices.',
  'new load forecast': 'Re-planned for a new load forecast.',
  'plan ran out': 'Re-planned: the previous plan had run out.',
};

export function planReason(reason: string | null | undefined): string {
  if (!reason) return '';
  const known = PLAN_REASONS[reason];
  if (known) return known;
  return `Re-planned: ${reason}.`;
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
