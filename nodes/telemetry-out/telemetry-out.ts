// telemetry-out: the end of the edge flow. Keeps the latest telemetry, decision and envelope of the
// site, writes one record per interval into the store-and-forward buffer (SQLite, before sending)
// and lets the sender move the buffer to the cloud over the mqtt-link, forgetting records only on
// the cloud's ack. Output 1: an alarm when the buffer had to drop its oldest records.
// The models' outputs (load forecast, SoH estimate, anomaly score; by topic or by their schema)
// ride in the next record's `insights`.
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { z } from 'zod';
import { AlarmSchema, DecisionSchema, type EdgeHealth, EnvelopeSchema, InsightsSchema, PlanSchema, TelemetrySchema, describeIssues, type Alarm, type Insights, type SitePlan } from '../../domain/contracts';
import { topics } from '../../domain/topics';
import { parseConfig } from '../kit/config';
import { errorStatus, errorText } from '../kit/status';
import { linkOf, type MqttLink } from '../mqtt-link/link';
import { siteBufferPath } from '../../io/buffer/location';
import { TelemetryBuffer } from '../../io/buffer/telemetry-buffer';
import { hostMetrics } from '../../io/host-resources';
import { TelemetryOutConfigSchema } from './config';
import { fitRecord, SiteRecordBuilder } from './record';
import { MAX_BATCH_BYTES, TelemetrySender } from './sender';

/** The topics the model nodes send with (load-forecast, soh-estimate, anomaly-score), and the part of `insights` each fills. */
const INSIGHT_TOPICS: Readonly<Record<string, keyof Insights>> = { 'load-forecast': 'forecast', soh: 'soh', 'anomaly-score': 'anomaly' };

/**
 * Which model's output a message is: by its topic, else by its shape. Checked before telemetry,
 * whose schema ({siteId, ts} with every part optional) any of them would also pass.
 */
function insightKind(topic: string | undefined, payload: unknown): keyof Insights | null {
  const byTopic = topic !== undefined ? INSIGHT_TOPICS[topic] : undefined;
  if (byTopic) return byTopic;
  const kinds = Object.keys(InsightsSchema.shape) as (keyof Insights)[];
  return kinds.find((k) => InsightsSchema.shape[k].unwrap().safeParse(payload).success) ?? null;
}

/** How the edge keeps up as of `now` (EdgeHealthSchema), rounded to what an operator reads. */
function edgeHealth(buffer: TelemetryBuffer, now: number, cycleMs: number | null): EdgeHealth {
  const oldest = buffer.oldestTs();
  const health: EdgeHealth = { bufferDepth: buffer.size, oldestUnsentS: oldest === null ? 0 : Math.max(0, Math.round((now - oldest) / 100) / 10) };
  if (cycleMs !== null) health.cycleMs = Math.round(cycleMs * 10) / 10;
  return health;
}

