// The flow file each runtime runs. The cloud and the edge each get their own Node-RED user
// directory (<dataDir>/cloud, <dataDir>/edge) so the two never share files; on the first start
// the default flow from flows/ is copied there, and from then on the flow belongs to the user
// (deploys from the editor save into it).
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { CloudSettings, EdgeSettings } from '../../settings';
import { SettingsError } from '../../settings';
import { VersionSchema } from '../ota/manifest';
import { packageRoot } from '../../io/package-root';
import { MODBUS_ADDRESS_ENV } from '../../nodes/modbus-connection/config';

const FlowNodeSchema = z.looseObject({ id: z.string().min(1), type: z.string().min(1) });
const FlowSchema = z.array(FlowNodeSchema);
type FlowNode = z.infer<typeof FlowNodeSchema>;

export function defaultFlowPath(role: 'cloud' | 'edge'): string {
  return join(packageRoot, 'flows', `${role}.json`);
}

export function readFlow(path: string, source: string): FlowNode[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new SettingsError(source, `cannot read flow file '${path}': ${(err as Error).message}`);
  }
  const flow = FlowSchema.safeParse(parsed);
  if (!flow.success) {
    throw new SettingsError(source, `'${path}' is not a Node-RED flow (expected an array of nodes with id and type)`);
  }
  return flow.data;
}

/**
 * The default edge flow addressed to this site: its modbus-connection nodes point at the
 * configured Modbus host and port (the simulator's by default), every node that serves the site
 * carries its id, and the control cycle sets the device polls, the safety watchdog and the PCS
 * heartbeat. Node-RED would substitute ${ENV} in a text property, but a number field holding
 * "${LIFO4_MODBUS_PORT}" fails the editor's validation, so the values are written in instead.
 */
export function addressEdgeFlow(flow: readonly FlowNode[], settings: Pick<EdgeSettings, 'modbusHost' | 'modbusPort' | 'siteId' | 'cycleMs'>): FlowNode[] {
  return flow.map((node) => {
    switch (node.type) {
      case 'modbus-connection': return { ...node, host: settings.modbusHost, port: settings.modbusPort };
      case 'sunspec-device':
      case 'profile-device': return { ...node, siteId: settings.siteId, interval: settings.cycleMs };
      case 'safety-limits': return { ...node, siteId: settings.siteId, cycleMs: settings.cycleMs };
      // The PCS reverts to 0 W after three missed cycles, and never sooner than 5 s.
      case 'pcs-setpoint': return { ...node, heartbeat: settings.cycleMs, revertTimeout: Math.max(5, Math.ceil((3 * settings.cycleMs) / 1000)) };
      // Strategies and every other node that serves one site.
      default: return 'siteId' in node ? { ...node, siteId: settings.siteId } : node;
    }
  });
}

/** The shared group of the cloud's AMQP ingest when --share-group is not given: queue lifo4-share-ingest. */
export const AMQP_INGEST_GROUP = 'ingest';

/**
 * The default cloud flow set up as configured: the shared ingest group, and the store the runtime
 * opened from its settings (--timeseries, --influx-url), which its API reads too.
 */
export function addressCloudFlow(flow: readonly FlowNode[], settings: Pick<CloudSettings, 'shareGroup' | 'amqpUrl'>): FlowNode[] {
  // Over AMQP the ingest is always the shared quorum queue (nodes/mqtt-link/amqp-link.ts), so
  // that every cloud process on the cluster takes its share and acks only what it stored.
  const group = settings.shareGroup ?? (settings.amqpUrl ? AMQP_INGEST_GROUP : '');
  return flow.map((node) => {
    switch (node.type) {
      case 'telemetry-in': return { ...node, group };
      case 'timeseries-out': return { ...node, backend: 'runtime' };
      default: return node;
    }
  });
}

/**
 * The environment variables through which the default flows get their broker and secrets: the
 * runtime sets them from its settings and secrets.json (runtime.ts), and the flows' credentials
 * refer to them, so no secret is ever written into a flow file. Node-RED substitutes a property
 * or credential that is exactly `${NAME}` when the flow starts.
 */
