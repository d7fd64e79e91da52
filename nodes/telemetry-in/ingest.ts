// What telemetry-in does with one MQTT message, apart from Node-RED: check size, JSON, schema and
// that the batch's site is the topic's (a site may publish only under its own topic, so a batch
// naming another site is forged or misrouted), then sort its records into new, in flight and
// already stored with the SeqWindow. The records passed on are sealed as valid, so the store does
// not parse them a second time (io/timeseries/valid-records.ts).
import { MAX_MQTT_PAYLOAD_BYTES, TelemetryBatchSchema, describeIssues, type TelemetryRecord } from '../../domain/contracts';
import { siteIdOfTopic } from '../../domain/topics';
import { sealValidRecord } from '../../io/timeseries/valid-records';
import type { SeqWindow } from './seq-window';

/** What telemetry-in counts (exposed as node.stats for tests and metrics). */
export interface TelemetryInStats {
  batches: number;
  records: number;
  /** Records passed on to be stored. */
  fresh: number;
  /** Records received again: already stored (acked again) or still in flight (dropped). */
  duplicates: number;
  malformed: number;
  wrongSite: number;
  /** Oversized messages this node saw plus those its mqtt-link dropped unread. */
  readonly oversized: number;
  /** Messages dropped unread because a parse worker died with them or too many waited: resent by the edge. */
  unparsed: number;
  acks: number;
  alarms: number;
  stateChanges: number;
  badStates: number;
}

export type Rejection = { kind: 'oversized' | 'malformed' | 'wrong-site'; detail: string };

export interface Admitted {
  siteId: string;
  /** Records to store, in the batch's order. */
  fresh: TelemetryRecord[];
  /** Seqs already committed: acknowledged again at once. */
  stored: number[];
  /** Seqs handed to the store and not yet committed: dropped, their ack follows the commit. */
  inFlight: number;
  /** Those seqs. */
  inFlightSeqs: number[];
}

/** A message that passed every check: its site and its records, as TelemetryBatchSchema produced them. */
export interface ParsedBatch {
  siteId: string;
  records: TelemetryRecord[];
}

/**
 * The checks of one message, apart from any state: size, topic, JSON, TelemetryBatchSchema (with its
 * refinements) and the batch's site against the topic's. Pure, so it runs in telemetry-in's parse
 * workers (parse-worker.ts) as well as in the node's own thread, with the same verdicts.
 */
export function parseBatch(topic: string, payload: Uint8Array): ParsedBatch | Rejection {
  if (payload.length > MAX_MQTT_PAYLOAD_BYTES) return { kind: 'oversized', detail: `${payload.length} bytes (limit ${MAX_MQTT_PAYLOAD_BYTES})` };
  const topicSite = siteIdOfTopic(topic);
  if (topicSite === null) return { kind: 'malformed', detail: `topic ${topic} is not lifo4/<siteId>/telemetry` };
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
  } catch (err) {
    return { kind: 'malformed', detail: `not JSON: ${(err as Error).message}` };
  }
  const parsed = TelemetryBatchSchema.safeParse(json);
  if (!parsed.success) return { kind: 'malformed', detail: describeIssues(parsed.error) };
  const batch = parsed.data;
  if (batch.siteId !== topicSite) return { kind: 'wrong-site', detail: `batch for ${batch.siteId} on the topic of ${topicSite}` };
  return { siteId: batch.siteId, records: batch.records };
}

/** Sorts a parsed batch's records with the SeqWindow; the new ones are sealed as valid. */
export function admitParsed(batch: ParsedBatch, window: SeqWindow, now: number): Admitted {
  const out: Admitted = { siteId: batch.siteId, fresh: [], stored: [], inFlight: 0, inFlightSeqs: [] };
  for (const r of batch.records) {
    const verdict = window.admit(r.siteId, r.seq, now);
    if (verdict === 'new') out.fresh.push(sealValidRecord(r));
    else if (verdict === 'stored') out.stored.push(r.seq);
    else {
      out.inFlight += 1;
      out.inFlightSeqs.push(r.seq);
    }
  }
  return out;
}

/** parseBatch then admitParsed, in this thread. */
export function admitBatch(topic: string, payload: Uint8Array, window: SeqWindow, now: number): Admitted | Rejection {
  const parsed = parseBatch(topic, payload);
  return 'kind' in parsed ? parsed : admitParsed(parsed, window, now);
}
