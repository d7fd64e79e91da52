// What the cloud runtime opens before its flows start, and hands down: the time-series store (from
// --timeseries and --influx-url), the fleet hub, the OTA notices' own MQTT connection and the API
// over all of them. The API gets them directly; the flow's nodes get the store and the hub through
// Node-RED's settings (io/host-resources.ts), so no module holds a process-wide instance.
import { readFileSync } from 'node:fs';
import { connect as connectMqtt, type MqttClient } from 'mqtt';
import type { CloudSettings } from '../../settings';
import { FleetHub } from '../../io/fleet-hub';
import type { HostResources } from '../../io/host-resources';
import { defaultTimeseriesPath, openTimeseriesStore } from '../../io/timeseries/open';
import type { TimeseriesStore } from '../../io/timeseries/store';
import { CLOUD_USERNAME } from '../broker/acl';
import type { HealthInfo } from '../api/health';
import { maskDatabaseUrl } from '../cloud-db/cloud-db';
import { mqttOtaTransport } from '../ota/mqtt-transport';
import type { Secrets } from '../secrets';
import { createCloudApi, type CloudApi } from './cloud-api';

export interface CloudHost {
  api: CloudApi;
  /** What the flow's nodes receive under Node-RED's `lifo4` setting. */
  resources: Required<Pick<HostResources, 'timeseries' | 'fleetHub'>>;
  /** Closes the API, the OTA connection and the store, in that order. */
  close(): Promise<void>;
}

/** The cloud's time-series store: SQLite beside the cloud's other data by default, or InfluxDB 1.x. */
export function openCloudStore(settings: Pick<CloudSettings, 'timeseries' | 'influxUrl'>, userDir: string): TimeseriesStore {
  return settings.timeseries === 'influxdb'
    ? openTimeseriesStore({ backend: 'influxdb', url: settings.influxUrl })
    : openTimeseriesStore({ backend: 'sqlite', path: defaultTimeseriesPath(userDir) });
}

export async function startCloudHost(
  settings: CloudSettings,
  opts: { userDir: string; secrets: Secrets; mqttUrl: string; health: HealthInfo },
): Promise<CloudHost> {
  const store = openCloudStore(settings, opts.userDir);
  const hub = new FleetHub();
  // OTA notices and reports travel on the cloud's own MQTT connection (the flow's link is the
  // flow's); the bundle URL in notices is set once the server listens (the port may be 0).
  let otaClient: MqttClient | undefined;
  try {
    otaClient = connectMqtt(opts.mqttUrl, {
      username: CLOUD_USERNAME, password: opts.secrets.mqttCloudPassword, clientId: `lifo4-cloud-ota-${process.pid}`, clean: true, reconnectPeriod: 1000,
      ...(settings.mqttCa ? { ca: readFileSync(settings.mqttCa) } : {}),
      ...(settings.mqttCert ? { cert: readFileSync(settings.mqttCert) } : {}),
      ...(settings.mqttKey ? { key: readFileSync(settings.mqttKey) } : {}),
    });
    otaClient.on('error', (err) => console.error(`cloud OTA MQTT: ${err.message}`));
    const client = otaClient;
    // Which database, never its password (the URL may hold one).
    if (settings.databaseUrl) console.log(`cloud: database ${maskDatabaseUrl(settings.databaseUrl)}`);
    const api = await createCloudApi({
      dataDir: settings.dataDir, database: settings.databaseUrl, hub, store, secrets: opts.secrets, health: opts.health,
      behindProxy: settings.trustProxy !== undefined, editorSessionHours: settings.editorSessionH,
      ota: { transport: mqttOtaTransport(client), mqttUrl: opts.mqttUrl },
      notify: { smtpUrl: settings.smtpUrl, smtpFrom: settings.smtpFrom, escalateAfterS: settings.notifyEscalateS, retryS: settings.notifyRetryS },
    });
    return {
      api,
      resources: { timeseries: store, fleetHub: hub },
      async close() {
        await api.close();
        await client.endAsync(true).catch(() => undefined);
        await store.close();
      },
    };
  } catch (err) {
    otaClient?.end(true);
    await store.close().catch(() => undefined);
    throw err;
  }
}
