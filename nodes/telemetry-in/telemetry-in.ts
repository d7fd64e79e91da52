// telemetry-in: the cloud's ingest. Subscribes lifo4/+/telemetry (or its shared subscription
// $share/<group>/... so several cloud runtimes split the fleet), validates each TelemetryBatch (in
// a pool of worker threads, parse-pool.ts, handing verdicts back in arrival order),
// drops and counts malformed, wrong-site and oversized messages, deduplicates by (siteId, seq), and
// sends the new records to timeseries-out (output 1) and the alarm transitions they carry (output 2),
// gathered over batchMs into one message of all sites' records and one of their alarms: the flow
// carries a batch, not a message per record. Its input takes timeseries-out's 'stored' messages and
// acknowledges exactly those seqs, at most once per site per ackIntervalMs with every range
// committed since (ack-coalescer.ts): the edge forgets a record only once it is committed. It also
// follows the retained lifo4/+/state topics and sends each site's online/offline changes (output 3).
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { SiteStateSchema, describeIssues, type Alarm, type SiteState, type TelemetryAck, type TelemetryRecord } from '../../domain/contracts';
import { fleetTopics, sharedSubscription, siteIdOfTopic, topics } from '../../domain/topics';
import { parseConfig } from '../kit/config';
import { errorStatus, errorText, shorten } from '../kit/status';
import { linkOf, type Delivery, type MqttLink } from '../mqtt-link/link';
import { OwedDeliveries } from './deliveries';
import { seqRanges, type SeqRange } from '../../io/timeseries/store';
import { AckCoalescer } from './ack-coalescer';
import { StoreOutcomeMessageSchema } from '../timeseries-out/stored-message';
import { TelemetryInConfigSchema, type TelemetryInConfig } from './config';
import { admitParsed, type TelemetryInStats } from './ingest';
import { ParsePool, parseWorkerCount, type Verdict } from './parse-pool';
import { InOrderGate } from './in-order';
import { SeqWindow } from './seq-window';

const STATUS_MS = 1000;
/** A message whose records the store refused goes back to the broker's queue after this long, ms. */
const REQUEUE_PAUSE_MS = 1000;
/** TelemetryAckSchema allows at most this many ranges in one ack. */
const MAX_ACK_RANGES = 10_000;
/** A batch this large goes out at once, without waiting for batchMs (timeseries-out's batchMax). */
const MAX_BATCH_RECORDS = 5000;

