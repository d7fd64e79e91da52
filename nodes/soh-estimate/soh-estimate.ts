// soh-estimate: battery telemetry in, the pack's state of health out. The SohTracker (domain/soh)
// measures capacity by coulomb counting between rests whose SoC the OCV curve pins and fuses it
// with the LFP ageing model, run from its ONNX file in onnxruntime-web (by default the one the
// build fitted to the ageing data in data/), so the edge and the cloud estimate alike.
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { describeIssues, TelemetrySchema } from '../../domain/contracts';
import { OcvCurve } from '../../domain/lfp/ocv-curve';
import { SohTracker, type AgeingPrior } from '../../domain/soh/soh-tracker';
import type { SohEstimateMessage, BatteryTelemetry } from '../../domain/contracts';
import { parseConfig } from '../kit/config';
import { errorStatus, errorText } from '../kit/status';
import { loadOcvPoints } from '../../io/data/real-data';
import { ageingModelFile } from '../../io/ml/model-files';
import { ageingPriorFromOnnx } from '../../io/ml/soh-prior';
import { SohEstimateConfigSchema, type SohEstimateConfig } from './config';

interface SohEstimateDef extends NodeDef, Record<string, unknown> {}

export = function register(RED: NodeAPI): void {
  function SohEstimateNode(this: Node, def: SohEstimateDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    let config: SohEstimateConfig;
    let ocv: OcvCurve;
    let prior: Promise<AgeingPrior>;
    try {
      config = parseConfig(SohEstimateConfigSchema, 'soh-estimate', def);
      ocv = new OcvCurve(loadOcvPoints());
      prior = ageingPriorFromOnnx(ageingModelFile(config.model).bytes);
    } catch (err) {
      node.status(errorStatus(err));
      node.error(err);
      return;
    }
    // The pack's mid-SoC voltage: rated Wh = rated Ah x this (as SunSpec 802 WHRtg is derived).
    const nominalV = config.cellsInSeries * ocv.ocv(0.5);
    let failed = false;
    prior.catch((err: unknown) => {
      failed = true;
      node.status(errorStatus(err));
      node.error(`soh-estimate: ${errorText(err)}`);
    });
    let tracker: SohTracker | null = null;
    let ratedAh: number | null = config.ratedAh;
    let ratedWh = 0;
    let lastSentTs: number | null = null;
    let lastSentMeasurements = 0;

    function push(battery: BatteryTelemetry, p: AgeingPrior, send: (msg: NodeMessageInFlow) => void): void {
      if (!tracker) {
        ratedAh ??= battery.capacityWh ? battery.capacityWh / nominalV : null;
        if (!ratedAh) {
          node.status({ fill: 'grey', shape: 'ring', text: 'waiting for capacityWh (or set the rated Ah)' });
          return;
        }
        ratedWh = ratedAh * nominalV;
        tracker = new SohTracker({ ratedAh, cellsInSeries: config.cellsInSeries, initialCycles: config.initialCycles }, ocv, p);
      }
      tracker.push(battery);
      const e = tracker.estimate();
      const due = lastSentTs === null || e.measurements > lastSentMeasurements || e.ts - lastSentTs >= config.emitEveryMin * 60_000;
      if (!due) return;
      lastSentTs = e.ts;
      lastSentMeasurements = e.measurements;
      const r = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;
      const payload: SohEstimateMessage = {
        siteId: config.siteId, ts: e.ts, sohPct: r(e.sohPct), sdPct: r(e.sdPct),
        capacityWh: r((e.sohPct / 100) * ratedWh, 0),
        source: e.measurements > 0 ? 'measured' : 'prior', measurements: e.measurements,
        cycles: r(e.cycles), priorPct: r(e.priorPct),
      };
      send({ topic: 'soh', payload } as NodeMessageInFlow);
      node.status({ fill: 'green', shape: 'dot', text: `SoH ${payload.sohPct.toFixed(1)} % ± ${payload.sdPct.toFixed(1)} (${payload.source}, ${payload.measurements} measurements)` });
    }

    node.on('input', (msg: NodeMessageInFlow, send, done) => {
      const t = TelemetrySchema.safeParse(msg.payload);
      if (!t.success) return done(new Error(`soh-estimate: expected telemetry: ${describeIssues(t.error)}`));
      if (t.data.siteId !== config.siteId) return done();
      const battery = t.data.battery;
      if (!battery) return done();
      if (failed) return done();
      // Samples wait for the model in arrival order (then-callbacks run in registration order).
      prior.then((p) => {
        push(battery, p, send);
        done();
      }, () => done());
    });
  }
  RED.nodes.registerType('soh-estimate', SohEstimateNode);
};
