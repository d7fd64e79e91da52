// The Insights page: a site's forecasts against the actual load of the chosen day, its SoH, its
// anomalous cycles and the retrainings with both scores, from /api/v1/ml played by a fetch stub;
// and each section shows its own error without hiding the others. ECharts is stubbed: happy-dom has
// no canvas (the chart options are tested in tests/views/insights/insights.test.ts).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { createMemoryHistory, createRouter } from 'vue-router';
import InsightsView from '../../../src/views/insights/InsightsView.vue';
import { routes } from '../../../src/router';
import { useAuthStore } from '../../../src/stores/auth';

const START = Date.UTC(2026, 10, 19, 23);
const iso = (ms: number) => new Date(ms).toISOString();
const forecast = (kw: number, mae: number) => ({ model: `forecast.onnx ${kw}`, madeAt: iso(START), start: iso(START), loadKw: Array.from({ length: 96 }, () => kw), filledSteps: 0, maeKw: mae, mapePct: 12.5, comparedSteps: 96 });

describe('the Insights page', () => {
  let urls: string[];
  let failAnomalies: boolean;
  let cloudToo: boolean;

  beforeEach(() => {
    document.body.innerHTML = '';
    urls = [];
    failAnomalies = false;
    cloudToo = false;
    vi.stubGlobal('fetch', async (url: string) => {
      urls.push(url);
      const json = (b: unknown, status = 200) => new Response(JSON.stringify(b), { status, headers: { 'content-type': 'application/json' } });
      if (url.startsWith('/api/v1/sites')) return json({ sites: [{ id: 'site-1', name: 'Site 1', state: 'online' }] });
      if (url.startsWith('/api/v1/ml/sites/site-1/forecast')) {
        return json({ siteId: 'site-1', day: '2026-11-20', start: iso(START), stepMinutes: 15, edge: forecast(1.5, 0.21), cloud: forecast(1.7, 0.18), actualKw: Array.from({ length: 96 }, () => 1.6) });
      }
      if (url.startsWith('/api/v1/ml/sites/site-1/soh')) {
        const point = { ts: iso(START), origin: 'edge', sohPct: 96.4, sdPct: 0.7, capacityWh: 9800, source: 'measured', measurements: 4, cycles: 250, priorPct: 97 };
        return json({ points: cloudToo ? [point, { ...point, origin: 'cloud', sohPct: 96.2 }] : [point] });
      }
      if (url.startsWith('/api/v1/ml/sites/site-1/anomalies')) {
        if (failAnomalies) return json({ error: 'internal', message: 'store down' }, 500);
        return json({
          siteId: 'site-1', from: iso(0), to: iso(START), threshold: 0.62,
          cycles: [
            { cycleStart: iso(START - 86_400_000), cycleEnd: iso(START), origin: 'edge', model: 'anomaly.onnx', score: 0.8, threshold: 0.62, anomalous: true, features: { restDriftMvPerH: 3.25 }, samples: 100 },
            ...(cloudToo ? [{ cycleStart: iso(START - 86_400_000), cycleEnd: iso(START), origin: 'cloud', model: 'anomaly.onnx', score: 0.5, threshold: 0.62, anomalous: false, features: { restDriftMvPerH: 1.5 }, samples: 1440 }] : []),
          ],
        });
      }
      if (url.startsWith('/api/v1/ml/models')) {
        return json({
          models: [{ siteId: 'site-1', kind: 'forecast', origin: 'cloud', name: 'forecast.onnx B', firstSeen: iso(START), lastSeen: iso(START) }],
          retrains: [{
            siteId: 'site-1', kind: 'forecast', at: iso(START), evalFrom: '2026-11-06T00:00:00.000Z', evalTo: '2026-11-20T00:00:00.000Z',
            current: { model: 'forecast.onnx A', mae: 0.31, mapePct: 40 }, candidate: { model: 'forecast.onnx B', mae: 0.22, mapePct: 30 }, replaced: true, modelAfter: 'forecast.onnx B',
          }],
        });
      }
      return json({ error: 'not_found', message: 'x' }, 404);
    });
  });
  afterEach(() => vi.unstubAllGlobals());

  async function mountFor(id: string) {
    const pinia = createPinia();
    setActivePinia(pinia);
    const auth = useAuthStore();
    auth.accessToken = 't';
    auth.user = { id: 'u', email: 'user@x', role: 'USER', orgId: 'default', twoFactor: false, disabled: false, siteIds: ['site-1'], createdAt: '' };
    const router = createRouter({ history: createMemoryHistory(), routes });
    await router.push(`/sites/${id}/insights`);
    const w = mount(InsightsView, { props: { id }, global: { plugins: [pinia, router], stubs: { EChart: true } }, attachTo: document.body });
    await flushPromises();
    return { w, router };
  }

  it("shows the day's edge and cloud forecast errors, the SoH, the anomalous cycle and both retraining scores", async () => {
    const { w } = await mountFor('site-1');
    const text = w.text();
    expect(w.find('[data-test=insights-forecast]').text()).toContain('0.210 kW');
    expect(w.find('[data-test=insights-forecast]').text()).toContain('0.180 kW');
    expect(w.find('[data-test=insights-soh]').text()).toContain('96.4 %');
    expect(w.find('[data-test=insights-flagged]').text()).toContain('restDriftMvPerH 3.25');
    expect(w.find('[data-test=insights-anomalies]').text()).toContain('Threshold 0.620; 1 of 1 cycles above it');
    const row = w.find('[data-test=insights-retrains] tbody tr').text();
    expect(row).toContain('0.310 kW');
    expect(row).toContain('0.220 kW');
    expect(row).toMatch(/replaced/);
    expect(text).toContain('forecast.onnx B');
    w.unmount();
  });

  it("shows the edge's and the cloud's SoH and anomaly counts, each with its origin, where both exist", async () => {
    cloudToo = true;
    const { w } = await mountFor('site-1');
    expect(w.find('[data-test=insights-soh-edge]').text()).toMatch(/edge\s*96\.4 %/);
    expect(w.find('[data-test=insights-soh-cloud]').text()).toMatch(/cloud\s*96\.2 %/);
    expect(w.find('[data-test=insights-anomalies]').text()).toContain('edge: 1 of 1 cycles above it; cloud: 0 of 1 cycles above it');
    expect(w.find('[data-test=insights-flagged]').text()).toMatch(/edge\s*score 0\.800/);
    w.unmount();
  });

  it('asks for the chosen day', async () => {
    const { w } = await mountFor('site-1');
    await w.find('[data-test=insights-day]').setValue('2026-11-18');
    await flushPromises();
    expect(urls.some((u) => u === '/api/v1/ml/sites/site-1/forecast?day=2026-11-18')).toBe(true);
    w.unmount();
  });

  it('shows an error in the anomaly section only when its request fails', async () => {
    failAnomalies = true;
    const { w } = await mountFor('site-1');
    expect(w.find('[data-test=insights-anomalies] [role=alert]').text()).toContain('store down');
    expect(w.find('[data-test=insights-soh]').text()).toContain('96.4 %');
    w.unmount();
  });

  it('is a page of its own under the site, guarded by telemetry:read', () => {
    const r = routes.find((x) => x.name === 'site-insights');
    expect(r?.path).toBe('/sites/:id/insights');
    expect(r?.meta?.permission).toBe('telemetry:read');
  });
});