export = function register(RED: NodeAPI): void {
  function TelemetryInNode(this: Node, def: NodeDef & Record<string, unknown>): void {
    RED.nodes.createNode(this, def);
    const node = this;
    let cfg: TelemetryInConfig;
    let link: MqttLink;
    try {
      cfg = parseConfig(TelemetryInConfigSchema, 'telemetry-in', def);
      const l = linkOf(RED, cfg.link);
      if (l instanceof Error) throw l;
      link = l;
    } catch (err) {
      node.status(errorStatus(err));
      node.error(err);
      return;
    }
    const window = new SeqWindow({ inFlightTtlMs: cfg.inFlightTtlS * 1000, maxRanges: 256, maxInFlight: 100_000 });
    let ownOversized = 0;
    const stats: TelemetryInStats = {
      batches: 0, records: 0, fresh: 0, duplicates: 0, malformed: 0, wrongSite: 0, unparsed: 0, acks: 0, alarms: 0, stateChanges: 0, badStates: 0,
      get oversized() {
        return ownOversized + link.stats.oversized;
      },
    };
    // For tests and the runtime's metrics: the counters of this node.
    (node as unknown as { stats: TelemetryInStats }).stats = stats;
    const lastState = new Map<string, SiteState['state']>();
    /** Dropped input is reported once per status period per kind, with its count. */
    const dropped = new Map<string, { count: number; detail: string }>();
    const drop = (kind: string, detail: string): void => {
      const d = dropped.get(kind);
      dropped.set(kind, { count: (d?.count ?? 0) + 1, detail: d?.detail ?? detail });
    };

    const publishAck = (siteId: string, ranges: readonly SeqRange[]): void => {
      for (let i = 0; i < ranges.length; i += MAX_ACK_RANGES) {
        const part = ranges.slice(i, i + MAX_ACK_RANGES);
        const a: TelemetryAck = { v: 1, siteId, seq: part.at(-1)![1], ranges: part };
        link.publish(topics.telemetryAck(siteId), JSON.stringify(a), { qos: 1 }).then(
          () => { stats.acks += 1; },
          (err: unknown) => drop('ack-failed', `ack to ${siteId}: ${errorText(err)}`),
        );
      }
    };
    const acks = new AckCoalescer(cfg.ackIntervalMs);
    const ack = (siteId: string, ranges: readonly SeqRange[]): void => {
      const due = acks.committed(siteId, ranges, Date.now());
      if (due) publishAck(due.siteId, due.ranges);
    };
    const ackTimer = cfg.ackIntervalMs > 0
      ? setInterval(() => { for (const due of acks.due(Date.now())) publishAck(due.siteId, due.ranges); }, Math.max(10, Math.min(20, cfg.ackIntervalMs / 4)))
      : null;

    // Over AMQP each message is settled with the broker once its records are committed (deliveries.ts).
    const owed = new OwedDeliveries<Delivery>();
    /** One message's verdict, in arrival order (the parse pool keeps it), applied to the window. */
    const onVerdict = (topic: string, v: Verdict, delivery: Delivery | undefined): void => {
      if ('kind' in v) {
        if (v.kind === 'unparsed') {
          // Not read at all: back to the broker's queue; over MQTT the edge resends it unacknowledged.
          delivery?.requeue();
          stats.unparsed += 1;
        } else {
          // A rejected message never becomes storable: the broker may forget it.
          delivery?.settle();
          if (v.kind === 'oversized') ownOversized += 1;
          else if (v.kind === 'wrong-site') stats.wrongSite += 1;
          else stats.malformed += 1;
        }
        drop(v.kind, `${topic}: ${v.detail}`);
        return;
      }
      const r = admitParsed(v, window, Date.now());
      if (delivery && !owed.add(delivery, r.siteId, [...r.fresh.map((rec) => rec.seq), ...r.inFlightSeqs], Date.now())) delivery.settle();
      stats.batches += 1;
      stats.records += r.fresh.length + r.stored.length + r.inFlight;
      stats.duplicates += r.stored.length + r.inFlight;
      // Already committed: the edge resent them because our ack was lost; acknowledge them again.
      if (r.stored.length) ack(r.siteId, seqRanges(r.stored));
      if (!r.fresh.length) return;
      stats.fresh += r.fresh.length;
      forward(gate ? gate.offer(r.siteId, r.fresh, Date.now()) : r.fresh);
    };
    const parser = new ParsePool<Delivery | undefined>({ workers: parseWorkerCount(cfg.parseWorkers), onVerdict, onError: (err) => node.error(err) });
    // For tests: the pool, whose workers a test may stop.
    (node as unknown as { parsePool: ParsePool<Delivery | undefined> }).parsePool = parser;
    const onTelemetry = (topic: string, payload: Buffer, delivery?: Delivery): void => parser.offer(topic, payload, delivery);

    /** Records and alarms gathered for the next message on outputs 1 and 2. */
    let batch: { records: TelemetryRecord[]; alarms: Alarm[] } = { records: [], alarms: [] };
    let batchTimer: NodeJS.Timeout | null = null;
    const flush = (): void => {
      if (batchTimer) clearTimeout(batchTimer);
      batchTimer = null;
      const { records, alarms } = batch;
      if (!records.length) return;
      batch = { records: [], alarms: [] };
      stats.alarms += alarms.length;
      node.send([
        { topic: fleetTopics.telemetry, payload: records },
        alarms.length ? { topic: fleetTopics.alarm, payload: alarms } : null,
        null,
      ] as unknown as NodeMessage[]);
    };
    /** Records to the store (output 1) and the alarm transitions they carry (output 2), batched. */
    const forward = (records: readonly TelemetryRecord[]): void => {
      if (!records.length) return;
      for (const rec of records) {
        batch.records.push(rec);
        for (const a of rec.alarms ?? []) batch.alarms.push({ ...a, siteId: rec.siteId });
      }
      if (cfg.batchMs === 0 || batch.records.length >= MAX_BATCH_RECORDS) flush();
      else batchTimer ??= setTimeout(flush, cfg.batchMs);
    };
    // With a shared group this runtime sees only part of each site's stream: no order to restore.
    const gate = cfg.orderWaitS > 0 && !cfg.group ? new InOrderGate({ maxWaitMs: cfg.orderWaitS * 1000, maxHeld: 50_000 }) : null;
    const gateTimer = gate ? setInterval(() => { for (const { records } of gate.expire(Date.now())) forward(records); }, 500) : null;

    const onState = (topic: string, payload: Buffer): void => {
      const topicSite = siteIdOfTopic(topic);
      let json: unknown;
      try {
        json = JSON.parse(payload.toString('utf8'));
      } catch {
        json = undefined;
      }
      const s = SiteStateSchema.safeParse(json);
      if (!s.success || s.data.siteId !== topicSite) {
        stats.badStates += 1;
        drop('bad-state', `${topic}: ${s.success ? `state of ${s.data.siteId} on the topic of ${topicSite}` : describeIssues(s.error)}`);
        return;
      }
      if (lastState.get(s.data.siteId) === s.data.state) return;
      lastState.set(s.data.siteId, s.data.state);
      stats.stateChanges += 1;
      node.send([null, null, { topic, payload: s.data }]);
    };

    const filter = cfg.group ? sharedSubscription(cfg.group, fleetTopics.telemetry) : fleetTopics.telemetry;
    const unsubscribe = [link.subscribe(filter, 1, onTelemetry), link.subscribe(fleetTopics.state, 1, onState)];

    const showStatus = (): void => {
      for (const d of owed.expired(Date.now(), cfg.inFlightTtlS * 1000)) d.requeue();
      for (const [kind, d] of dropped) node.warn(`dropped ${d.count} ${kind} message(s), e.g. ${d.detail}`);
      dropped.clear();
      const bad = stats.malformed + stats.wrongSite + stats.oversized;
      const text = shorten(`${stats.fresh} new · ${stats.duplicates} dup · ${bad} bad · ${stats.acks} acks`);
      node.status(link.connected ? { fill: 'green', shape: 'dot', text } : { fill: 'yellow', shape: 'ring', text: shorten(`broker offline · ${text}`) });
    };
    const statusTimer = setInterval(showStatus, STATUS_MS);
    node.status({ fill: 'grey', shape: 'ring', text: `subscribed to ${filter}` });

    node.on('input', (msg: NodeMessageInFlow, _send, done: (err?: Error) => void) => {
      const m = StoreOutcomeMessageSchema.safeParse({ topic: msg.topic, payload: msg.payload });
      if (!m.success) return done(new Error(`telemetry-in: expected timeseries-out's {topic: 'stored'|'refused', payload}: ${describeIssues(m.error)}`));
      for (const site of m.data.payload) {
        if (m.data.topic === 'stored') {
          window.stored(site.siteId, site.ranges);
          ack(site.siteId, site.ranges);
          for (const d of owed.stored(site.siteId, site.ranges)) d.settle();
        } else {
          window.refused(site.siteId, site.ranges);
          // Back to the queue after a pause: a store that refuses now would be handed it again at once.
          for (const d of owed.refused(site.siteId, site.ranges)) setTimeout(() => d.requeue(), REQUEUE_PAUSE_MS).unref();
        }
      }
      done();
    });

    node.on('close', (done: () => void) => {
      clearInterval(statusTimer);
      if (gateTimer) clearInterval(gateTimer);
      if (batchTimer) clearTimeout(batchTimer);
      if (ackTimer) clearInterval(ackTimer);
      // What is committed is owed to the edge now; records not yet handed on are resent by the edge.
      for (const due of acks.drain(Date.now())) publishAck(due.siteId, due.ranges);
      for (const u of unsubscribe) u();
      parser.close().then(done, (err: unknown) => {
        node.error(err);
        done();
      });
    });
  }

  RED.nodes.registerType('telemetry-in', TelemetryInNode);
};
