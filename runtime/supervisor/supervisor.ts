// `lifo4 start`: the all-in-one for a newcomer. Runs the simulator, the edge runtime and the cloud
// runtime as child processes (Node-RED is one runtime per process), prefixes their log lines,
// restarts a child that dies, and stops them all on Ctrl-C / SIGTERM within 5 s.
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { AllSettings } from '../../settings';
import { CONFIG_ERROR_EXIT, FIELDS, hostPort, reachableHost } from '../../settings';
import { defaultFlowPath, FLOW_ENV, readFlow } from '../app/flow-files';
import { packageRoot } from '../../io/package-root';
import { buildFactoryBundle } from '../ota/bundle-store';
import { ReleaseSlots } from '../ota/release-slots';
import { loadOrCreateSigningKey, otaDir, SIGNING_PUB_FILE } from '../ota/signing-key';
import { describeExit, NodeChild, type ChildExit } from '../process/child';
import { loadOrCreateSecrets, siteSecrets } from '../secrets';
import { ReadyMessageSchema } from './ready-message';
import type { ReadyMessage } from './ready-message';

export type ChildRole = 'sim' | 'edge' | 'cloud';

export const SUPERVISOR_TIMING = {
  /** First restart delay; doubles per quick crash. */
  restartDelayMs: 500,
  maxRestartDelayMs: 8000,
  /** A child that dies sooner than this after its start counts as a quick crash. */
  quickCrashMs: 15000,
  /** This many quick crashes in a row and the supervisor gives up. */
  maxQuickCrashes: 5,
  readyTimeoutMs: 90000,
  /** SIGTERM first, SIGKILL whatever still lives after this. */
  killAfterMs: 4000,
};

const CLI = join(__dirname, '..', 'cli', 'main.js');

function log(line: string): void {
  console.log(`[start] ${line}`);
}

class SupervisedChild {
  proc: NodeChild | undefined;
  ready: ReadyMessage | undefined;
  startedAt = 0;
  quickCrashes = 0;
  everReady = false;
  private readyWaiters: ((m: ReadyMessage) => void)[] = [];

  constructor(
    readonly role: ChildRole,
    public args: () => string[],
    public env: () => NodeJS.ProcessEnv = () => process.env,
  ) {}

  waitReady(): Promise<ReadyMessage> {
    if (this.ready) return Promise.resolve(this.ready);
    return new Promise((resolveReady) => this.readyWaiters.push(resolveReady));
  }

  markReady(message: ReadyMessage): void {
    this.ready = message;
    for (const waiter of this.readyWaiters.splice(0)) waiter(message);
  }

  get alive(): boolean {
    return this.proc?.running ?? false;
  }
}

interface Ports {
  port: number;
  edgePort: number;
  modbusPort: number;
  controlPort: number;
  mqttPort: number;
}

export function banner(settings: AllSettings, ports: Ports): string {
  // Only the cloud serves TLS (--tls-cert): the edge and the simulator stay plain HTTP on their host.
  const cloud = (port: number) => `${settings.tlsCert !== undefined ? 'https' : 'http'}://${hostPort(settings.cloudHost, port)}`;
  const edge = (port: number) => `http://${hostPort(settings.edgeHost, port)}`;
  const edgeSignIn = settings.edgeAuth === 'on'
    ? [
        '  edge sign-in     edge accounts (<data-dir>/edge/accounts.db): the first start printed the edge\'s admin@localhost',
        `                   password above ([edge]); add more with lifo4 user add --edge. /nodes wants a bearer token:`,
        `                   POST ${edge(ports.edgePort)}/api/v1/auth/login`,
      ]
    : ['  edge sign-in     none: --edge-auth off (a lab bench on loopback)'];
  return [
    '',
    'LiFePO4 EMS is running:',
    `  dashboard        ${cloud(ports.port)}/`,
    `  cloud editor     ${cloud(ports.port)}/editor/`,
    `  cloud API        ${cloud(ports.port)}/api/v1/health`,
    '  cloud sign-in    cloud accounts (<data-dir>/cloud.db): the first start printed admin@localhost\'s password above',
    '                   ([cloud]); enrol 2FA at the first login, then type the password followed by the code in the editor',
    `  edge editor      ${edge(ports.edgePort)}/editor/`,
    `  edge API         ${edge(ports.edgePort)}/api/v1/health`,
    `  edge telemetry   ${edge(ports.edgePort)}/nodes/telemetry/latest`,
    `  edge control     ${edge(ports.edgePort)}/nodes/control/latest`,
    `  arbitrage plan   ${edge(ports.edgePort)}/nodes/plan/latest`,
    `  edge metrics     ${edge(ports.edgePort)}/metrics (Prometheus; Authorization: Bearer <edgeMetricsToken of secrets.json>)`,
    ...edgeSignIn,
    `  MQTT broker      ${settings.mqttUrl ?? `mqtt://${hostPort(settings.mqttHost, ports.mqttPort)}`} (site ${settings.siteId} -> cloud)`,
    `  simulator        Modbus TCP ${hostPort(settings.simHost, ports.modbusPort)} (unit 1 battery, 2 PCS, 3 meter)`,
    `  sim control API  http://${hostPort(settings.controlHost, ports.controlPort)}/state`,
    `  edge OTA agent   ${join(settings.dataDir, 'edge-agent')} (releases, state.json; health window ${settings.otaHealthS} s)`,
    `Data and secrets: ${settings.dataDir}`,
    'Ctrl-C stops everything.',
    '',
  ].join('\n');
}

