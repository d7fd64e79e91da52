// The cloud as the edge sees it, played by a plain mqtt.js client: it takes telemetry batches,
// "stores" each record (an array, deduplicated by seq) and only then acknowledges exactly the
// seqs it stored. The real cloud nodes are another helper's; this is the protocol, no more.
import { connect, type MqttClient } from 'mqtt';
import { TelemetryBatchSchema, type TelemetryAck, type TelemetryRecord } from '../../../domain/contracts';
import { topics } from '../../../domain/topics';

export interface FakeCloud {
  /** Every record stored, in the order first received (duplicates left out). */
  readonly stored: TelemetryRecord[];
  /** Seqs in the order received, duplicates included. */
  readonly received: number[];
  readonly duplicates: number;
  has(seq: number): boolean;
  close(): Promise<void>;
}

export async function startFakeCloud(url: string, siteId: string): Promise<FakeCloud> {
  const stored: TelemetryRecord[] = [];
  const received: number[] = [];
  const seen = new Set<number>();
  let duplicates = 0;
  const client: MqttClient = connect(url, { reconnectPeriod: 100, clean: true });
  client.on('message', (_topic, payload) => {
    const batch = TelemetryBatchSchema.parse(JSON.parse(payload.toString()));
    const ranges: Array<[number, number]> = [];
    for (const r of batch.records) {
      received.push(r.seq);
      if (seen.has(r.seq)) duplicates++;
      else {
        seen.add(r.seq);
        stored.push(r);
      }
      // A duplicate is acked too: the edge may have missed the first ack.
      const last = ranges.at(-1);
      if (last && last[1] === r.seq - 1) last[1] = r.seq;
      else ranges.push([r.seq, r.seq]);
    }
    const ack: TelemetryAck = { v: 1, siteId, seq: Math.max(...batch.records.map((r) => r.seq)), ranges };
    client.publish(topics.telemetryAck(siteId), JSON.stringify(ack), { qos: 1 });
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  await client.subscribeAsync(topics.telemetry(siteId), { qos: 1 });
  return {
    stored, received,
    get duplicates() {
      return duplicates;
    },
    has: (seq) => seen.has(seq),
    close: () => client.endAsync(true),
  };
}
