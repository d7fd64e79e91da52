// One Node-RED runtime embedded in an Express 4 app: the cloud or the edge. Node-RED is a
// singleton per process (RED.init may run once), so a process runs exactly one role.
import { existsSync, mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import compression from 'compression';
import express from 'express';
import RED from 'node-red';
import type { CloudSettings, EdgeSettings } from '../../settings';
import { FIELDS, SettingsError, hostPort } from '../../settings';
import { loadOrCreateSecrets } from '../secrets';
import { apiRouter, type HealthInfo } from '../api/health';
import { edgeModbusEnv, prepareFlowFile } from './flow-files';
import { startCloudHost, type CloudHost } from './cloud-host';
import { HOST_SETTING } from '../../io/host-resources';
import { cloudMqtt, edgeMqtt } from './mqtt-wiring';
import { brokerCredentials } from '../broker/site-accounts';
import { brokerFailing } from '../broker/broker-thread';
import { BROKER_AUTH_ROOT, brokerAuthRouter } from '../api/broker-auth';
import { revocationCheck } from '../ota/revocations';
import { startAgentHealthReports } from '../ota/runtime-health';
import { edgeHealthFacts } from './edge-health';
import { edgeModelEnv } from './edge-models';
import { nodeRedVersion, packageVersion } from '../package-info';
import { packageRoot } from '../../io/package-root';
import { openEdgeAccounts } from '../edge/edge-accounts';
import { EdgePromMetrics } from '../edge/edge-metrics';
import { edgeMetricsHandler } from '../edge/metrics-route';
import { guardUpgrades, hostCheck } from './host-check';
import { createWebServer, loadTls, securityHeaders, webScheme } from './http-security';

export type RuntimeSettings = CloudSettings | EdgeSettings;

export const EDITOR_ROOT = '/editor';
export const HTTP_NODE_ROOT = '/nodes';
export const API_ROOT = '/api/v1';

export interface RunningRuntime {
  role: RuntimeSettings['role'];
  /** The port actually bound (differs from the setting when that was 0). */
  port: number;
  /** The cloud's embedded MQTT broker port, when it runs one. */
  mqttPort?: number;
  /** Its MQTTS port, when TLS is configured. */
  mqttsPort?: number;
  /** http://host:port, or https:// under TLS */
  url: string;
  /** Stops the flows, Node-RED and the HTTP server, closing every open connection. */
  stop(): Promise<void>;
}

/**
 * Modules under <package root>/node_modules that Node-RED must not load into our runtimes:
 * node-red-contrib-modbus is a devDependency for tests of its message format only, and it pulls
 * vm2 (unfixed critical advisories). Node-RED scans <root>/node_modules because it walks up from
 * its own core nodes folder; `nodesExcludes` skips a module by its folder name.
 */
export const EXCLUDED_NODE_MODULES = ['node-red-contrib-modbus'];

/**
 * Core node files the cloud does not load unless --code-nodes on: function and exec run code, and
 * the file nodes read and write any file (secrets.json, the fleet keys, or a module to load), in
 * the process that holds every site's command key. `nodesExcludes` also skips a file by its name
 * (@node-red/registry, localfilesystem.js). The edge keeps them: its editor is its integrator's.
 */
export const CLOUD_CODE_NODE_FILES = ['10-function.js', '90-exec.js', '10-file.js'];

function listenPort(settings: RuntimeSettings): { host: string; hostFlag: string; port: number; flag: string } {
  return settings.role === 'cloud'
    ? { host: settings.cloudHost, hostFlag: FIELDS.cloudHost.flag, port: settings.port, flag: FIELDS.port.flag }
    : { host: settings.edgeHost, hostFlag: FIELDS.edgeHost.flag, port: settings.edgePort, flag: FIELDS.edgePort.flag };
}

/** Node-RED's settings for a role (what a settings.js file would hold for a standalone install). */
export function nodeRedSettings(settings: RuntimeSettings, userDir: string, flowFile: string, credentialSecret: string) {
  const title = `LiFePO4 EMS ${settings.role}`;
  return {
    uiHost: listenPort(settings).host,
    uiPort: listenPort(settings).port,
    httpAdminRoot: EDITOR_ROOT,
    httpNodeRoot: HTTP_NODE_ROOT,
    userDir,
    flowFile,
    flowFilePretty: true,
    credentialSecret,
    // Our own nodes: the package root's package.json "node-red" section lists them.
    nodesDir: [packageRoot],
    nodesExcludes: settings.role === 'cloud' && !settings.codeNodes ? [...EXCLUDED_NODE_MODULES, ...CLOUD_CODE_NODE_FILES] : EXCLUDED_NODE_MODULES,
    functionExternalModules: false,
    // Memory by default; 'persistent' (files under userDir/context, flushed every second) for flows
    // that keep state across restarts. safety-limits keeps its e-stop latch in a file of its own and
    // only carries over a latch that earlier versions left in this store.
    contextStorage: {
      default: { module: 'memory' },
      persistent: { module: 'localfilesystem', config: { flushInterval: 1 } },
    },
    logging: { console: { level: settings.logLevel, metrics: false, audit: false } },
    // No update checks or telemetry consent prompt: the runtime must not call home.
    telemetry: { enabled: false, updateNotification: false },
    diagnostics: { enabled: true, ui: false },
    runtimeState: { enabled: false, ui: false },
    // This package's nodes first, the role's own category on top (nodes/*/*.html: 'energy edge', 'energy cloud').
    paletteCategories: ['subflows', ...(settings.role === 'cloud' ? ['energy cloud', 'energy edge'] : ['energy edge', 'energy cloud']),
      'common', 'function', 'network', 'sequence', 'parser', 'storage'],
    editorTheme: {
      page: { title },
      header: { title },
      tours: false,
      // No palette catalogue: the editor would fetch catalogue.nodered.org, and nothing is
      // installed from a registry onto a controller: updates come as signed bundles.
      palette: { catalogues: [] },
      // Projects stay off. Present but without `enabled`, so Node-RED does not warn about it on
      // every start (storage/localfilesystem/projects/index.js warns on enabled === false).
      projects: {},
    },
  };
}

function listen(server: Server, { host, hostFlag, port, flag }: ReturnType<typeof listenPort>): Promise<number> {
  return new Promise((resolveListen, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') reject(new SettingsError(flag, `port ${port} on ${host} is already in use`));
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') {
        reject(new SettingsError(hostFlag, `cannot listen on ${host} (${err.code})`));
      } else reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolveListen((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolveTimeout) => {
    timer = setTimeout(() => resolveTimeout(undefined), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const DASHBOARD_DIST = join(packageRoot, 'dashboard', 'dist');

/**
 * The operator dashboard (dashboard/, built by `npm run build`) at '/': hashed assets cached for a
 * year, index.html and the service worker never cached, and index.html for every other GET that is
 * not the API, the editor, the flows' HTTP endpoints or the metrics, so the app's own routes work on
 * reload. Without a build, '/' says how to make one. Its files go out compressed (brotli or gzip, as
 * the browser accepts): the chart bundle is about a third of its size on the wire. Only these
 * routes: the API and the realtime channel are left as they are.
 */
function serveDashboard(app: express.Express): void {
  const index = join(DASHBOARD_DIST, 'index.html');
  if (!existsSync(index)) {
    app.get('/', (_req, res) => res.status(503).type('text/plain').send('The dashboard is not built: run `npm run build`.\n'));
    return;
  }
  const noCache = (res: express.Response) => res.setHeader('cache-control', 'no-cache');
  const squeeze = compression();
  const reserved = new RegExp(`^(${[API_ROOT, EDITOR_ROOT, HTTP_NODE_ROOT, '/metrics'].map((p) => p.replace(/\//g, '\\/')).join('|')})(\\/|$)`);
  app.use('/assets', squeeze, express.static(join(DASHBOARD_DIST, 'assets'), { immutable: true, maxAge: '365d', fallthrough: false }));
  app.use((req, res, next) => (reserved.test(req.path) ? next() : squeeze(req, res, next)));
  app.use(express.static(DASHBOARD_DIST, { index: false, setHeaders: (res, path) => { if (/(index\.html|sw\.js|\.webmanifest)$/.test(path)) noCache(res); } }));
  app.get('*', (req, res, next) => {
    if (reserved.test(req.path)) return next();
    noCache(res);
    res.sendFile(index);
  });
}

/** How long a start waits for the flows before it reports ready anyway. */
const FLOWS_START_TIMEOUT_MS = 30_000;

/**
 * Settles when Node-RED's first flow start is over: null once the flows run, else why they do not
 * (missing node types or modules, stopped, safe mode: Node-RED reports each as a runtime-state
 * event; or no word within the timeout). RED.start() itself resolves before the flows start.
 */
function flowsRunning(): { settled: Promise<string | null>; cancel(): void } {
  let finish: (why: string | null) => void = () => undefined;
  const settled = new Promise<string | null>((resolveSettled) => {
    const onStarted = () => finish(null);
    const onRuntimeEvent = (e: { id?: string; payload?: { state?: string; error?: string } }) => {
      if (e.id === 'runtime-state' && (e.payload?.state === 'stop' || e.payload?.state === 'safe')) finish(e.payload.error ?? e.payload.state);
    };
    const timer = setTimeout(() => finish(`no flow start within ${FLOWS_START_TIMEOUT_MS / 1000} s`), FLOWS_START_TIMEOUT_MS);
    finish = (why) => {
      clearTimeout(timer);
      RED.events.off('flows:started', onStarted);
      RED.events.off('runtime-event', onRuntimeEvent);
      resolveSettled(why);
    };
    RED.events.on('flows:started', onStarted);
    RED.events.on('runtime-event', onRuntimeEvent);
  });
  return { settled, cancel: () => finish('start failed') };
}

/** Starts the role's Node-RED runtime and HTTP server; resolves once the flows run (or cannot). */
export async function startRuntime(settings: RuntimeSettings): Promise<RunningRuntime> {
  const startedAt = Date.now();
  // Before anything starts: a bad certificate or key is a settings error (the cloud only; README, "TLS").
  const tls = settings.role === 'cloud' ? loadTls(settings) : undefined;
  const secrets = loadOrCreateSecrets(settings.dataDir);
  const userDir = join(settings.dataDir, settings.role);
  mkdirSync(userDir, { recursive: true, mode: 0o700 });
  const flowFile = prepareFlowFile(settings, userDir);
  // Before RED.init: the flows read the broker and their secrets from these variables.
  const mqtt = settings.role === 'cloud' ? await cloudMqtt(settings, tls) : edgeMqtt(settings);
  Object.assign(process.env, mqtt.env);
  // The edge flow's ONNX models and the past-load source of its forecast (runtime/app/edge-models.ts).
  if (settings.role === 'edge') Object.assign(process.env, edgeModelEnv(settings.dataDir), edgeModbusEnv(settings));

  const bind = listenPort(settings);
  const app = express();
  app.disable('x-powered-by');
  app.use(securityHeaders({ tls: tls !== undefined, editorRoot: EDITOR_ROOT }));
  // First of all: a request for another host name (DNS rebinding) reaches nothing (host-check.ts).
  app.use(hostCheck({ bound: bind.host, allowedHosts: settings.allowedHosts }));
  // Behind a reverse proxy the client's address comes from X-Forwarded-For (rate limits, audit).
  if (settings.role === 'cloud' && settings.trustProxy !== undefined) app.set('trust proxy', settings.trustProxy);
  // Until Node-RED has started and its flows run, every request is answered 503 with Retry-After:
  // the health endpoint, the editor and the flows' HTTP endpoints answer only once they can serve.
  let ready = false;
  app.use((_req, res, next) => {
    if (ready) return next();
    res.setHeader('retry-after', '1');
    res.status(503).json({ error: 'starting', message: `the ${settings.role} runtime is starting` });
  });
  const server = createWebServer(app, tls);
  guardUpgrades(server, { bound: bind.host, allowedHosts: settings.allowedHosts });
  // Tracked so stop() can end keep-alive and WebSocket (editor comms) connections at once;
  // server.close() alone waits for them.
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  const broker = mqtt.broker;
  const health: HealthInfo = {
    role: settings.role, version: packageVersion, nodeRed: nodeRedVersion(), startedAt,
    ...(broker ? { failing: brokerFailing(broker) } : {}),
  };
  // The cloud's API (users, sites, commands, alarms) also guards the cloud's editor; the edge's
  // own accounts guard its editor, its auth API and the flows' endpoints under /nodes (README,
  // "Securing the edge"), unless a lab bench turned them off (loopback only, settings.ts).
  let cloud: CloudHost | undefined;
  if (settings.role === 'cloud') cloud = await startCloudHost(settings, { userDir, secrets, mqttUrl: mqtt.mqttUrl, health });
  const api = cloud?.api;
  const edgeAccounts = settings.role === 'edge' && settings.edgeAuth === 'on' ? await openEdgeAccounts({ dataDir: settings.dataDir, secrets }) : undefined;
  if (settings.role === 'edge' && !edgeAccounts) console.warn(`edge: ${FIELDS.edgeAuth.flag} off: the editor and /nodes answer anyone who reaches ${bind.host}`);
  const adminAuth = cloud?.api.editorAdminAuth ?? edgeAccounts?.editorAdminAuth;
  // The edge's nodes and Modbus connections report into its Prometheus metrics (README, "Edge metrics").
  const edgeMetrics = settings.role === 'edge' ? new EdgePromMetrics() : undefined;
  const redSettings = {
    ...nodeRedSettings(settings, userDir, flowFile, secrets.credentialSecret),
    ...(adminAuth ? { adminAuth } : {}),
    ...(cloud ? { [HOST_SETTING]: cloud.resources } : {}),
    ...(edgeMetrics ? { [HOST_SETTING]: { metrics: edgeMetrics } } : {}),
  };
  RED.init(server, redSettings as unknown as Parameters<typeof RED.init>[1]);
  if (api) {
    app.use(API_ROOT, api.router);
    app.get('/metrics', api.metricsHandler);
    if (settings.role === 'cloud' && settings.brokerAuth) {
      // The deny list is in the API's own database (SQLite or the shared PostgreSQL).
      const cloudDb = api.db;
      const isRevoked = revocationCheck(() => cloudDb);
      app.use(BROKER_AUTH_ROOT, brokerAuthRouter({ credentials: brokerCredentials(settings.dataDir), isRevoked: (siteId) => isRevoked({ username: siteId, certificateSerial: undefined }) }));
    }
    api.attachRealtime(server);
  } else {
    if (edgeAccounts) app.use(API_ROOT, edgeAccounts.router);
    if (edgeMetrics) app.get('/metrics', edgeMetricsHandler({ metrics: edgeMetrics, scrapeToken: secrets.edgeMetricsToken, ...(edgeAccounts ? { tokens: edgeAccounts.tokens } : {}) }));
    app.use(API_ROOT, apiRouter({ ...health, extra: settings.role === 'edge' ? { siteId: settings.siteId } : {} }));
  }
  // The editors' sign-in and sign-out are the API's (limits per address and per account), not Node-RED's.
  const editorSignIn = api?.editorSignIn ?? edgeAccounts?.editorSignIn;
  if (editorSignIn) app.use(`${EDITOR_ROOT}/auth`, editorSignIn);
  app.use(EDITOR_ROOT, RED.httpAdmin);
  if (edgeAccounts) app.use(HTTP_NODE_ROOT, edgeAccounts.nodeGuard);
  app.use(HTTP_NODE_ROOT, RED.httpNode);
  if (api) serveDashboard(app);
  // The edge has no dashboard: '/' leads to its editor.
  else app.get('/', (_req, res) => res.redirect(`${EDITOR_ROOT}/`));
  // Our own 404: Express's default one replaces the CSP with its own, which lacks frame-ancestors.
  app.use((req, res) => res.status(404).type('text/plain').send(`Cannot ${req.method} ${req.path}\n`));

  const boundPort = await listen(server, bind);
  if (api) api.ota.publicUrl = `${webScheme(tls)}://${hostPort(bind.host, boundPort)}${API_ROOT}`;
  // Under the OTA agent (it spawns the edge with an IPC channel and LIFO4_RELEASE) the edge reports
  // its health, on which the agent commits or rolls back a new release. The supervisor of
  // `lifo4 start` also has an IPC channel, but sets no release.
  const underAgent = settings.role === 'edge' && Boolean(process.env.LIFO4_RELEASE);
  const stopHealth = underAgent ? startAgentHealthReports(edgeHealthFacts()) : () => undefined;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      // RED.stop() closes every node (Modbus sockets, timers); bounded so a hung node cannot
      // keep the process past the supervisor's 5 s budget.
      await withTimeout(RED.stop().catch((err: unknown) => console.error(`Node-RED stop failed: ${String(err)}`)), 3000);
      stopHealth();
      if (cloud) await withTimeout(cloud.close(), 1500);
      await edgeAccounts?.close();
      const closed = new Promise<void>((resolveClose) => server.close(() => resolveClose()));
      for (const socket of sockets) socket.destroy();
      await withTimeout(closed, 1000);
      if (mqtt.broker) await withTimeout(mqtt.broker.close(), 1000);
    })();
    return stopping;
  };
  const flows = flowsRunning();
  try {
    await RED.start();
  } catch (err) {
    flows.cancel();
    await stop();
    throw err;
  }
  const notRunning = await flows.settled;
  if (notRunning) console.warn(`${settings.role}: the flows are not running (${notRunning}); open the editor to see why`);
  ready = true;
  return {
    role: settings.role,
    port: boundPort,
    ...(mqtt.broker ? { mqttPort: mqtt.broker.port } : {}),
    ...(mqtt.broker?.mqttsPort !== undefined ? { mqttsPort: mqtt.broker.mqttsPort } : {}),
    url: `${webScheme(tls)}://${hostPort(bind.host, boundPort)}`,
    stop,
  };
}