export class Supervisor {
  private readonly children: Record<ChildRole, SupervisedChild>;
  private stopping = false;
  private exitCode = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Ports actually bound; a restarted child gets the same ones (they may have been 0 = any). */
  private readonly ports: Ports;
  private exitResolve: ((code: number) => void) | undefined;
  /** The factory bundle the agent installs on its first start, if one was built. */
  private factoryBundle: string | undefined;
  readonly exited: Promise<number>;

  constructor(private readonly settings: AllSettings) {
    this.ports = { port: settings.port, edgePort: settings.edgePort, modbusPort: settings.modbusPort, controlPort: settings.controlPort, mqttPort: settings.mqttPort };
    this.exited = new Promise((resolveExit) => (this.exitResolve = resolveExit));
    const common = ['--host', settings.host, '--data-dir', settings.dataDir, '--log-level', settings.logLevel];
    const mqttTls = [
      ...(settings.mqttCa !== undefined ? ['--mqtt-ca', settings.mqttCa] : []),
      ...(settings.mqttCert !== undefined ? ['--mqtt-cert', settings.mqttCert] : []),
      ...(settings.mqttKey !== undefined ? ['--mqtt-key', settings.mqttKey] : []),
    ];
    this.children = {
      sim: new SupervisedChild('sim', () => [
        'sim', ...common,
        '--sim-host', settings.simHost,
        '--control-host', settings.controlHost,
        '--modbus-port', String(this.ports.modbusPort),
        '--control-port', String(this.ports.controlPort),
        '--speed', String(settings.speed),
        '--site', settings.site,
        ...(settings.seed !== undefined ? ['--seed', String(settings.seed)] : []),
      ]),
      // The edge runs as a real device does: under the OTA agent, which starts the runtime of the
      // current release and takes updates from the cloud (README, "Updates over the air"). The
      // runtime's settings reach it through the environment, since a release's entry names only
      // its flows and data.
      edge: new SupervisedChild(
        'edge',
        () => [
          'agent',
          '--dir', this.agentDir,
          '--data', settings.dataDir,
          '--site-id', settings.siteId,
          '--fleet-key', join(otaDir(settings.dataDir), SIGNING_PUB_FILE),
          '--mqtt-url', this.edgeMqttUrl(),
          ...mqttTls,
          '--health-window-s', String(settings.otaHealthS),
          ...(this.factoryBundle !== undefined ? ['--install', this.factoryBundle] : []),
        ],
        () => ({
          ...process.env,
          [FIELDS.host.env]: settings.host,
          [FIELDS.edgeHost.env]: settings.edgeHost,
          [FIELDS.edgeAuth.env]: settings.edgeAuth,
          [FIELDS.allowedHosts.env]: settings.allowedHosts.join(','),
          [FIELDS.logLevel.env]: settings.logLevel,
          [FIELDS.edgePort.env]: String(this.ports.edgePort),
          [FIELDS.cycleMs.env]: String(settings.cycleMs),
          [FIELDS.modbusHost.env]: reachableHost(settings.simHost),
          [FIELDS.modbusPort.env]: String(this.ports.modbusPort),
          [FIELDS.mqttUrl.env]: this.edgeMqttUrl(),
          ...(settings.mqttCa !== undefined ? { [FIELDS.mqttCa.env]: settings.mqttCa } : {}),
          ...(settings.mqttCert !== undefined ? { [FIELDS.mqttCert.env]: settings.mqttCert } : {}),
          ...(settings.mqttKey !== undefined ? { [FIELDS.mqttKey.env]: settings.mqttKey } : {}),
          LIFO4_AGENT_MQTT_PASSWORD: siteSecrets(settings.dataDir, settings.siteId).mqttPassword,
          // The simulated site's past load, so the edge can forecast from its first day (load-forecast).
          [FLOW_ENV.loadHistoryUrl]: `http://${hostPort(reachableHost(settings.controlHost), this.ports.controlPort)}/history/load`,
          // A release built from this checkout carries no node_modules: it resolves them here.
          NODE_PATH: [join(packageRoot, 'node_modules'), process.env.NODE_PATH].filter(Boolean).join(delimiter),
        }),
      ),
      cloud: new SupervisedChild('cloud', () => [
        'cloud', ...common,
        '--cloud-host', settings.cloudHost,
        '--mqtt-host', settings.mqttHost,
        ...(settings.allowedHosts.length > 0 ? ['--allowed-hosts', settings.allowedHosts.join(',')] : []),
        '--port', String(this.ports.port),
        '--mqtt-port', String(this.ports.mqttPort),
        ...(settings.mqttUrl !== undefined ? ['--mqtt-url', settings.mqttUrl] : []),
        ...mqttTls,
        ...(settings.shareGroup !== undefined ? ['--share-group', settings.shareGroup] : []),
        '--timeseries', settings.timeseries,
        '--influx-url', settings.influxUrl,
        ...(settings.tlsCert !== undefined ? ['--tls-cert', settings.tlsCert] : []),
        ...(settings.tlsKey !== undefined ? ['--tls-key', settings.tlsKey] : []),
        '--mqtts-port', String(settings.mqttsPort),
      ]),
    };
  }

