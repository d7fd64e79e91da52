// From points (live pushes or history buckets) to chart series: the four charts of the site page.
// Pure, so the choice of fields, units and signs is tested without a browser.
import type { ChartOption } from '../../charts/echarts';
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
      { field: 'pcsPowerW', name: 'Battery (+ discharge)', color: '#16a34a', area: true },
      { field: 'gridPowerW', name: 'Grid (+ import)', color: '#2563eb' },
      { field: 'netLoadW', name: 'Load net of PV', color: '#9333ea' },
      { field: 'pvPowerW', name: 'PV', color: '#d97706' },
      { field: 'setpointW', name: 'Setpoint', color: '#0f172a', dashed: true },
    ],
  },
  soc: { title: 'State of charge', unit: '%', scale: 1, series: [{ field: 'socPct', name: 'SoC', color: '#16a34a', area: true }] },
  temperature: {
    title: 'Temperatures', unit: '°C', scale: 1,
    series: [
      { field: 'tempMaxC', name: 'Max', color: '#dc2626' },
      { field: 'tempMinC', name: 'Min', color: '#2563eb' },
    ],
  },
  spread: { title: 'Cell voltage spread', unit: 'mV', scale: 1000, series: [{ field: 'cellSpreadV', name: 'Max − min cell', color: '#a16207', area: true }] },
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

/** An ECharts option for one chart; series without any data are left out (e.g. no PV meter). */
export function chartOption(name: ChartName, points: readonly Point[], opts: { threshold?: number | null } = {}): ChartOption {
  const def = CHARTS[name];
  const series = def.series
    .map((s: SeriesDef) => ({ s, data: seriesData(points, s.field, (s.scale ?? 1) * def.scale) }))
    .filter(({ data }) => data.length > 0)
    .map(({ s, data }) => ({
      type: 'line' as const,
      name: s.name,
      data,
      showSymbol: false,
      sampling: 'lttb' as const,
      lineStyle: { width: 2, color: s.color, type: s.dashed ? ('dashed' as const) : ('solid' as const) },
      itemStyle: { color: s.color },
      areaStyle: s.area ? { opacity: 0.08 } : undefined,
      markLine:
        opts.threshold !== undefined && opts.threshold !== null && s.field === 'cellSpreadV'
          ? { silent: true, symbol: 'none', lineStyle: { color: '#b91c1c', type: 'dashed' as const }, data: [{ yAxis: opts.threshold, name: 'alarm' }] }
          : undefined,
    }));
  return {
    animation: false,
    grid: { left: 48, right: 16, top: 36, bottom: 28 },
    legend: { top: 0, type: 'scroll', textStyle: { fontSize: 11 } },
    tooltip: { trigger: 'axis', valueFormatter: (v) => (typeof v === 'number' ? `${v.toFixed(2)} ${def.unit}` : String(v)) },
    xAxis: { type: 'time', splitNumber: 3, axisLabel: { hideOverlap: true, fontSize: 11 } },
    yAxis: { type: 'value', name: def.unit, nameTextStyle: { fontSize: 11 }, scale: name !== 'soc', min: name === 'soc' ? 0 : undefined, max: name === 'soc' ? 100 : undefined },
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
