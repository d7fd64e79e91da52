// How a runtime reaches the MQTT broker: the cloud runs the embedded aedes broker, on its own
// thread (broker-thread.ts), unless an external one is configured (--mqtt-url); the edge connects
// to the cloud's broker as its site.
// The default flows take the broker address and every secret from FLOW_ENV variables set here, so
// the flows on disk never hold a secret (flow-files.ts).
import type { CloudSettings, EdgeSettings } from '../../settings';
import { hostPort } from '../../settings';
import { CLOUD_USERNAME } from '../broker/acl';
import { startBrokerThread, type RunningBrokerThread } from '../broker/broker-thread';
import { cloudDatabase, openCloudDb, type CloudDb } from '../cloud-db/cloud-db';
import { revocationCheck } from '../ota/revocations';
import { loadOrCreateSecrets, secretsPath, siteSecrets } from '../secrets';
import { FLOW_ENV } from './flow-files';
import { fleetTopics } from '../../domain/topics';

/** Sites are admitted at the latest this long after the broker started, with or without an ingest. */
const SITE_HOLD_MAX_MS = 60_000;

export interface MqttWiring {
  /** FLOW_ENV values for the runtime's flows. */
  env: Record<string, string>;
  /** Where the cloud's own MQTT client (OTA notices) connects: the flow's broker, unless that is AMQP. */
  mqttUrl: string;
  /** The embedded broker the cloud runs, if it runs one: on its own thread (broker-thread.ts). */
  broker?: RunningBrokerThread;
}

function tlsEnv(settings: CloudSettings | EdgeSettings): Record<string, string> {
  return { [FLOW_ENV.mqttCa]: settings.mqttCa ?? '', [FLOW_ENV.mqttCert]: settings.mqttCert ?? '', [FLOW_ENV.mqttKey]: settings.mqttKey ?? '' };
}

/** With `tls` (--tls-cert/--tls-key) the embedded broker also listens for MQTTS on --mqtts-port. */
export async function cloudMqtt(settings: CloudSettings, tls?: { cert: Buffer; key: Buffer }): Promise<MqttWiring> {
  const secrets = loadOrCreateSecrets(settings.dataDir);
  let broker: RunningBrokerThread | undefined;
  let url = settings.mqttUrl;
  if (url === undefined) {
    // The deny list of revoked sites and device certificates is in the cloud database, cloud.db or
    // --database-url (runtime/ota/revocations.ts).
    let db: Promise<CloudDb> | undefined;
    const isRevoked = revocationCheck(() => (db ??= openCloudDb(cloudDatabase(settings))));
    broker = await startBrokerThread({
      host: settings.mqttHost, port: settings.mqttPort, credentials: { secretsOf: settings.dataDir }, isRevoked,
      // The flow's telemetry-in subscribes a moment after the broker listens; sites wait for it.
      holdSitesUntilSubscribed: { filter: fleetTopics.telemetry, maxMs: SITE_HOLD_MAX_MS },
      ...(tls ? { mqtts: { port: settings.mqttsPort, tls } } : {}),
    });
    url = `mqtt://${hostPort(settings.mqttHost, broker.port)}`;
  }
  return {
    broker,
    // The OTA client is one connection: the first of a cluster's listeners.
    mqttUrl: url.split(',')[0]!.trim(),
    env: {
      // With --amqp-url the flow's link is the cloud's AMQP link to the cluster (nodes/mqtt-link/amqp-link.ts).
      [FLOW_ENV.mqttUrl]: settings.amqpUrl?.join(',') ?? url,
      [FLOW_ENV.mqttUsername]: CLOUD_USERNAME,
      [FLOW_ENV.mqttPassword]: secrets.mqttCloudPassword,
      [FLOW_ENV.secretsFile]: secretsPath(settings.dataDir),
      [FLOW_ENV.commandKey]: '',
      ...tlsEnv(settings),
    },
  };
}

/** Where the edge's broker is when none is configured: the all-in-one cloud's default port. */
export const DEFAULT_EDGE_MQTT_URL = 'mqtt://127.0.0.1:1883';

export function edgeMqtt(settings: EdgeSettings): MqttWiring {
  const site = siteSecrets(settings.dataDir, settings.siteId);
  const url = settings.mqttUrl ?? DEFAULT_EDGE_MQTT_URL;
  return {
    mqttUrl: url,
    env: {
      [FLOW_ENV.mqttUrl]: url,
      [FLOW_ENV.mqttUsername]: settings.siteId,
      [FLOW_ENV.mqttPassword]: site.mqttPassword,
      [FLOW_ENV.commandKey]: site.commandKey,
      [FLOW_ENV.secretsFile]: '',
      ...tlsEnv(settings),
    },
  };
}
