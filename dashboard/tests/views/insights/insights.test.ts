// The Insights page's charts and rows from the /ml answers: what is drawn where, in which unit.
import { describe, expect, it } from 'vitest';
import type { AnomalyHistory, DayForecast, RetrainView, SohPoint } from '../../../src/api/ml-types';
import { formatDay } from '../../../src/format';
import { legendItems } from '../../../src/charts/legend';
import { anomalyChartOption, dateInput, forecastChartOption, latestSohByOrigin, modelRows, retrainRows, sohChartOption, stepPoints } from '../../../src/views/insights/insights';

const START = Date.UTC(2026, 10, 19, 23);
const iso = (ms: number) => new Date(ms).toISOString();
const view = (kw: number) => ({ model: 'forecast.onnx 2026-11-01', madeAt: iso(START), start: iso(START), loadKw: Array.from({ length: 96 }, () => kw), filledSteps: 0, maeKw: 0.1, mapePct: 5, comparedSteps: 2 });
type Series = { name: string; data: [number, number | null][]; markLine?: { data: { yAxis: number }[] }; markArea?: { data: [{ xAxis: number }, { xAxis: number }][] } };
const seriesOf = (o: unknown) => (o as { series: Series[] }).series;

describe('insights charts', () => {
  it('draws the actual load and both forecasts of the day at the middle of each 15-minute step, gaps where nothing was stored', () => {
    const f: DayForecast = { siteId: 's', day: '2026-11-20', start: iso(START), stepMinutes: 15, edge: view(1.5), cloud: view(2), actualKw: [1.2, null, ...Array.from({ length: 94 }, () => null)] };
    const s = seriesOf(forecastChartOption(f));
    expect(s.map((x) => x.name)).toEqual(['Actual load', 'Edge forecast', 'Cloud forecast']);
    expect(s[0]?.data.slice(0, 2)).toEqual([[START + 450_000, 1.2], [START + 1_350_000, null]]);
    expect(s[1]?.data).toHaveLength(96);
    expect(s[2]?.data[95]).toEqual([START + 95 * 900_000 + 450_000, 2]);
  });

  it('leaves out a forecast nobody made and the actual load before any was stored', () => {
    const f: DayForecast = { siteId: 's', day: '2026-11-20', start: iso(START), stepMinutes: 15, edge: null, cloud: view(2), actualKw: Array.from({ length: 96 }, () => null) };
    expect(seriesOf(forecastChartOption(f)).map((x) => x.name)).toEqual(['Cloud forecast']);
    expect(stepPoints(0, [1.23456])).toEqual([[450_000, 1.235]]);
  });

  it('draws the SoH with its one-sigma band and the ageing model', () => {
    const p: SohPoint[] = [{ ts: iso(START), origin: 'edge', sohPct: 97.5, sdPct: 0.5, capacityWh: 9000, source: 'measured', measurements: 2, cycles: 100, priorPct: 98 }];
    const s = seriesOf(sohChartOption(p));
    expect(s.map((x) => [x.name, x.data[0]?.[1]])).toEqual([['SoH', 97.5], ['SoH + 1σ', 98], ['SoH − 1σ', 97], ['Ageing model', 98]]);
  });

  it('marks every cycle at its middle, the anomalous ones apart and shaded, with the threshold line', () => {
    const day = 86_400_000;
    const h: AnomalyHistory = {
      siteId: 's', from: iso(0), to: iso(START), threshold: 0.6,
      cycles: [
        { cycleStart: iso(START - 2 * day), cycleEnd: iso(START - day), origin: 'edge', model: 'm', score: 0.4, threshold: 0.6, anomalous: false, features: {}, samples: 1 },
        { cycleStart: iso(START - day), cycleEnd: iso(START), origin: 'edge', model: 'm', score: 0.75, threshold: 0.6, anomalous: true, features: {}, samples: 1 },
      ],
    };
    const [normal, flagged] = seriesOf(anomalyChartOption(h));
    expect(normal?.data).toEqual([[START - 1.5 * day, 0.4]]);
    expect(flagged?.data).toEqual([[START - 0.5 * day, 0.75]]);
    expect(normal?.markLine?.data[0]?.yAxis).toBe(0.6);
    expect(flagged?.markArea?.data).toEqual([[{ xAxis: START - day }, { xAxis: START }]]);
  });
});

