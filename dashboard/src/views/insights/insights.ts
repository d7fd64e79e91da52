// The Insights page's pure part: from the /ml answers to chart options and table rows. The load
// forecast against the actual load of one day (the edge's and the cloud's forecast, kW per 15 min),
// the SoH trend with its one-sigma band, anomaly scores per cycle on the timeline with the alarm
// threshold (anomalous cycles shaded), and the retrainings with both scores. The edge and the
// cloud each estimate SoH and score cycles with the same models: where a site has both, each is
// drawn as its own series, named by its origin.
import type { ChartOption } from '../../charts/echarts';
import type { AnomalyHistory, DayForecast, ForecastView, ModelVersions, Origin, RetrainView, SohPoint } from '../../api/ml-types';
import { formatDay, humanizeMoments, toMs } from '../../format';
import { HIDDEN_LEGEND, TIME_LABELS } from '../../charts/legend';

/** The period a history chart covers: its time axis spans all of it, however few points there are. */
export interface Period { from: number; to: number }

const timeAxis = (period?: Period) => ({
  type: 'time' as const, min: period?.from, max: period?.to, splitNumber: 4, axisLabel: { hideOverlap: true, fontSize: 11, formatter: TIME_LABELS },
});

const STEP_MS = 15 * 60_000;

export const FORECAST_COLORS = { actual: '#0f172a', edge: '#9333ea', cloud: '#0891b2' } as const;

