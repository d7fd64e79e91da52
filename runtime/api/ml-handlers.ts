// Handlers of the /ml routes: the forecasts of a day against the actual load, the SoH
// history, the anomaly scores per cycle, and the model versions with their retraining scores.
// Everything is read from cloud.db (runtime/ml/insight-store.ts) and, for the actual load, from the
// time-series store; a site another organisation owns never gets here (the router's scope check).
import { DAY_MS } from '../../domain/forecast/features';
import type { InsightStore, StoredForecast } from '../ml/insight-store';
import { actualDay } from '../ml/store-load';
import type { Handlers, Services } from './services';

type MlRoutes = 'mlForecast' | 'mlSoh' | 'mlAnomalies' | 'mlModels';

export interface MlApi {
  insights: InsightStore;
  /** Site local time minus UTC, ms: where the days of the forecast route begin (the cloud ML service's). */
  offsetMs: number;
}

const iso = (ms: number) => new Date(ms).toISOString();
const HALF_DAY = DAY_MS / 2;

/** A forecast's error against the actual load, over the steps both have. */
export function forecastError(loadKw: readonly number[], actualKw: readonly (number | null)[]): { maeKw: number | null; mapePct: number | null; comparedSteps: number } {
  let ae = 0;
  let ape = 0;
  let nApe = 0;
  let n = 0;
  loadKw.forEach((f, i) => {
    const a = actualKw[i];
    if (a === null || a === undefined) return;
    ae += Math.abs(f - a);
    n++;
    if (a !== 0) {
      ape += Math.abs(f - a) / Math.abs(a);
      nApe++;
    }
  });
  return { maeKw: n ? ae / n : null, mapePct: nApe ? (100 * ape) / nApe : null, comparedSteps: n };
}

function forecastView(f: StoredForecast | undefined, actualKw: readonly (number | null)[]) {
  if (!f) return null;
  return { model: f.model, madeAt: iso(f.madeAt), start: iso(f.start), loadKw: f.loadKw, filledSteps: f.filledSteps, ...forecastError(f.loadKw, actualKw) };
}

export function mlHandlers(s: Services, ml: MlApi): Pick<Handlers, MlRoutes> {
  return {
    async mlForecast({ params, query }) {
      // The day as a UTC midnight; a site's day starts at its own midnight, within half a day of it.
      const midnight = query.day ?? Math.floor((Date.now() + ml.offsetMs) / DAY_MS) * DAY_MS;
      const found = await ml.insights.latestForecasts(params.id, midnight - HALF_DAY, midnight + HALF_DAY);
      const start = found.edge?.start ?? found.cloud?.start ?? midnight - ml.offsetMs;
      const store = s.store;
      // The store keeps nothing before 1970: no query for days it cannot hold.
      const actualKw = store && start >= 0 ? await actualDay(store, params.id, start) : Array.from({ length: 96 }, () => null);
      return {
        body: {
          siteId: params.id, day: iso(midnight).slice(0, 10), start: iso(start), stepMinutes: 15,
          edge: forecastView(found.edge, actualKw), cloud: forecastView(found.cloud, actualKw), actualKw,
        },
      };
    },

    async mlSoh({ params, query }) {
      const to = query.to ?? Date.now() + DAY_MS;
      const from = query.from ?? to - 366 * DAY_MS;
      const points = await ml.insights.soh(params.id, from, to, query.limit ?? 5000);
      return { body: { siteId: params.id, from: iso(from), to: iso(to), points: points.map((p) => ({ ...p, ts: iso(p.ts) })) } };
    },

    async mlAnomalies({ params, query }) {
      const to = query.to ?? Date.now() + DAY_MS;
      const from = query.from ?? to - 91 * DAY_MS;
      const cycles = await ml.insights.anomalies(params.id, from, to, query.limit ?? 5000);
      return {
        body: {
          siteId: params.id, from: iso(from), to: iso(to),
          threshold: cycles.length ? cycles[cycles.length - 1]!.threshold : null,
          cycles: cycles.map((c) => ({ ...c, cycleStart: iso(c.cycleStart), cycleEnd: iso(c.cycleEnd) })),
        },
      };
    },

    async mlModels({ principal, query }) {
      let ids = (await s.sites.visible(principal)).map((r) => r.id);
      if (query.siteId !== undefined) ids = ids.filter((id) => id === query.siteId);
      return {
        body: {
          models: (await ml.insights.models(ids)).map((m) => ({ ...m, firstSeen: iso(m.firstSeen), lastSeen: iso(m.lastSeen) })),
          retrains: (await ml.insights.retrains(ids, query.limit ?? 200)).map((r) => ({ ...r, at: iso(r.at), evalFrom: iso(r.evalFrom), evalTo: iso(r.evalTo) })),
        },
      };
    },
  };
}