describe('insights of the edge and the cloud side by side', () => {
  const day = 86_400_000;
  const soh = (origin: 'edge' | 'cloud', sohPct: number, ts = START): SohPoint => ({ ts: iso(ts), origin, sohPct, sdPct: 0.5, capacityWh: 9000, source: 'measured', measurements: 2, cycles: 100, priorPct: 98 });

  it('draws one SoH line per origin, named by it, with the band and the ageing model of the edge', () => {
    const s = seriesOf(sohChartOption([soh('edge', 97.5), soh('cloud', 97.4), soh('edge', 97.3, START + day)]));
    expect(s.map((x) => x.name)).toEqual(['SoH (edge)', 'SoH (cloud)', 'SoH + 1σ (edge)', 'SoH − 1σ (edge)', 'Ageing model']);
    expect(s[0]?.data.map((p) => p[1])).toEqual([97.5, 97.3]);
    expect(s[1]?.data).toEqual([[START, 97.4]]);
    expect(s[2]?.data).toHaveLength(2);
    expect(latestSohByOrigin([soh('cloud', 97.4), soh('edge', 97.5), soh('edge', 97.3, START + day)]).map((p) => [p.origin, p.sohPct])).toEqual([['edge', 97.3], ['cloud', 97.4]]);
    expect(seriesOf(sohChartOption([soh('cloud', 97.4)]))[0]?.name).toBe('SoH');
  });

  it('marks the cycles of each origin apart (the cloud in diamonds) and shades a cycle flagged by both once', () => {
    const cycle = (origin: 'edge' | 'cloud', score: number) => ({ cycleStart: iso(START - day), cycleEnd: iso(START), origin, model: 'm', score, threshold: 0.6, anomalous: score > 0.6, features: {}, samples: 1440 });
    const h: AnomalyHistory = { siteId: 's', from: iso(0), to: iso(START), threshold: 0.6, cycles: [cycle('edge', 0.7), cycle('cloud', 0.68)] };
    const s = seriesOf(anomalyChartOption(h)) as (Series & { symbol?: string })[];
    expect(s.map((x) => x.name)).toEqual(['Cycle score (edge)', 'Anomalous cycle (edge)', 'Cycle score (cloud)', 'Anomalous cycle (cloud)']);
    expect(s[1]?.data).toEqual([[START - 0.5 * day, 0.7]]);
    expect(s[3]?.data).toEqual([[START - 0.5 * day, 0.68]]);
    expect(s[3]?.symbol).toBe('diamond');
    expect(s[1]?.markArea?.data).toEqual([[{ xAxis: START - day }, { xAxis: START }]]);
    expect(s[0]?.markLine?.data[0]?.yAxis).toBe(0.6);
  });
});

describe('insights rows', () => {
  const r = (replaced: boolean): RetrainView => ({
    siteId: 's', kind: 'forecast', at: iso(START), evalFrom: '2026-11-06T00:00:00.000Z', evalTo: '2026-11-20T00:00:00.000Z',
    current: { model: 'forecast.onnx A', mae: 0.2, mapePct: 30.25 }, candidate: { model: 'forecast.onnx B', mae: 0.1, mapePct: null, trainDays: 22 },
    replaced, modelAfter: replaced ? 'forecast.onnx B' : 'forecast.onnx A',
  });

  it('shows both scores of a retraining on the same days, and which model stayed', () => {
    const [kept, replaced] = retrainRows([r(false), r(true)]);
    expect(kept).toMatchObject({ evalWindow: `${formatDay('2026-11-06T00:00:00Z', { utc: true })} – ${formatDay('2026-11-19T00:00:00Z', { utc: true })}`, currentMae: '0.200 kW', currentMape: '30.3 %', candidateMae: '0.100 kW', candidateMape: '—', modelAfter: 'forecast.onnx A' });
    expect(kept?.outcome).toMatch(/kept/);
    expect(replaced?.outcome).toMatch(/replaced/);
    expect(replaced?.modelAfter).toBe('forecast.onnx B');
  });

  it("lists the site's models newest first and a date input's local day", () => {
    const m = (name: string, lastSeen: string, siteId = 's') => ({ siteId, kind: 'forecast' as const, origin: 'edge' as const, name, firstSeen: lastSeen, lastSeen });
    expect(modelRows({ models: [m('old', iso(1)), m('other', iso(3), 't'), m('new', iso(2))], retrains: [] }, 's').map((x) => x.name)).toEqual(['new', 'old']);
    expect(dateInput(new Date(2026, 10, 20, 12).getTime())).toBe('2026-11-20');
  });
});

describe('insights charts read at a glance', () => {
  const p = (ts: number, sohPct: number): SohPoint => ({ ts: iso(ts), origin: 'edge', sohPct, sdPct: 0.5, capacityWh: 9000, source: 'prior', measurements: 0, cycles: 1, priorPct: sohPct });

  it('span the whole period asked for on the time axis, however young the site', () => {
    const to = START + 2 * 86_400_000;
    const period = { from: to - 90 * 86_400_000, to };
    const o = sohChartOption([p(START, 99.9), p(START + 86_400_000, 99.8)], period) as { xAxis: { min: number; max: number }; legend: { show: boolean } };
    expect(o.xAxis.max - o.xAxis.min).toBe(90 * 86_400_000);
    expect(o.legend.show).toBe(false);
    expect(legendItems(o as never).map((i) => i.name)).toContain('SoH');
  });
});