export const FLOW_ENV = {
  mqttUrl: 'EMS_MQTT_URL',
  mqttUsername: 'EMS_MQTT_USERNAME',
  mqttPassword: 'EMS_MQTT_PASSWORD',
  mqttCa: 'EMS_MQTT_CA',
  mqttCert: 'EMS_MQTT_CERT',
  mqttKey: 'EMS_MQTT_KEY',
  /** The edge's own command key. */
  commandKey: 'EMS_COMMAND_KEY',
  /** secrets.json, where the cloud's command-out reads every site's key (too many for a variable). */
  secretsFile: 'EMS_SECRETS_FILE',
  /** The edge's ONNX models: <dataDir>/models/<name>.onnx when there, else the build's dist/models/ (runtime/app/edge-models.ts). */
  forecastModel: 'EMS_FORECAST_MODEL',
  ageingModel: 'EMS_AGEING_MODEL',
  anomalyModel: 'EMS_ANOMALY_MODEL',
  /** The Modbus address of the site's devices (--modbus-host, --modbus-port), which the examples refer to. */
  modbusHost: MODBUS_ADDRESS_ENV.host,
  modbusPort: MODBUS_ADDRESS_ENV.port,
  /** Where a fresh edge's load forecast asks for past loads: '' = nowhere; beside the simulator its GET /history/load. */
  loadHistoryUrl: 'EMS_LOAD_HISTORY_URL',
} as const;

/** The edge's Modbus address variables, so an imported example reaches the devices this edge polls. */
export function edgeModbusEnv(settings: Pick<EdgeSettings, 'modbusHost' | 'modbusPort'>): Record<string, string> {
  return { [FLOW_ENV.modbusHost]: settings.modbusHost, [FLOW_ENV.modbusPort]: String(settings.modbusPort) };
}

const ref = (name: string) => `\${${name}}`;

/** Credentials of the default flows' nodes, by node id: references to FLOW_ENV, never values. */
export function flowCredentials(flow: readonly FlowNode[]): Record<string, Record<string, string>> {
  const creds: Record<string, Record<string, string>> = {};
  for (const node of flow) {
    if (node.type === 'mqtt-link') creds[node.id] = { username: ref(FLOW_ENV.mqttUsername), password: ref(FLOW_ENV.mqttPassword) };
    if (node.type === 'command-in') creds[node.id] = { key: ref(FLOW_ENV.commandKey) };
  }
  return creds;
}

/**
 * The flow file of an OTA release (the agent runs `lifo4 edge --flows <release>/flows.json` with
 * LIFO4_RELEASE set): copied on the release's first start to <userDir>/release-<version>.json,
 * addressed to this site like the default flow, with the credential references beside it, since a
 * flow exported from the editor carries no credentials. Deploys from the editor save there, so
 * the release folder stays as it was signed and a rollback returns to the previous release's
 * flows as they were last deployed.
 */
function releaseFlowFile(flow: readonly FlowNode[], settings: EdgeSettings, userDir: string, release: string): string {
  if (!VersionSchema.safeParse(release).success) throw new SettingsError('LIFO4_RELEASE', `'${release}' is not a release version`);
  // Node-RED keeps the credentials in <userDir>/<flow file base>_cred.json.
  const base = `release-${release}`;
  const flowFile = join(userDir, `${base}.json`);
  if (!existsSync(flowFile)) {
    const addressed = addressEdgeFlow(flow, settings);
    writeFileSync(join(userDir, `${base}_cred.json`), `${JSON.stringify(flowCredentials(addressed), null, 2)}\n`, { mode: 0o600 });
    writeFileSync(`${flowFile}.tmp`, `${JSON.stringify(addressed, null, 2)}\n`);
    renameSync(`${flowFile}.tmp`, flowFile);
  }
  return flowFile;
}

/**
 * Path of the flow file the runtime runs, created from the default flow on the first start.
 * `release` is the OTA release the edge runs under its agent (LIFO4_RELEASE), if any.
 */
export function prepareFlowFile(settings: CloudSettings | EdgeSettings, userDir: string, release = process.env.LIFO4_RELEASE): string {
  if (settings.role === 'edge' && settings.flowsFile !== undefined) {
    const flow = readFlow(settings.flowsFile, '--flows'); // fail now with a clear message, not inside Node-RED
    return release ? releaseFlowFile(flow, settings, userDir, release) : settings.flowsFile;
  }
  const flowFile = join(userDir, 'flows.json');
  if (!existsSync(flowFile)) {
    const defaults = readFlow(defaultFlowPath(settings.role), `default ${settings.role} flow`);
    const flow = settings.role === 'edge' ? addressEdgeFlow(defaults, settings) : addressCloudFlow(defaults, settings);
    // Plain JSON: Node-RED takes unencrypted credentials and encrypts them with credentialSecret
    // on the first deploy. They hold only ${EMS_*} references.
    writeFileSync(join(userDir, 'flows_cred.json'), `${JSON.stringify(flowCredentials(flow), null, 2)}\n`, { mode: 0o600 });
    writeFileSync(flowFile, `${JSON.stringify(flow, null, 2)}\n`);
  }
  return flowFile;
}
