// The cloud's own state of health and anomaly score per site (the same models run on the edge
// and in the cloud), from what the cloud stores: once per completed cycle (a
// site-local day, as the anomaly-score node counts them) it rebuilds the day's battery samples
// from the time-series store (store-battery.ts: minute means, what that approximates is said
// there), scores the cycle with the isolation forest's ONNX file and its threshold (the same
// cycleFeatures and the same model the edge's anomaly-score node runs), and advances a SohTracker
// (the soh-estimate node's, with the ageing model's ONNX prior) over the day. Results go to
// insight-store with origin 'cloud', beside the edge's.
//
// When a cycle is complete: the store holds a record of a later cycle. The edge sends its records
// in strict seq order, backlog first (nodes/telemetry-out/sender.ts), so by then the whole day
// is in. A cycle is done once (idempotent): after a restart the next cycle to do follows the
// latest cloud result in cloud.db; with nothing there, at most backfillDays are caught up.
//
// The SoH tracker is a filter over the pack's history: it is kept in memory per site and fed day
// after day; after a restart (or a gap) a new one is first fed the sohWarmupDays before the day,
// as the edge's node starts afresh at every restart, from the ageing prior at the BMS's cycles.
import { existsSync } from 'node:fs';
import { cycleFeatures, N_ANOMALY_FEATURES } from '../../domain/anomaly/cycle-features';
import { FEATURE_NAMES } from '../../domain/anomaly/feature-names';
import { cycleBounds, cycleIndex } from '../../domain/anomaly/anomaly-score';
import type { BatteryTelemetry, AnomalyScore, SohEstimateMessage } from '../../domain/contracts';
import { OcvCurve } from '../../domain/lfp/ocv-curve';
import { SohTracker, type AgeingPrior } from '../../domain/soh/soh-tracker';
import { loadOcvPoints } from '../../io/data/real-data';
import type { TimeseriesStore } from '../../io/timeseries/store';
import type { InsightStore } from './insight-store';
import { builtModel } from '../../io/ml/built-models';
import { anomalyModelFile, readModelFile, AGEING_MODEL_KIND } from '../../io/ml/model-files';
import { openSession, runRows, type Session } from '../../io/ml/onnx-session';
import { ageingPriorFromOnnx } from '../../io/ml/soh-prior';
import { batterySamples } from './store-battery';

export const BUILT_ANOMALY_MODEL = builtModel('anomaly');
export const BUILT_AGEING_MODEL = builtModel('ageing');

/** What the cloud knows of a site's pack: the soh-estimate and anomaly-score nodes' settings. */
export interface BatterySiteConfig {
  cellsInSeries: number;
  /** Rated capacity, Ah; null = the stored capacityWh over the pack's mid-SoC voltage (as the soh-estimate node does). */
  ratedAh: number | null;
  /** Equivalent full cycles before the first sample, when the BMS reports no cycle count. */
  initialCycles: number;
  /** Battery room temperature, degC: the thermal feature is the rise above it. */
  ambientC: number;
}

/** The nodes' defaults (nodes/soh-estimate/config.ts, nodes/anomaly-score/config.ts). */
export const DEFAULT_BATTERY_SITE: BatterySiteConfig = { cellsInSeries: 16, ratedAh: null, initialCycles: 0, ambientC: 20 };

export interface CloudBatteryOptions {
  store: () => TimeseriesStore | null;
  insights: InsightStore;
  /** The isolation forest (default BUILT_ANOMALY_MODEL) and the ageing model (default BUILT_AGEING_MODEL). */
  anomalyModel?: string;
  ageingModel?: string;
  /**
   * Where cycles begin: site local time minus UTC, minutes. Set it as the edge's anomaly-score
   * node is set (flows/edge.json: 0; the model was trained on UTC days of the simulator), so the
   * edge and the cloud score the same cycles.
   */
  cycleUtcOffsetMin?: number;
  /** A site's pack; unset entries take DEFAULT_BATTERY_SITE. */
  battery?: (siteId: string) => Partial<BatterySiteConfig>;
  /** With no cloud result yet for a site, the most recent complete cycles done (default 7). */
  backfillDays?: number;
  /** Days a new SoH tracker is fed before the first day it reports (default 14). */
  sohWarmupDays?: number;
  log?: (line: string) => void;
}

/** What the cloud concluded about one cycle (null: that part not done: no model, no load, no samples). */
export interface BatteryDay {
  siteId: string;
  cycleStart: number;
  cycleEnd: number;
  samples: number;
  anomaly: AnomalyScore | null;
  soh: SohEstimateMessage | null;
}

interface AnomalyModel {
  session: Session;
  threshold: number;
  name: string;
}