export = function register(RED: NodeAPI): void {
  function TelemetryOutNode(this: Node, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    let buffer: TelemetryBuffer;
    let link: MqttLink;
    let siteId: string;
    let interval: number;
    let sender: TelemetrySender;
    try {
      const config = parseConfig(TelemetryOutConfigSchema, 'telemetry-out', def);
      const l = linkOf(RED, config.link);
      if (l instanceof Error) throw l;
      link = l;
      siteId = config.siteId || link.siteId;
      if (!siteId) throw new Error('telemetry-out: no site id (set it here or on the mqtt-link)');
      interval = config.interval;
      const path = siteBufferPath(config.dir, RED.settings.userDir as string | undefined, siteId);
      buffer = new TelemetryBuffer({ path, siteId, maxRecords: config.maxRecords, maxAgeS: config.maxAgeS });
      sender = new TelemetrySender({
        siteId, buffer, link,
        ackTimeoutMs: config.ackTimeoutS * 1000,
        drainRatePerS: config.drainRatePerS,
        batchSize: config.batchSize,
        maxInFlight: config.maxInFlight,
        log: (level, text) => (level === 'warn' ? node.warn(text) : node.debug(text)),
      });
      node.debug(`buffer ${path}: ${buffer.size} records waiting`);
    } catch (err) {
      node.error(err);
      node.status(errorStatus(err));
      return;
    }

    const builder = new SiteRecordBuilder(siteId);
    const metrics = hostMetrics(RED.settings);
    const unwatchBuffer = metrics.watchBuffer(siteId, () => ({ depth: buffer.size, oldestTs: buffer.oldestTs() }));
    let rejected = 0;
    let lastStatus = '';

    const showStatus = (): void => {
      const backlog = buffer.size;
      const dropped = buffer.stats().dropped;
      const parts = [link.connected ? 'connected' : 'offline', `backlog ${backlog}`];
      if (dropped) parts.push(`dropped ${dropped}`);
      if (rejected) parts.push(`bad input ${rejected}`);
      const text = parts.join(' · ');
      if (text === lastStatus) return;
      lastStatus = text;
      const fill = !link.connected ? 'red' : dropped ? 'yellow' : backlog > 10 ? 'yellow' : 'green';
      node.status({ fill, shape: link.connected ? 'dot' : 'ring', text });
    };

    // One alarm when the buffer starts dropping and one when it stops: an alarm per dropped record
    // would itself make a record per interval, each dropping the next oldest.
    let dropping: Alarm | null = null;
    const bufferAlarm = (dropped: number, ts: number): void => {
      if (dropped > 0 && !dropping) {
        dropping = {
          code: 'TELEMETRY_BUFFER_FULL', severity: 'warning', source: `telemetry-out:${node.id}`, ts, active: true, siteId,
          message: `telemetry buffer full (${buffer.maxRecords} records / ${buffer.maxAgeMs / 1000} s): dropped the ${dropped} oldest unsent record(s), ${buffer.stats().dropped} in total`,
        };
      } else if (dropped === 0 && dropping) {
        dropping = { ...dropping, ts, active: false, message: `telemetry buffer no longer dropping: ${buffer.stats().dropped} record(s) lost in total` };
      } else return;
      node.warn(dropping.message);
      builder.addAlarm(dropping);
      node.send({ topic: 'alarm', payload: dropping });
      if (!dropping.active) dropping = null;
    };

    const tick = (): void => {
      const now = Date.now();
      const next = builder.take(now);
      if (next) {
        next.edge = edgeHealth(buffer, now, metrics.lastCycleMs());
        const record = fitRecord(next, MAX_BATCH_BYTES);
        if (!record) {
          rejected++;
          node.warn('telemetry-out: record too large for one MQTT message, not buffered');
        } else {
          try {
            bufferAlarm(buffer.append(record).dropped, now);
            sender.notify();
          } catch (err) {
            node.error(`telemetry-out: buffer write failed: ${errorText(err)}`);
          }
        }
      }
      showStatus();
    };
    const timer = setInterval(tick, interval);
    const onLinkChange = (): void => showStatus();
    link.on('connect', onLinkChange);
    link.on('offline', onLinkChange);
    showStatus();

    node.on('input', (msg: NodeMessageInFlow, _send, done) => {
      const fail = (what: string, error: z.ZodError): void => {
        rejected++;
        done(new Error(`telemetry-out: bad ${what}: ${describeIssues(error)}`));
      };
      try {
        switch (msg.topic) {
          case 'decision': {
            const d = DecisionSchema.safeParse(msg.payload);
            if (!d.success) return fail('decision', d.error);
            builder.setDecision(d.data);
            break;
          }
          case 'envelope': {
            const e = EnvelopeSchema.safeParse(msg.payload);
            if (!e.success) return fail('envelope', e.error);
            builder.setEnvelope(e.data);
            break;
          }
          case 'plan': {
            // Only the latest plan matters, so it is retained on its own topic instead of buffered.
            const p = PlanSchema.safeParse(msg.payload);
            if (!p.success) return fail('plan', p.error);
            const plan: SitePlan = { v: 1, siteId, plan: p.data };
            link.publish(topics.plan(siteId), JSON.stringify(plan), { qos: 1, retain: true }).catch((err: unknown) => node.warn(`telemetry-out: plan not published: ${errorText(err)}`));
            break;
          }
          case 'alarm': {
            const a = z.union([AlarmSchema, z.array(AlarmSchema).max(100)]).safeParse(msg.payload);
            if (!a.success) return fail('alarm', a.error);
            for (const alarm of Array.isArray(a.data) ? a.data : [a.data]) builder.addAlarm(alarm);
            break;
          }
          default: {
            const kind = insightKind(msg.topic, msg.payload);
            if (kind) {
              const i = InsightsSchema.safeParse({ [kind]: msg.payload });
              if (!i.success) return fail(kind, i.error);
              builder.setInsights(i.data);
              break;
            }
            const t = TelemetrySchema.safeParse(msg.payload);
            if (!t.success) return fail('telemetry', t.error);
            builder.addTelemetry(t.data);
          }
        }
        done();
      } catch (err) {
        rejected++;
        done(err as Error);
      }
    });

    node.on('close', (done: () => void) => {
      clearInterval(timer);
      unwatchBuffer();
      link.removeListener('connect', onLinkChange);
      link.removeListener('offline', onLinkChange);
      sender.stop();
      // The last record of the state so far is kept: on the next start it is sent like any other.
      const last = builder.take(Date.now());
      try {
        if (last) {
          const fitted = fitRecord(last, MAX_BATCH_BYTES);
          if (fitted) buffer.append(fitted);
        }
      } finally {
        buffer.close();
        done();
      }
    });
  }
  RED.nodes.registerType('telemetry-out', TelemetryOutNode);
};
