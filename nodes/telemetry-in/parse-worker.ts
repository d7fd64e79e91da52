// The body of telemetry-in's parse workers (a piscina pool, parse-pool.ts): the checks of
// parseBatch for many MQTT messages at once, off the cloud's main event loop. The messages come as
// one byte buffer (transferred, not copied) with each message's end offset; the answer is one
// verdict per message, in the same order.
import { parseBatch, type ParsedBatch, type Rejection } from './ingest';

export interface ParseTask {
  topics: string[];
  /** Where each message's payload ends in `bytes` (the first starts at 0). */
  ends: number[];
  bytes: Uint8Array;
  /**
   * 'objects': the records as TelemetryBatchSchema produced them (structured clone back);
   * 'json': the same records as one JSON text per message, for the main thread to JSON.parse
   * (bench/ingest-parse.ts measures which costs the main thread less).
   */
  reply: 'objects' | 'json';
}

export type ParseVerdict = ParsedBatch | Rejection | { siteId: string; recordsJson: string };

export default function parseMessages(task: ParseTask): ParseVerdict[] {
  const out: ParseVerdict[] = [];
  let start = 0;
  for (let i = 0; i < task.topics.length; i++) {
    const end = task.ends[i]!;
    const v = parseBatch(task.topics[i]!, task.bytes.subarray(start, end));
    start = end;
    out.push(task.reply === 'json' && !('kind' in v) ? { siteId: v.siteId, recordsJson: JSON.stringify(v.records) } : v);
  }
  return out;
}