/** The local calendar date of a moment as YYYY-MM-DD (the date input's value). */
export function dateInput(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;

/** [time, kW] points of 96 steps from `start`, each at its step's middle; null steps are gaps. */
export function stepPoints(start: number, values: readonly (number | null)[], stepMs = STEP_MS): [number, number | null][] {
  return values.map((v, i) => [start + i * stepMs + stepMs / 2, v === null ? null : round3(v)]);
}

export function forecastChartOption(f: DayForecast): ChartOption {
  const start = toMs(f.start) ?? 0;
  const stepMs = f.stepMinutes * 60_000;
  const line = (name: string, data: [number, number | null][], color: string, type: 'solid' | 'dashed' | 'dotted', width = 2) => ({
    type: 'line' as const, name, data, showSymbol: false, connectNulls: false, step: 'middle' as const,
    lineStyle: { width, color, type }, itemStyle: { color },
  });
  const forecastLine = (name: string, v: ForecastView | null, color: string, type: 'dashed' | 'dotted') =>
    v ? [line(name, stepPoints(toMs(v.start) ?? start, v.loadKw, stepMs), color, type)] : [];
  return {
    animation: false,
    grid: { left: 48, right: 16, top: 28, bottom: 28 },
    legend: HIDDEN_LEGEND,
    tooltip: { trigger: 'axis', valueFormatter: (v) => (typeof v === 'number' ? `${v.toFixed(2)} kW` : '—') },
    xAxis: { type: 'time', min: start, max: start + 96 * stepMs, axisLabel: { hideOverlap: true, fontSize: 11 } },
    yAxis: { type: 'value', name: 'kW', nameTextStyle: { fontSize: 11 } },
    series: [
      ...(f.actualKw.some((v) => v !== null) ? [line('Actual load', stepPoints(start, f.actualKw, stepMs), FORECAST_COLORS.actual, 'solid', 2.5)] : []),
      ...forecastLine('Edge forecast', f.edge, FORECAST_COLORS.edge, 'dashed'),
      ...forecastLine('Cloud forecast', f.cloud, FORECAST_COLORS.cloud, 'dotted'),
    ],
  } as ChartOption;
}

const ORIGINS: readonly Origin[] = ['edge', 'cloud'];
const ORIGIN_LABEL: Record<Origin, string> = { edge: 'edge', cloud: 'cloud' };

/** The origins present, edge first. */
export function originsOf(items: readonly { origin: Origin }[]): Origin[] {
  return ORIGINS.filter((o) => items.some((x) => x.origin === o));
}

/** A series name, with its origin when both origins are drawn. */
const named = (name: string, origin: Origin, both: boolean) => (both ? `${name} (${ORIGIN_LABEL[origin]})` : name);

/** The newest estimate per origin, edge first. */
export function latestSohByOrigin(points: readonly SohPoint[]): SohPoint[] {
  return originsOf(points).flatMap((o) => points.filter((p) => p.origin === o).slice(-1));
}

export const SOH_COLORS: Record<Origin, string> = { edge: '#16a34a', cloud: '#0891b2' };

/**
 * The SoH trend (one line per origin), the ±1σ band as thin lines and the ageing model's prior
 * (what cycles alone predict) of the first origin (the edge's where both exist).
 */
export function sohChartOption(points: readonly SohPoint[], period?: Period): ChartOption {
  const at = (p: SohPoint) => toMs(p.ts) ?? 0;
  const origins = originsOf(points);
  const both = origins.length > 1;
  const main = points.filter((p) => p.origin === origins[0]);
  const thin = (name: string, data: [number, number][]) => ({
    type: 'line' as const, name, data, showSymbol: false, lineStyle: { width: 1, color: '#86efac', type: 'dashed' as const }, itemStyle: { color: '#86efac' },
  });
  return {
    animation: false,
    grid: { left: 48, right: 16, top: 28, bottom: 28 },
    legend: HIDDEN_LEGEND,
    tooltip: { trigger: 'axis', valueFormatter: (v) => (typeof v === 'number' ? `${v.toFixed(2)} %` : '—') },
    xAxis: timeAxis(period),
    yAxis: { type: 'value', name: '%', nameTextStyle: { fontSize: 11 }, scale: true },
    series: [
      ...origins.map((o) => {
        const own = points.filter((p) => p.origin === o);
        return {
          type: 'line' as const, name: named('SoH', o, both), data: own.map((p) => [at(p), round3(p.sohPct)]), showSymbol: own.length < 60,
          lineStyle: { width: 2, color: SOH_COLORS[o], ...(o === 'cloud' && both ? { type: 'dashed' as const } : {}) }, itemStyle: { color: SOH_COLORS[o] },
        };
      }),
      thin(named('SoH + 1σ', origins[0] ?? 'edge', both), main.map((p) => [at(p), round3(p.sohPct + p.sdPct)])),
      thin(named('SoH − 1σ', origins[0] ?? 'edge', both), main.map((p) => [at(p), round3(p.sohPct - p.sdPct)])),
      { type: 'line', name: 'Ageing model', data: main.map((p) => [at(p), round3(p.priorPct)]), showSymbol: false, lineStyle: { width: 1.5, color: '#64748b', type: 'dotted' }, itemStyle: { color: '#64748b' } },
    ],
  } as ChartOption;
}

/**
 * Anomaly scores on the site timeline: one mark per cycle at its middle, red when above the
 * threshold, the threshold as a dashed line, and the anomalous cycles shaded over their span.
 * Where the edge and the cloud both scored, each has its own pair of series (the cloud's marks
 * are diamonds).
 */
export function anomalyChartOption(h: AnomalyHistory, period?: Period): ChartOption {
  const mid = (c: AnomalyHistory['cycles'][number]) => ((toMs(c.cycleStart) ?? 0) + (toMs(c.cycleEnd) ?? 0)) / 2;
  const origins = originsOf(h.cycles);
  const both = origins.length > 1;
  const points = (o: Origin, anomalous: boolean) => h.cycles.filter((c) => c.origin === o && c.anomalous === anomalous).map((c) => [mid(c), round3(c.score)]);
  const marks = (color: string, symbol: string) => ({ type: 'line' as const, showSymbol: true, symbol, symbolSize: 9, lineStyle: { width: 0 }, itemStyle: { color } });
  // Each anomalous cycle shaded once, whoever flagged it.
  const spans = [...new Map(h.cycles.filter((c) => c.anomalous).map((c) => [c.cycleStart, c])).values()]
    .map((c) => [{ xAxis: toMs(c.cycleStart) ?? 0 }, { xAxis: toMs(c.cycleEnd) ?? 0 }]);
  return {
    animation: false,
    grid: { left: 48, right: 16, top: 28, bottom: 28 },
    legend: HIDDEN_LEGEND,
    tooltip: { trigger: 'item', valueFormatter: (v) => (typeof v === 'number' ? v.toFixed(3) : '—') },
    xAxis: timeAxis(period),
    yAxis: { type: 'value', name: 'score', min: 0, max: 1, nameTextStyle: { fontSize: 11 } },
    series: origins.flatMap((o, i) => {
      const cloud = o === 'cloud' && both;
      return [
        {
          ...marks(cloud ? '#0891b2' : '#2563eb', cloud ? 'diamond' : 'circle'), name: named('Cycle score', o, both), data: points(o, false),
          markLine: i > 0 || h.threshold === null ? undefined : { silent: true, symbol: 'none', lineStyle: { color: '#b91c1c', type: 'dashed' }, label: { formatter: 'threshold' }, data: [{ yAxis: h.threshold, name: 'threshold' }] },
        },
        {
          ...marks('#b91c1c', cloud ? 'diamond' : 'triangle'), name: named('Anomalous cycle', o, both), data: points(o, true), symbolSize: 12,
          markArea: i > 0 ? undefined : { silent: true, itemStyle: { color: 'rgba(185, 28, 28, 0.08)' }, data: spans },
        },
      ];
    }),
  } as ChartOption;
}

export interface RetrainRow {
  at: string;
  evalWindow: string;
  currentMae: string;
  currentMape: string;
  candidateMae: string;
  candidateMape: string;
  outcome: string;
  /** Which model serves after the retraining. */
  modelAfter: string;
  replaced: boolean;
}

const kw = (v: number) => `${v.toFixed(3)} kW`;
const pct = (v: number | null) => (v === null ? '—' : `${v.toFixed(1)} %`);

/** One table row per retraining, newest first: both MAE/MAPE on the same days, and what stayed. */
export function retrainRows(retrains: readonly RetrainView[]): RetrainRow[] {
  return retrains.map((r) => ({
    at: r.at,
    // evalTo is exclusive: the last day compared is the one before it.
    evalWindow: `${formatDay(r.evalFrom, { utc: true })} – ${formatDay((toMs(r.evalTo) ?? 0) - 1, { utc: true })}`,
    currentMae: kw(r.current.mae),
    currentMape: pct(r.current.mapePct),
    candidateMae: kw(r.candidate.mae),
    candidateMape: pct(r.candidate.mapePct),
    outcome: r.replaced ? 'Candidate replaced the model (better)' : 'Current model kept (candidate no better)',
    modelAfter: humanizeMoments(r.modelAfter),
    replaced: r.replaced,
  }));
}

/** The models behind a site's results, newest first per kind and origin. */
export function modelRows(v: ModelVersions, siteId: string): ModelVersions['models'] {
  return v.models.filter((m) => m.siteId === siteId).sort((a, b) => (toMs(b.lastSeen) ?? 0) - (toMs(a.lastSeen) ?? 0));
}
