// Chart legends as HTML above the canvas instead of ECharts' own: they wrap onto a second line at any
// width, where ECharts' scroll legend pages ("1/3") and hides series, and they never collide with
// an axis name. The options keep a hidden ECharts legend so a click can still toggle a series.
import type { ChartOption } from './echarts';

export interface LegendItem {
  name: string;
  color: string;
  dashed: boolean;
  /** A bar series is drawn as a block, a line as a stroke. */
  shape: 'line' | 'block';
}

/** The hidden ECharts legend every chart option carries (selection state only). */
export const HIDDEN_LEGEND = { show: false } as const;

interface SeriesLike {
  type?: string;
  name?: unknown;
  color?: unknown;
  lineStyle?: { color?: unknown; type?: unknown };
  itemStyle?: { color?: unknown };
  legendHidden?: boolean;
}

const asColor = (c: unknown): string | null => (typeof c === 'string' ? c : null);

/** One item per named series, in drawing order, with the colour the chart really uses. */
export function legendItems(option: ChartOption): LegendItem[] {
  const raw = option.series;
  const series = (Array.isArray(raw) ? raw : raw ? [raw] : []) as SeriesLike[];
  const seen = new Set<string>();
  const out: LegendItem[] = [];
  for (const s of series) {
    if (typeof s.name !== 'string' || !s.name || seen.has(s.name)) continue;
    seen.add(s.name);
    out.push({
      name: s.name,
      color: asColor(s.itemStyle?.color) ?? asColor(s.lineStyle?.color) ?? asColor(s.color) ?? '#64748b',
      dashed: s.lineStyle?.type === 'dashed' || s.lineStyle?.type === 'dotted',
      shape: s.type === 'bar' ? 'block' : 'line',
    });
  }
  return out;
}

/**
 * Time-axis labels: the hour, and the date in words where a day starts ("Dec 8"), not ECharts'
 * bare day number ("8") that reads as a mistyped hour.
 */
export const TIME_LABELS = { year: '{yyyy}', month: '{MMM} {yyyy}', day: '{MMM} {d}', hour: '{HH}:{mm}', minute: '{HH}:{mm}', second: '{HH}:{mm}:{ss}' } as const;
