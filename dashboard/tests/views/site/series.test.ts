import { describe, expect, it } from 'vitest';
import { bucketsToPoints, chartOption, CHART_FIELDS, seriesData, thresholdAxis, type ChartName } from '../../../src/views/site/series';
import { legendItems } from '../../../src/charts/legend';

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

describe('site charts read at a glance', () => {
  const points = [1, 2, 3].map((ts) => ({ ts, fields: { pcsPowerW: -1500, gridPowerW: 300, netLoadW: -1200, setpointW: -1500, socPct: 50, tempMaxC: 25, tempMinC: 22, cellSpreadV: 0.001 } }));

  it('never page a legend: ECharts\' own is hidden and every series is in the HTML legend', () => {
    for (const name of ['power', 'soc', 'temperature', 'spread'] as ChartName[]) {
      const o = chartOption(name, points) as { legend: { show: boolean; type?: string } };
      expect(o.legend.show).toBe(false);
      expect(o.legend.type).toBeUndefined();
    }
    const power = chartOption('power', points);
    expect(legendItems(power).map((i) => i.name)).toEqual(['Battery (+ discharge)', 'Grid (+ import)', 'Load net of PV', 'Setpoint']);
    expect(legendItems(power).find((i) => i.name === 'Setpoint')).toMatchObject({ dashed: true, shape: 'line' });
  });

  it('put the 100 mV spread alarm inside the axis even when the spread is 1 mV', () => {
    const o = chartOption('spread', points, { threshold: 100 }) as { yAxis: { min: number; max: number; scale: boolean } };
    expect(o.yAxis.min).toBeLessThanOrEqual(0);
    expect(o.yAxis.max).toBeGreaterThan(100);
    expect(o.yAxis.max).toBeLessThanOrEqual(200);
    expect(o.yAxis.scale).toBe(false);
  });

  it('choose a round axis top above both the data and the threshold', () => {
    expect(thresholdAxis([1, 2], 100)).toEqual({ min: 0, max: 200 });
    expect(thresholdAxis([180], 100)).toEqual({ min: 0, max: 250 });
    expect(thresholdAxis([-3, 40], 50)).toEqual({ min: -3, max: 100 });
    for (const t of [0.5, 7, 100, 3300]) {
      const r = thresholdAxis([0], t);
      expect(t).toBeGreaterThan(r.min);
      expect(t).toBeLessThan(r.max);
    }
  });
});
