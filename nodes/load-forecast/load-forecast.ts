// load-forecast: site telemetry in, the next day's 96 fifteen-minute loads out. It averages the
// site's net load (grid meter + battery PCS, W, as the arbitrage node computes it) into 15-minute
// steps and, once per site-local day and as soon as 14 days of history are there, runs the ONNX
// model made by `lifo4 ml train forecast` (by default the one the build trained) in onnxruntime-web. The forecast feeds the arbitrage LP
// (load/PV per step) and the peak-shaving threshold.
// The history survives restarts in <userDir>/load-history/<siteId>.json (saved at every new
// 15-minute step and on close). A node whose history does not cover the forecast window yet asks
// `historyUrl` once at start for the past (beside the simulator: the real profile it replayed,
// GET /history/load), which fills only the steps it did not measure itself.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { describeIssues, TelemetrySchema } from '../../domain/contracts';
import { N_FEATURES, STEP_MS, dayAheadFeatures } from '../../domain/forecast/features';
import type { Region } from '../../domain/forecast/holidays';
import { LoadHistory, LoadHistorySeedSchema } from '../../domain/forecast/load-history';
import { type LoadForecast } from '../../domain/contracts';
import { NetLoad } from '../../domain/forecast/net-load';
import { parseConfig } from '../kit/config';
import { errorStatus, errorText } from '../kit/status';
import { builtModel } from '../../io/ml/built-models';
import { forecastModelInfo } from '../../io/ml/model-files';
import { openSession, runRows, type Session } from '../../io/ml/onnx-session';
import { LoadForecastConfigSchema, type LoadForecastConfig } from './config';
import { historyFilePath, readHistoryFile, writeHistoryFile } from './history-file';

interface LoadForecastDef extends NodeDef, Record<string, unknown> {}

export = function register(RED: NodeAPI): void {
  function LoadForecastNode(this: Node, def: LoadForecastDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    let config: LoadForecastConfig;
    let bytes: Uint8Array;
    let region: Region;
    let modelName: string;
    let historyPath: string | null;
    try {
      config = parseConfig(LoadForecastConfigSchema, 'load-forecast', def);
      historyPath = historyFilePath(config.dir, RED.settings.userDir as string | undefined, config.siteId);
      const file = config.model || builtModel('forecast');
      bytes = readFileSync(file);
      const info = forecastModelInfo(bytes);
      region = config.region || info.region;
      modelName = `${basename(file)} ${info.metadata.trained_at ?? ''}`.trim();
    } catch (err) {
      node.status(errorStatus(err));
      node.error(err);
      return;
    }
    const history = new LoadHistory(config.utcOffsetMin * 60_000);
    try {
      const stored = historyPath ? readHistoryFile(historyPath) : null;
      if (stored) history.restore(stored);
    } catch (err) {
      node.warn(`load-forecast: starting without the stored history: ${errorText(err)}`);
    }
    let savedStep: number | null = null;
    const netLoad = new NetLoad();
    const save = (): void => {
      if (!historyPath) return;
      try {
        writeHistoryFile(historyPath, history.toFile());
      } catch (err) {
        node.warn(`load-forecast: history not saved to ${historyPath}: ${errorText(err)}`);
      }
    };
    let session: Session | null = null;
    const ready = openSession(bytes).then((s) => (session = s));
    ready.catch((err: unknown) => {
      node.status(errorStatus(err));
      node.error(err);
    });
    let lastDay: number | null = null;
    let closed = false;

    async function forecast(nowMs: number, send: (msg: NodeMessageInFlow | NodeMessageInFlow[]) => void): Promise<boolean> {
      const day = history.dayStart(nowMs);
      const win = history.window(day);
      if (!win) {
        node.status({ fill: 'grey', shape: 'ring', text: 'collecting 14 days of load history' });
        return false;
      }
      await ready;
      if (!session || closed) return false;
      const X = dayAheadFeatures(win.values, day, region);
      const y = await runRows(session, X, N_FEATURES);
      const payload: LoadForecast = {
        siteId: config.siteId,
        ts: nowMs,
        start: history.toUtc(day),
        stepMinutes: 15,
        loadKw: Array.from(y, (v) => Math.round(v * 1000) / 1000),
        model: modelName,
        filledSteps: win.filled,
      };
      send({ topic: 'load-forecast', payload } as NodeMessageInFlow);
      const peak = Math.max(...payload.loadKw);
      node.status({ fill: 'green', shape: 'dot', text: `${new Date(payload.start).toISOString().slice(0, 10)}: peak ${peak.toFixed(1)} kW` });
      return true;
    }

    // A fresh node asks for the past once, and only when its own history falls short.
    const asking = new AbortController();
    const seeded = (async (): Promise<void> => {
      if (!config.historyUrl) return;
      const now = Date.now();
      if (history.window(history.dayStart(now))) return;
      const res = await fetch(config.historyUrl, { signal: AbortSignal.any([asking.signal, AbortSignal.timeout(10_000)]) });
      if (!res.ok) throw new Error(`GET ${config.historyUrl}: HTTP ${res.status}`);
      const seed = LoadHistorySeedSchema.safeParse(await res.json());
      if (!seed.success) throw new Error(`GET ${config.historyUrl}: not a history seed: ${describeIssues(seed.error)}`);
      if (closed) return;
      const filled = history.seedMissing(seed.data.start, seed.data.loadKw);
      node.log(`load-forecast: ${filled} past 15-minute loads from ${config.historyUrl}`);
      save();
      if (lastDay === null && (await forecast(Date.now(), (m) => node.send(m)))) lastDay = history.dayStart(Date.now());
    })();
    seeded.catch((err: unknown) => {
      if (!closed) node.warn(`load-forecast: no past loads: ${errorText(err)}`);
    });

    node.on('input', (msg: NodeMessageInFlow, send, done) => {
      const p = msg.payload;
      const seed = LoadHistorySeedSchema.safeParse(p);
      if (msg.topic === 'history' || seed.success) {
        if (!seed.success) return done(new Error(`load-forecast: bad history: ${describeIssues(seed.error)}`));
        history.seed(seed.data.start, seed.data.loadKw);
        save();
        const end = seed.data.start + seed.data.loadKw.length * STEP_MS;
        // A seed that reaches a day boundary allows the forecast of that day right away.
        forecast(end, send)
          .then((ok) => {
            if (ok) lastDay = history.dayStart(end);
            done();
          })
          .catch((err: unknown) => done(err instanceof Error ? err : new Error(errorText(err))));
        return;
      }
      const t = TelemetrySchema.safeParse(p);
      if (!t.success) return done(new Error(`load-forecast: expected telemetry or a history seed: ${describeIssues(t.error)}`));
      const { ts } = t.data;
      const kw = netLoad.update(t.data);
      if (kw === undefined) return done();
      history.add(ts, kw);
      // Saved as each 15-minute step begins: a crash loses at most one step.
      const step = Math.floor(ts / STEP_MS);
      if (savedStep !== step) {
        if (savedStep !== null) save();
        savedStep = step;
      }
      const day = history.dayStart(ts);
      if (lastDay === day && msg.topic !== 'forecast') return done();
      lastDay = day;
      forecast(ts, send)
        .then((ok) => {
          if (!ok) lastDay = null;
          done();
        })
        .catch((err: unknown) => done(err instanceof Error ? err : new Error(errorText(err))));
    });

    node.on('close', (removed: boolean, done: () => void) => {
      closed = true;
      asking.abort();
      save();
      ready.then((s) => s.release()).then(() => done(), () => done());
    });
  }
  RED.nodes.registerType('load-forecast', LoadForecastNode);
};