  private get agentDir(): string {
    return join(this.settings.dataDir, 'edge-agent');
  }

  private edgeMqttUrl(): string {
    return this.settings.mqttUrl ?? `mqtt://${hostPort(this.settings.mqttHost, this.ports.mqttPort)}`;
  }

  /**
   * A device comes from the factory with a release installed: on the first start (no release in
   * the agent's folder yet) the default edge flow, or --flows, becomes a bundle signed with the
   * cloud's fleet key, which the agent checks and installs like any other.
   */
  private async prepareFactoryRelease(): Promise<void> {
    const state = new ReleaseSlots(this.agentDir, this.settings.dataDir).readState();
    if (state.committed || state.trial) return;
    const out = join(this.agentDir, 'factory-bundle');
    // A data directory from before the agent keeps the edge flow deployed into it.
    const earlier = join(this.settings.dataDir, 'edge', 'flows.json');
    const flows = this.settings.flowsFile ?? (existsSync(earlier) ? earlier : defaultFlowPath('edge'));
    // An unreadable --flows is a configuration error, named as such (exit 2), not a crash.
    readFlow(flows, this.settings.flowsFile !== undefined ? FIELDS.flowsFile.flag : 'default edge flow');
    const built = await buildFactoryBundle(this.settings.dataDir, flows, out);
    this.factoryBundle = out;
    log(`factory release ${built.manifest.version} built for the edge agent`);
  }

  /** Starts the simulator, then the edge (it polls the simulator) and the cloud; prints the URLs. */
  async start(): Promise<void> {
    // Created here once, before the children race to create them.
    loadOrCreateSecrets(this.settings.dataDir);
    siteSecrets(this.settings.dataDir, this.settings.siteId);
    loadOrCreateSigningKey(this.settings.dataDir);
    await this.prepareFactoryRelease();
    process.on('SIGINT', () => this.stop('SIGINT'));
    process.on('SIGTERM', () => this.stop('SIGTERM'));

    const readyTimer = setTimeout(() => {
      const late = Object.values(this.children).filter((c) => !c.everReady).map((c) => c.role);
      log(`${late.join(', ')} did not become ready within ${SUPERVISOR_TIMING.readyTimeoutMs / 1000} s; stopping`);
      this.stop('start-up timeout', 1);
    }, SUPERVISOR_TIMING.readyTimeoutMs);
    this.timers.add(readyTimer);

    this.spawn(this.children.sim);
    const sim = await this.children.sim.waitReady();
    this.ports.modbusPort = sim.ports.modbusPort ?? this.ports.modbusPort;
    this.ports.controlPort = sim.ports.controlPort ?? this.ports.controlPort;
    if (this.stopping) return;
    // The edge connects to the cloud's broker: with an ephemeral broker port (0) it has to wait for
    // the port the cloud got; otherwise both start at once and the edge retries until it is up.
    this.spawn(this.children.cloud);
    if (this.ports.mqttPort === 0 && this.settings.mqttUrl === undefined) this.learnCloudPorts(await this.children.cloud.waitReady());
    this.spawn(this.children.edge);
    const [edge, cloud] = await Promise.all([this.children.edge.waitReady(), this.children.cloud.waitReady()]);
    this.ports.edgePort = edge.ports.edgePort ?? this.ports.edgePort;
    this.learnCloudPorts(cloud);
    clearTimeout(readyTimer);
    this.timers.delete(readyTimer);
    if (this.stopping) return;
    console.log(banner(this.settings, this.ports));
  }

