// timeseries-out: telemetry records in, written to the time-series store in batches; after each
// commit it sends which seqs of which site are stored, so telemetry-in acknowledges exactly those to
// the edge (a record is acknowledged only once it is committed). The store is SQLite or InfluxDB
// 1.x opened by this node, or with the backend "runtime" the store its host opened (the lifo4 cloud
// runtime, whose API queries the same store; io/host-resources.ts).
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { SiteIdSchema } from '../../domain/contracts';
import { parseConfig } from '../kit/config';
import { errorStatus, errorText, shorten } from '../kit/status';
import { defaultTimeseriesPath, openTimeseriesStore } from '../../io/timeseries/open';
import { hostResources } from '../../io/host-resources';
import { seqRanges, type TimeseriesStore } from '../../io/timeseries/store';
import { influxUrl, TimeseriesOutConfigSchema, TimeseriesOutCredentialsSchema, type TimeseriesOutConfig } from './config';
import type { StoredSite } from './stored-message';

type Credentials = { username?: string; password?: string };
type Done = (err?: Error) => void;

/** How often the status line and rate-limited warnings refresh, ms. */
const STATUS_MS = 1000;

/** The seqs of the records that name a valid site and seq: what a refusal tells telemetry-in. */
function sitesOf(records: readonly unknown[]): StoredSite[] {
  const bySite = new Map<string, number[]>();
  for (const r of records) {
    const { siteId, seq } = (r ?? {}) as { siteId?: unknown; seq?: unknown };
    if (!SiteIdSchema.safeParse(siteId).success || !Number.isInteger(seq) || (seq as number) < 1) continue;
    bySite.set(siteId as string, [...(bySite.get(siteId as string) ?? []), seq as number]);
  }
  return [...bySite].map(([siteId, seqs]) => ({ siteId, ranges: seqRanges(seqs), seq: Math.max(...seqs) }));
}

export = function register(RED: NodeAPI): void {
  function TimeseriesOutNode(this: Node<Credentials>, def: NodeDef & Record<string, unknown>): void {
    RED.nodes.createNode(this, def);
    const node = this;
    let cfg: TimeseriesOutConfig;
    let store: TimeseriesStore;
    try {
      cfg = parseConfig(TimeseriesOutConfigSchema, 'timeseries-out', def);
      const credentials = parseConfig(TimeseriesOutCredentialsSchema, 'timeseries-out credentials', node.credentials ?? {});
      const userDir = (RED.settings as { userDir?: string }).userDir ?? join(homedir(), '.node-red');
      if (cfg.backend === 'runtime') {
        const hosted = hostResources(RED.settings).timeseries;
        if (!hosted) throw new Error('timeseries-out: the backend "runtime" needs a host that opens the store (the lifo4 cloud runtime); choose sqlite or influxdb here');
        store = hosted;
      } else {
        store = cfg.backend === 'sqlite'
          ? openTimeseriesStore({ backend: 'sqlite', path: cfg.path || defaultTimeseriesPath(userDir), queue: { maxQueued: cfg.queueMax } })
          : openTimeseriesStore({ backend: 'influxdb', url: influxUrl(cfg.url, credentials), queue: { maxQueued: cfg.queueMax } });
      }
    } catch (err) {
      node.status(errorStatus(err));
      node.error(err);
      return;
    }
    // The host's store outlives a redeploy: the host closes it when it stops.
    const ownsStore = cfg.backend !== 'runtime';

    const counts = { stored: 0, duplicates: 0, rejected: 0, refused: 0 };
    let batch: { records: unknown[]; dones: Done[] } = { records: [], dones: [] };
    let timer: NodeJS.Timeout | null = null;
    let closing = false;
    /** Invalid records are reported once per status period, with their count, not one warning each. */
    let rejectedSinceWarn: { count: number; example: string } | null = null;

    const flush = (): void => {
      if (timer) clearTimeout(timer);
      timer = null;
      const { records, dones } = batch;
      batch = { records: [], dones: [] };
      if (!records.length) return;
      store.write(records).then(
        (r) => {
          counts.stored += r.inserted;
          counts.duplicates += r.duplicates;
          if (r.rejected.length) {
            counts.rejected += r.rejected.length;
            rejectedSinceWarn = { count: (rejectedSinceWarn?.count ?? 0) + r.rejected.length, example: r.rejected[0]!.reason };
          }
          if (!closing && r.committed.length) node.send({ topic: 'stored', payload: r.committed, inserted: r.inserted, duplicates: r.duplicates } as NodeMessage);
          for (const d of dones) d();
        },
        (err: unknown) => {
          counts.refused += records.length;
          const error = err instanceof Error ? err : new Error(String(err));
          if (!closing) node.send({ topic: 'refused', payload: sitesOf(records), error: error.message } as NodeMessage);
          // One error per refused batch (for Catch nodes and the log), not one per message.
          dones.forEach((d, i) => (i === 0 ? d(error) : d()));
        },
      );
    };

    const showStatus = (): void => {
      if (rejectedSinceWarn) {
        node.warn(`${rejectedSinceWarn.count} invalid record(s) not stored, e.g. ${rejectedSinceWarn.example}`);
        rejectedSinceWarn = null;
      }
      const h = store.health();
      if (h.retrying) {
        node.status({ fill: 'red', shape: 'ring', text: shorten(`${store.kind} down, ${h.queued} waiting: ${h.lastError ?? ''}`) });
      } else {
        const extra = [h.queued ? `${h.queued} queued` : '', counts.rejected ? `${counts.rejected} invalid` : '', counts.refused ? `${counts.refused} refused` : ''].filter(Boolean);
        node.status({ fill: 'green', shape: 'dot', text: shorten([`${store.kind}: ${counts.stored} stored`, `${counts.duplicates} dup`, ...extra].join(' · ')) });
      }
    };
    const statusTimer = setInterval(showStatus, STATUS_MS);
    node.status({ fill: 'grey', shape: 'ring', text: `${store.kind}: ready` });

    node.on('input', (msg: NodeMessageInFlow, _send, done: Done) => {
      const p = msg.payload;
      if (p === null || typeof p !== 'object') return done(new Error('timeseries-out: msg.payload must be a TelemetryRecord or an array of them'));
      if (Array.isArray(p)) batch.records.push(...(p as unknown[]));
      else batch.records.push(p);
      batch.dones.push(done);
      if (batch.records.length >= cfg.batchMax) flush();
      else timer ??= setTimeout(flush, cfg.batchMs);
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closing = true;
      clearInterval(statusTimer);
      flush();
      if (!ownsStore) return done();
      store.close().then(
        () => undefined,
        (err: unknown) => node.warn(`closing the store: ${errorText(err)}`),
      ).finally(() => done());
    });
  }

  RED.nodes.registerType('timeseries-out', TimeseriesOutNode as unknown as (this: Node, def: NodeDef) => void, {
    credentials: { username: { type: 'text' }, password: { type: 'password' } },
  });
};
