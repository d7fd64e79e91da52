// One publisher process of the fleet bench (bench/fleet.ts --publishers P): a share of the simulated
// sites (bench/fleet-sites.ts), so that 10,000 sites with their resends and acks do not wait on one
// process's event loop. Forked with IPC by fleet.ts, it connects, says 'connected', publishes once
// it is told 'go' (all publishers start together), keeps resending what is not acknowledged until
// settled, and answers with what it published and what was acknowledged when (epoch ms, so the
// shares add up on one clock).
import { FleetSites, type FleetSitesOptions } from './fleet-sites';

export interface PublisherTask {
  fleet: FleetSitesOptions;
  publishMs: number;
  settleMs: number;
}

export interface PublisherResult {
  publishedKeys: string[];
  ackedKeys: string[];
  /** Per acknowledged record: first publish -> ack, ms. */
  latencies: number[];
  resent: number;
  /** Epoch ms of the first and last ack (0 when none came). */
  firstAckAt: number;
  lastAckAt: number;
}

type FromParent = { task: PublisherTask } | { go: true };

const send = (m: unknown): Promise<void> => new Promise((resolve, reject) => process.send!(m, undefined, {}, (err) => (err ? reject(err) : resolve())));

async function main(): Promise<void> {
  const task = await new Promise<PublisherTask>((resolve) => process.once('message', (m: FromParent) => 'task' in m && resolve(m.task)));
  const fleet = await FleetSites.connect(task.fleet);
  const go = new Promise<void>((resolve) => process.once('message', () => resolve()));
  await send({ connected: true });
  await go;
  await fleet.publishFor(task.publishMs);
  await fleet.settle(task.settleMs);
  await fleet.close();
  const epoch = (t: number): number => (t ? performance.timeOrigin + t : 0);
  const result: PublisherResult = {
    publishedKeys: [...fleet.publishedKeys], ackedKeys: [...fleet.ackedKeys], latencies: fleet.latencies, resent: fleet.resent,
    firstAckAt: epoch(fleet.firstAckAt), lastAckAt: epoch(fleet.lastAckAt),
  };
  await send({ result });
}

main().then(() => process.disconnect(), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
