// From points (live pushes or history buckets) to chart series: the four charts of the site page.
// Pure, so the choice of fields, units and signs is tested without a browser.
import type { ChartOption } from '../../charts/echarts';
import { COLORS } from '../../charts/colors';
import { HIDDEN_LEGEND, TIME_LABELS } from '../../charts/legend';
import type { TelemetryBucket } from '../../api/types';
import { toMs } from '../../format';

export interface Point {
  ts: number;
  fields: Record<string, number>;
}

/** History buckets as points: the mean of each field per interval. */
export function bucketsToPoints(buckets: readonly TelemetryBucket[]): Point[] {
  return buckets
    .map((b) => {
      const fields: Record<string, number> = {};
      for (const [k, a] of Object.entries(b.fields)) if (a.mean !== null && Number.isFinite(a.mean)) fields[k] = a.mean;
      return { ts: toMs(b.start) ?? 0, fields };
    })
    .filter((p) => p.ts > 0);
}

export interface SeriesDef {
  field: string;
  name: string;
  color: string;
  /** Multiplier for display (V -> mV). */
  scale?: number;
  dashed?: boolean;
  area?: boolean;
}

/** The site page's charts; the fields are io/timeseries/fields.ts names. */
export const CHARTS = {
  power: {
    title: 'Power flows', unit: 'kW', scale: 1 / 1000,
    series: [
      { field: 'pcsPowerW', name: 'Battery (+ discharge)', color: COLORS.discharge, area: true },
      { field: 'gridPowerW', name: 'Grid (+ import)', color: COLORS.grid },
      { field: 'netLoadW', name: 'Load net of PV', color: COLORS.load },
      { field: 'pvPowerW', name: 'PV', color: COLORS.pv },
      { field: 'setpointW', name: 'Setpoint', color: COLORS.setpoint, dashed: true },
    ],
  },
  soc: { title: 'State of charge', unit: '%', scale: 1, series: [{ field: 'socPct', name: 'SoC', color: COLORS.discharge, area: true }] },
  temperature: {
    title: 'Temperatures', unit: '°C', scale: 1,
    series: [
      { field: 'tempMaxC', name: 'Max', color: COLORS.tempMax },
      { field: 'tempMinC', name: 'Min', color: COLORS.tempMin },
    ],
  },
  spread: { title: 'Cell voltage spread', unit: 'mV', scale: 1000, series: [{ field: 'cellSpreadV', name: 'Max − min cell', color: COLORS.spread, area: true }] },
} as const satisfies Record<string, { title: string; unit: string; scale: number; series: readonly SeriesDef[] }>;

export type ChartName = keyof typeof CHARTS;

/** Every field the charts draw: what the history query asks for. */
export const CHART_FIELDS: string[] = [...new Set(Object.values(CHARTS).flatMap((c) => c.series.map((s) => s.field)))];

export function seriesData(points: readonly Point[], field: string, scale: number): [number, number][] {
  const out: [number, number][] = [];
  for (const p of points) {
    const v = p.fields[field];
    if (v !== undefined && Number.isFinite(v)) out.push([p.ts, Math.round(v * scale * 1000) / 1000]);
  }
  return out;
}

/**
 * The value axis of a chart with an alarm threshold: from 0 to a round number above both the data
 * and the threshold, so the threshold line is always on screen (a spread of 1 mV against a 100 mV
 * alarm shows how far from it the pack is). Without a threshold ECharts fits the data.
 */
export function thresholdAxis(values: readonly number[], threshold: number): { min: number; max: number } {
  const top = Math.max(threshold, ...values.filter(Number.isFinite)) * 1.15;
  const step = 10 ** Math.floor(Math.log10(top));
  const nice = [1, 2, 2.5, 5, 10].map((m) => m * step).find((v) => v >= top) ?? 10 * step;
  return { min: Math.min(0, ...values.filter(Number.isFinite)), max: nice };
}

/** An ECharts option for one chart; series without any data are left out (e.g. no PV meter). */
export function chartOption(name: ChartName, points: readonly Point[], opts: { threshold?: number | null } = {}): ChartOption {
  const def = CHARTS[name];
  const threshold = opts.threshold ?? null;
  const drawn = def.series
    .map((s: SeriesDef) => ({ s, data: seriesData(points, s.field, (s.scale ?? 1) * def.scale) }))
    .filter(({ data }) => data.length > 0);
  const series = drawn.map(({ s, data }, i) => ({
    type: 'line' as const,
    name: s.name,
    data,
    showSymbol: false,
    sampling: 'lttb' as const,
    lineStyle: { width: 2, color: s.color, type: s.dashed ? ('dashed' as const) : ('solid' as const) },
    itemStyle: { color: s.color },
    areaStyle: s.area ? { opacity: 0.08 } : undefined,
    markLine:
      threshold !== null && i === 0
        ? {
          silent: true, symbol: 'none', lineStyle: { color: COLORS.alarm, type: 'dashed' as const },
          label: { formatter: `alarm ${threshold} ${def.unit}`, position: 'insideEndTop' as const, color: COLORS.alarm, fontSize: 11 },
          data: [{ yAxis: threshold, name: 'alarm' }],
        }
        : undefined,
  }));
  const range = threshold !== null ? thresholdAxis(drawn.flatMap(({ data }) => data.map((d) => d[1])), threshold) : null;
  return {
    animation: false,
    grid: { left: 48, right: 16, top: 28, bottom: 28 },
    legend: HIDDEN_LEGEND,
    tooltip: { trigger: 'axis', valueFormatter: (v) => (typeof v === 'number' ? `${v.toFixed(2)} ${def.unit}` : String(v)) },
    xAxis: { type: 'time', splitNumber: 3, axisLabel: { hideOverlap: true, fontSize: 11, formatter: TIME_LABELS } },
    yAxis: {
      type: 'value', name: def.unit, nameTextStyle: { fontSize: 11, align: 'right' }, nameGap: 10,
      scale: name !== 'soc' && range === null,
      min: name === 'soc' ? 0 : range?.min, max: name === 'soc' ? 100 : range?.max,
    },
    series,
  } as ChartOption;
}

/** History ranges the page offers and the aggregation interval of each (about 200-400 points). */
export const RANGES = [
  { id: 'live', label: 'Live', ms: 15 * 60_000, every: '5s' },
  { id: '1h', label: '1 h', ms: 3_600_000, every: '15s' },
  { id: '6h', label: '6 h', ms: 6 * 3_600_000, every: '1m' },
  { id: '24h', label: '24 h', ms: 86_400_000, every: '5m' },
  { id: '7d', label: '7 d', ms: 7 * 86_400_000, every: '30m' },
] as const;
export type RangeId = (typeof RANGES)[number]['id'];
