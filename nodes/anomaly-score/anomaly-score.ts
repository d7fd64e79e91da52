// anomaly-score: battery telemetry in, one anomaly score per cycle (site-local day) out, and an
// Alarm (code ANOMALY) when the score is above the threshold. The features (domain/anomaly/
// cycle-features.ts: cell spread and drift at rest, a cell's extra drop under load, resistance
// against the OCV, heating per current squared) are scored by the isolation forest from its ONNX
// file (`lifo4 ml train anomaly`) in onnxruntime-web. Samples are thinned to one per sampleS, as
// the model was trained on; a day of them is a few thousand objects.
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { describeIssues, TelemetrySchema, type Alarm, type BatteryTelemetry, type AnomalyScore } from '../../domain/contracts';
import { cycleFeatures, N_ANOMALY_FEATURES } from '../../domain/anomaly/cycle-features';
import { FEATURE_NAMES } from '../../domain/anomaly/feature-names';
import { cycleBounds, cycleIndex } from '../../domain/anomaly/anomaly-score';
import { OcvCurve } from '../../domain/lfp/ocv-curve';
import { parseConfig } from '../kit/config';
import { errorStatus, errorText } from '../kit/status';
import { loadOcvPoints } from '../../io/data/real-data';
import { anomalyModelFile } from '../../io/ml/model-files';
import { openSession, runRows, type Session } from '../../io/ml/onnx-session';
import { AnomalyScoreConfigSchema, type AnomalyScoreConfig } from './config';

interface AnomalyScoreDef extends NodeDef, Record<string, unknown> {}

export = function register(RED: NodeAPI): void {
  function AnomalyScoreNode(this: Node, def: AnomalyScoreDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    let config: AnomalyScoreConfig;
    let ocv: OcvCurve;
    let threshold: number;
    let ready: Promise<Session>;
    let modelName: string;
    try {
      config = parseConfig(AnomalyScoreConfigSchema, 'anomaly-score', def);
      const file = anomalyModelFile(config.model);
      const t = config.threshold ?? file.threshold;
      if (t === null) throw new Error(`anomaly-score: ${file.name} stores no threshold: set one`);
      threshold = t;
      modelName = file.name;
      ocv = new OcvCurve(loadOcvPoints());
      ready = openSession(file.bytes);
    } catch (err) {
      node.status(errorStatus(err));
      node.error(err);
      return;
    }
    let session: Session | null = null;
    ready.then((s) => (session = s), (err: unknown) => {
      node.status(errorStatus(err));
      node.error(`anomaly-score: ${errorText(err)}`);
    });
    const offsetMs = config.utcOffsetMin * 60_000;
    let cycle: number | null = null;
    let samples: BatteryTelemetry[] = [];
    let closed = false;
    node.status({ fill: 'grey', shape: 'ring', text: 'collecting the first cycle' });

    async function score(index: number, cycleSamples: BatteryTelemetry[], send: (msg: NodeMessageInFlow[]) => void): Promise<void> {
      const features = cycleFeatures(cycleSamples, ocv, () => config.ambientC);
      const [cycleStart, cycleEnd] = cycleBounds(index, offsetMs);
      if (!features) {
        node.status({ fill: 'grey', shape: 'ring', text: `${new Date(cycleStart).toISOString().slice(0, 10)}: no load, not scored` });
        return;
      }
      const s = session ?? (await ready);
      if (closed) return;
      const out = await runRows(s, features, N_ANOMALY_FEATURES);
      const value = out[0] as number;
      const anomalous = value > threshold;
      const payload: AnomalyScore = {
        siteId: config.siteId, cycleStart, cycleEnd, score: Math.round(value * 10_000) / 10_000, threshold, anomalous,
        features: Object.fromEntries(FEATURE_NAMES.map((n, i) => [n, Math.round((features[i] as number) * 1000) / 1000])) as AnomalyScore['features'],
        samples: cycleSamples.length, model: modelName,
      };
      const day = new Date(cycleStart).toISOString().slice(0, 10);
      let alarm: NodeMessageInFlow | null = null;
      if (anomalous) {
        const worst = FEATURE_NAMES.map((n) => `${n} ${payload.features[n]}`).join(', ');
        const a: Alarm = {
          code: 'ANOMALY', severity: 'warning', source: 'anomaly-score', ts: cycleEnd, active: true, siteId: config.siteId,
          message: `battery cycle of ${day} scored ${payload.score.toFixed(3)} > ${threshold.toFixed(3)} (${worst})`.slice(0, 500),
        };
        alarm = { topic: 'alarm', payload: a } as NodeMessageInFlow;
      }
      send([{ topic: 'anomaly-score', payload } as NodeMessageInFlow, alarm as NodeMessageInFlow]);
      node.status(anomalous
        ? { fill: 'red', shape: 'dot', text: `${day}: ANOMALY ${payload.score.toFixed(3)} > ${threshold.toFixed(3)}` }
        : { fill: 'green', shape: 'dot', text: `${day}: ${payload.score.toFixed(3)} (alarm > ${threshold.toFixed(3)})` });
    }

    // Cycles are scored one after another, in order, while samples of the next one keep coming.
    let queue: Promise<void> = Promise.resolve();

    node.on('input', (msg: NodeMessageInFlow, send, done) => {
      const t = TelemetrySchema.safeParse(msg.payload);
      if (!t.success) return done(new Error(`anomaly-score: expected telemetry: ${describeIssues(t.error)}`));
      const b = t.data.battery;
      if (t.data.siteId !== config.siteId || !b) return done();
      const index = cycleIndex(b.ts, offsetMs);
      if (cycle !== null && index < cycle) return done();
      if (cycle !== null && index > cycle) {
        const [i, s] = [cycle, samples];
        samples = [];
        queue = queue.then(() => score(i, s, send)).catch((err: unknown) => {
          node.status(errorStatus(err));
          node.error(`anomaly-score: ${errorText(err)}`);
        });
      }
      cycle = index;
      const last = samples[samples.length - 1];
      if (!last || b.ts - last.ts >= config.sampleS * 1000) samples.push(b);
      done();
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      queue.then(() => ready).then((s) => s.release()).then(() => done(), () => done());
    });
  }
  RED.nodes.registerType('anomaly-score', AnomalyScoreNode);
};