interface SiteState {
  tracker: SohTracker | null;
  ratedWh: number;
  /** The last cycle fed to the tracker. */
  fedThrough: number | null;
  /** The last cycle scored / whose SoH was reported (null: look in cloud.db). */
  anomalyThrough: number | null;
  sohThrough: number | null;
}

const r = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;

export class CloudBattery {
  readonly offsetMs: number;
  readonly #o: Required<Omit<CloudBatteryOptions, 'battery'>> & Pick<CloudBatteryOptions, 'battery'>;
  #ocv: OcvCurve | null = null;
  #anomaly: Promise<AnomalyModel> | null = null;
  #prior: Promise<{ prior: AgeingPrior; name: string }> | null = null;
  readonly #sites = new Map<string, SiteState>();
  /** Problems said once (a missing model), not on every pass. */
  readonly #said = new Set<string>();
  #closed = false;

  constructor(opts: CloudBatteryOptions) {
    this.#o = {
      anomalyModel: BUILT_ANOMALY_MODEL, ageingModel: BUILT_AGEING_MODEL, cycleUtcOffsetMin: 0, backfillDays: 7, sohWarmupDays: 14,
      log: (line) => console.error(line), ...opts,
    };
    this.offsetMs = this.#o.cycleUtcOffsetMin * 60_000;
  }

  #sayOnce(line: string): void {
    if (this.#said.has(line)) return;
    this.#said.add(line);
    this.#o.log(line);
  }

  #config(siteId: string): BatterySiteConfig {
    return { ...DEFAULT_BATTERY_SITE, ...this.#o.battery?.(siteId) };
  }

  /** The anomaly model, or null (said once) while its file is missing or stores no threshold. */
  async #anomalyModel(): Promise<AnomalyModel | null> {
    const file = this.#o.anomalyModel;
    if (!this.#anomaly) {
      if (!existsSync(file)) {
        this.#sayOnce(`cloud ml: no anomaly model at ${file} (npm run build writes it): the cloud scores no cycles`);
        return null;
      }
      const m = anomalyModelFile(file);
      if (m.threshold === null) {
        this.#sayOnce(`cloud ml: ${file} stores no alarm threshold: the cloud scores no cycles`);
        return null;
      }
      const threshold = m.threshold;
      this.#anomaly = openSession(m.bytes).then((session) => ({ session, threshold, name: m.name }));
      this.#anomaly.catch(() => (this.#anomaly = null));
    }
    return this.#anomaly;
  }

  /** The ageing prior from the ONNX ageing model, or null (said once) while its file is missing. */
  async #ageingPrior(): Promise<{ prior: AgeingPrior; name: string } | null> {
    const file = this.#o.ageingModel;
    if (!this.#prior) {
      if (!existsSync(file)) {
        this.#sayOnce(`cloud ml: no ageing model at ${file} (npm run build writes it): the cloud estimates no SoH`);
        return null;
      }
      const m = readModelFile(file, AGEING_MODEL_KIND);
      this.#prior = ageingPriorFromOnnx(m.bytes).then((prior) => ({ prior, name: m.name }));
      this.#prior.catch(() => (this.#prior = null));
    }
    return this.#prior;
  }

  async #state(siteId: string): Promise<SiteState> {
    let s = this.#sites.get(siteId);
    if (!s) {
      const lastCycle = await this.#o.insights.lastAnomalyCycle(siteId, 'cloud');
      const lastSoh = await this.#o.insights.lastSohTs(siteId, 'cloud');
      s = {
        tracker: null, ratedWh: 0, fedThrough: null,
        anomalyThrough: lastCycle === null ? null : cycleIndex(lastCycle, this.offsetMs),
        sohThrough: lastSoh === null ? null : cycleIndex(lastSoh, this.offsetMs),
      };
      this.#sites.set(siteId, s);
    }
    return s;
  }

  /**
   * Scores and estimates every complete cycle of the site not done yet (oldest first, at most
   * backfillDays with nothing done before); returns what it concluded per cycle.
   */
  async site(siteId: string): Promise<BatteryDay[]> {
    const store = this.#o.store();
    if (!store || this.#closed) return [];
    const anomaly = await this.#anomalyModel();
    const prior = await this.#ageingPrior();
    if (!anomaly && !prior) return [];
    const latest = (await store.latest([siteId]))[0];
    if (!latest) return [];
    const lastComplete = cycleIndex(latest.ts, this.offsetMs) - 1;
    const st = await this.#state(siteId);
    const floor = lastComplete - this.#o.backfillDays + 1;
    const next = (through: number | null) => Math.max(through === null ? -Infinity : through + 1, floor);
    const first = Math.min(anomaly ? next(st.anomalyThrough) : Infinity, prior ? next(st.sohThrough) : Infinity);
    const cfg = this.#config(siteId);
    const out: BatteryDay[] = [];
    for (let d = first; d <= lastComplete && !this.#closed; d++) {
      const [cycleStart, cycleEnd] = cycleBounds(d, this.offsetMs);
      const samples = await batterySamples(store, siteId, cycleStart, cycleEnd, cfg.cellsInSeries);
      const day: BatteryDay = { siteId, cycleStart, cycleEnd, samples: samples.length, anomaly: null, soh: null };
      if (anomaly && d > (st.anomalyThrough ?? -Infinity)) {
        day.anomaly = await this.#score(siteId, d, samples, anomaly, cfg);
        st.anomalyThrough = d;
      }
      if (prior && d > (st.sohThrough ?? -Infinity)) {
        day.soh = await this.#soh(siteId, d, samples, prior, cfg, st, store);
        st.sohThrough = d;
      }
      out.push(day);
    }
    return out;
  }

  /** The cycle's anomaly score as the anomaly-score node computes it, stored; null when the cycle had no load. */
  async #score(siteId: string, d: number, samples: readonly BatteryTelemetry[], m: AnomalyModel, cfg: BatterySiteConfig): Promise<AnomalyScore | null> {
    this.#ocv ??= new OcvCurve(loadOcvPoints());
    const features = cycleFeatures(samples, this.#ocv, () => cfg.ambientC);
    if (!features) return null;
    const [cycleStart, cycleEnd] = cycleBounds(d, this.offsetMs);
    const value = (await runRows(m.session, features, N_ANOMALY_FEATURES))[0] as number;
    const a: AnomalyScore = {
      siteId, cycleStart, cycleEnd, score: Math.round(value * 10_000) / 10_000, threshold: m.threshold, anomalous: value > m.threshold,
      features: Object.fromEntries(FEATURE_NAMES.map((n, i) => [n, Math.round((features[i] as number) * 1000) / 1000])) as AnomalyScore['features'],
      samples: samples.length, model: m.name,
    };
    await this.#o.insights.addAnomaly(siteId, 'cloud', a);
    return a;
  }

  /** Feeds the day to the site's tracker (a new one warmed up first) and stores its estimate at the day's last sample. */
  async #soh(
    siteId: string, d: number, samples: readonly BatteryTelemetry[], p: { prior: AgeingPrior; name: string }, cfg: BatterySiteConfig, st: SiteState, store: TimeseriesStore,
  ): Promise<SohEstimateMessage | null> {
    if (st.fedThrough !== d - 1) {
      st.tracker = null;
      for (let w = d - this.#o.sohWarmupDays; w < d; w++) {
        const [a, b] = cycleBounds(w, this.offsetMs);
        this.#feed(st, await batterySamples(store, siteId, a, b, cfg.cellsInSeries), p.prior, cfg);
      }
    }
    const fed = this.#feed(st, samples, p.prior, cfg);
    st.fedThrough = d;
    if (!st.tracker || fed === 0) return null;
    const e = st.tracker.estimate();
    const msg: SohEstimateMessage = {
      siteId, ts: e.ts, sohPct: r(e.sohPct), sdPct: r(e.sdPct), capacityWh: r((e.sohPct / 100) * st.ratedWh, 0),
      source: e.measurements > 0 ? 'measured' : 'prior', measurements: e.measurements, cycles: r(e.cycles), priorPct: r(e.priorPct),
    };
    await this.#o.insights.addSoh(siteId, 'cloud', msg);
    await this.#o.insights.sawModel(siteId, 'soh', 'cloud', p.name, e.ts);
    return msg;
  }

  /** Samples into the tracker, made on the first one that tells the rated capacity; how many went in. */
  #feed(st: SiteState, samples: readonly BatteryTelemetry[], prior: AgeingPrior, cfg: BatterySiteConfig): number {
    this.#ocv ??= new OcvCurve(loadOcvPoints());
    // The pack's mid-SoC voltage: rated Wh = rated Ah x this (the soh-estimate node's derivation).
    const nominalV = cfg.cellsInSeries * this.#ocv.ocv(0.5);
    let n = 0;
    for (const t of samples) {
      if (!st.tracker) {
        const ratedAh = cfg.ratedAh ?? (t.capacityWh ? t.capacityWh / nominalV : null);
        if (!ratedAh) continue;
        st.ratedWh = ratedAh * nominalV;
        st.tracker = new SohTracker({ ratedAh, cellsInSeries: cfg.cellsInSeries, initialCycles: cfg.initialCycles }, this.#ocv, prior);
      }
      st.tracker.push(t);
      n++;
    }
    return n;
  }

  /** Opens the anomaly model and computes the ageing prior now, as the first site() would. */
  async warm(): Promise<void> {
    await this.#anomalyModel().catch(() => undefined);
    await this.#ageingPrior().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const m = this.#anomaly;
    this.#anomaly = null;
    if (m) await m.then((x) => x.session.release(), () => undefined);
  }
}