  private learnCloudPorts(cloud: ReadyMessage): void {
    this.ports.port = cloud.ports.port ?? this.ports.port;
    this.ports.mqttPort = cloud.ports.mqttPort ?? this.ports.mqttPort;
  }

  private spawn(child: SupervisedChild): void {
    if (this.stopping) return;
    const proc: NodeChild = new NodeChild({
      args: [CLI, ...child.args()],
      env: child.env(),
      output: { prefix: `[${child.role}]` },
      onMessage: (raw) => {
        const message = ReadyMessageSchema.safeParse(raw);
        if (!message.success || message.data.role !== child.role) return;
        if (child.everReady) log(`${child.role} is back`);
        child.everReady = true;
        child.markReady(message.data);
      },
      onError: (err) => log(`${child.role} could not be started: ${err.message}`),
      onExit: (exit) => this.onExit(child, proc, exit),
    });
    child.proc = proc;
    child.ready = undefined;
    log(`${child.role} started (pid ${proc.pid})`);
    child.startedAt = Date.now();
  }

  private onExit(child: SupervisedChild, proc: NodeChild, exit: ChildExit): void {
    if (child.proc !== proc) return;
    if (this.stopping) {
      this.finishIfAllExited();
      return;
    }
    const how = describeExit(exit);
    if (exit.code === CONFIG_ERROR_EXIT) {
      log(`${child.role} stopped on a configuration error (see its message above); stopping everything`);
      this.stop(`${child.role} configuration error`, CONFIG_ERROR_EXIT);
      return;
    }
    const quick = Date.now() - child.startedAt < SUPERVISOR_TIMING.quickCrashMs;
    child.quickCrashes = quick ? child.quickCrashes + 1 : 0;
    if (child.quickCrashes >= SUPERVISOR_TIMING.maxQuickCrashes) {
      log(
        `${child.role} crashed ${child.quickCrashes} times in a row, each within ` +
          `${SUPERVISOR_TIMING.quickCrashMs / 1000} s of starting (last: ${how}); giving up. ` +
          `Its log lines above, prefixed [${child.role}], say why.`,
      );
      this.stop(`${child.role} keeps crashing`, 1);
      return;
    }
    const delay = Math.min(SUPERVISOR_TIMING.restartDelayMs * 2 ** Math.max(0, child.quickCrashes - 1), SUPERVISOR_TIMING.maxRestartDelayMs);
    log(`${child.role} exited unexpectedly (${how}); restarting in ${delay} ms`);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.spawn(child);
    }, delay);
    this.timers.add(timer);
  }

  /** SIGTERM to every child, SIGKILL to those alive after 4 s; resolves `exited` when all are gone. */
  stop(why: string, exitCode = 0): void {
    if (this.stopping) {
      if (why === 'SIGINT' || why === 'SIGTERM') {
        // A second Ctrl-C: no more waiting.
        for (const child of Object.values(this.children)) if (child.alive) child.proc?.kill();
      }
      return;
    }
    this.stopping = true;
    this.exitCode = exitCode;
    log(`stopping (${why})`);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const child of Object.values(this.children)) {
      if (child.alive) void child.proc?.stop(SUPERVISOR_TIMING.killAfterMs, () => log(`${child.role} still running after ${SUPERVISOR_TIMING.killAfterMs} ms; killing it`));
    }
    this.finishIfAllExited();
  }

  private finishIfAllExited(): void {
    if (!this.stopping) return;
    if (Object.values(this.children).some((c) => c.alive)) return;
    log('stopped');
    this.exitResolve?.(this.exitCode);
  }
}

/** Runs the all-in-one until it is stopped; resolves with the process exit code. */
export async function runSupervisor(settings: AllSettings): Promise<number> {
  const supervisor = new Supervisor(settings);
  await Promise.race([supervisor.start(), supervisor.exited]);
  return supervisor.exited;
}
