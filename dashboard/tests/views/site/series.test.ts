import { describe, expect, it } from 'vitest';
import { bucketsToPoints, chartOption, CHART_FIELDS, seriesData } from '../../../src/views/site/series';

describe('site chart series', () => {
  it('turn history buckets into points of the interval means, skipping empty means', () => {
    const points = bucketsToPoints([
      { start: '2026-01-01T00:00:00.000Z', count: 2, fields: { socPct: { mean: 50, min: 49, max: 51 }, gridPowerW: { mean: null, min: null, max: null } } },
    ]);
    expect(points).toEqual([{ ts: Date.parse('2026-01-01T00:00:00.000Z'), fields: { socPct: 50 } }]);
  });

  it('draw power in kW with + = discharge kept, and the cell spread in mV', () => {
    const points = [{ ts: 1, fields: { pcsPowerW: -1500, cellSpreadV: 0.012 } }];
    expect(seriesData(points, 'pcsPowerW', 1 / 1000)).toEqual([[1, -1.5]]);
    const spread = chartOption('spread', points, { threshold: 100 }) as { series: { data: [number, number][]; markLine?: unknown }[] };
    expect(spread.series[0]?.data).toEqual([[1, 12]]);
    expect(spread.series[0]?.markLine).toBeDefined();
  });

  it('leave out series without data (a site without a PV meter has no PV line)', () => {
    const option = chartOption('power', [{ ts: 1, fields: { pcsPowerW: 100, gridPowerW: 200 } }]) as { series: { name: string }[] };
    expect(option.series.map((s) => s.name)).toEqual(['Battery (+ discharge)', 'Grid (+ import)']);
  });

  it('ask the history for the stored fields the charts draw', () => {
    expect(CHART_FIELDS).toEqual(expect.arrayContaining(['pcsPowerW', 'gridPowerW', 'netLoadW', 'socPct', 'tempMaxC', 'tempMinC', 'cellSpreadV']));
  });
});
