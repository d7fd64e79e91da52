// The fleet benchmark's floor, in its own process as the cloud runtime is: the embedded broker (the
// same code, the same authentication and ACL) and one plain subscriber that parses each batch with
// JSON.parse only, writes into the same SQLite time-series store every 100 ms and acknowledges what
// was committed with the same coalesced range acks as the cloud (at most one per site per second),
// but without the flow: no Node-RED, no validation, no dedup window, no alarms, no hub. Prints "floor ready mqtt://host:port" and runs until SIGTERM.
// Started by bench/fleet.ts; args: <data dir> <cloud password>.
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { TelemetryAck, TelemetryBatch, TelemetryRecord } from '../domain/contracts';
import { fleetTopics, topics } from '../domain/topics';
import { CLOUD_USERNAME } from '../runtime/broker/acl';
import { startBroker } from '../runtime/broker/broker';
import { hashSecret } from '../runtime/broker/credentials';
import { openSqliteStore } from '../io/timeseries/sqlite-store';
import type { SeqRange } from '../io/timeseries/store';
import { AckCoalescer } from '../nodes/telemetry-in/ack-coalescer';

/** As telemetry-in's default ackIntervalMs. */
const ACK_INTERVAL_MS = 1000;

async function main(): Promise<void> {
  const [dir, password] = process.argv.slice(2);
  if (!dir || !password) throw new Error('usage: fleet-floor-server <data dir> <cloud password>');
  const broker = await startBroker({ port: 0, credentials: (u) => (u === CLOUD_USERNAME ? hashSecret(password) : undefined) });
  const store = openSqliteStore(join(dir, 'timeseries.db'));
  const sub = mqtt.connect(broker.url, { username: CLOUD_USERNAME, password, clientId: `floor-${process.pid}`, clean: true });
  let batch: TelemetryRecord[] = [];
  const acks = new AckCoalescer(ACK_INTERVAL_MS);
  const sendAck = (siteId: string, ranges: SeqRange[]): void => {
    const ack: TelemetryAck = { v: 1, siteId, seq: ranges.at(-1)![1], ranges };
    sub.publish(topics.telemetryAck(siteId), JSON.stringify(ack), { qos: 1 });
  };
  const ackTimer = setInterval(() => { for (const a of acks.due(Date.now())) sendAck(a.siteId, a.ranges); }, 20);
  sub.on('message', (_topic, payload) => {
    batch.push(...(JSON.parse(payload.toString()) as TelemetryBatch).records);
  });
  await new Promise<void>((resolve) => sub.once('connect', () => resolve()));
  await sub.subscribeAsync(fleetTopics.telemetry, { qos: 1 });
  const timer = setInterval(() => {
    if (!batch.length) return;
    const records = batch;
    batch = [];
    void store.write(records).then((r) => {
      for (const c of r.committed) {
        const due = acks.committed(c.siteId, c.ranges, Date.now());
        if (due) sendAck(due.siteId, due.ranges);
      }
    });
  }, 100);
  console.log(`floor ready ${broker.url}`);
  process.once('SIGTERM', () => {
    clearInterval(timer);
    clearInterval(ackTimer);
    void sub.endAsync().then(() => store.close()).then(() => broker.close()).then(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
