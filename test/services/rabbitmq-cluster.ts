// A real three-node RabbitMQ 3.10 cluster (Debian's rabbitmq-server with its MQTT plugin) on one
// machine for tests: each node has its own name, AMQP, MQTT and distribution ports, data and log
// dirs in one temp dir, all share one Erlang cookie (in the temp dir's HOME), and they form the
// cluster by classic-config peer discovery from deploy/cluster/rabbitmq.conf, the file a real
// deployment uses. Node 1 starts first and the others join it (three nodes booting at once could
// each form a cluster of their own). `kill(i)` is a `kill -9` of one node, `start(i)` brings it
// back with its data. The nodes run as root directly: the Debian wrapper would switch to the
// rabbitmq user, which cannot read the temp dir.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync, chmodSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../../io/package-root';
import { LOCALHOST, freePort, isExecutable, makeTempDir, sleep, waitUntil } from './service';

const run = promisify(execFile);
export const RABBITMQ_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
export const RABBITMQCTL = '/usr/lib/rabbitmq/bin/rabbitmqctl';

export function rabbitmqAvailable(): boolean {
  return isExecutable(RABBITMQ_SERVER) && isExecutable(RABBITMQCTL);
}

export interface RabbitNode {
  /** Erlang node name, e.g. lifo4-1-ab12cd@localhost. */
  name: string;
  amqpPort: number;
  mqttPort: number;
  distPort: number;
  /** amqp://admin:password@127.0.0.1:port (the administrator). */
  amqpUrl: string;
  /** mqtt://127.0.0.1:port (credentials go in the client options). */
  mqttUrl: string;
  dir: string;
}

export interface RabbitClusterOptions {
  /** Per node; default 256 MB. */
  memoryMb?: number;
  /** Plugins besides rabbitmq_mqtt (e.g. rabbitmq_auth_backend_http). */
  plugins?: string[];
  /**
   * Where the nodes ask about site accounts (a cloud's /broker-auth, `--broker-auth on`); default
   * a closed port, so only the accounts added with addUser get in.
   */
  brokerAuthUrl?: string;
  /** More rabbitmq.conf lines, added to every node's file. */
  extraConf?: string[];
}

export interface RunningRabbitCluster {
  nodes: RabbitNode[];
  admin: { username: string; password: string };
  /** Whether node i runs (its pid is alive). */
  running(i: number): boolean;
  /** `kill -9` of node i: a crash, nothing flushed. */
  kill(i: number): Promise<void>;
  /** Starts node i again with its data; resolves when it is back in the cluster. */
  start(i: number): Promise<void>;
  /** rabbitmqctl against node i (default the first running node). */
  ctl(args: string[], i?: number): Promise<string>;
  /** Adds an account with full rights on vhost /, e.g. the cloud's or a site's for a test. */
  addUser(username: string, password: string): Promise<void>;
  /** The node's log, for assertion messages. */
  log(i: number): string;
  /** Stops every node and removes the temp dir. */
  stop(): Promise<void>;
}

const NODES = 3;
const START_TIMEOUT_MS = 90_000;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The shipped template with a node's values filled in. */
export function renderRabbitConf(template: string, values: Record<string, string>): string {
  return template.replace(/\$\{([A-Z0-9_]+)\}/g, (_m, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`deploy/cluster/rabbitmq.conf: no value for \${${key}}`);
    return v;
  });
}

export async function startRabbitCluster(options: RabbitClusterOptions = {}): Promise<RunningRabbitCluster> {
  const tmp = makeTempDir('rabbitmq');
  const home = tmp.dir;
  const tag = randomBytes(3).toString('hex');
  const admin = { username: 'admin', password: randomBytes(12).toString('hex') };
  // One cookie for the nodes and rabbitmqctl: Erlang reads it from $HOME and wants it private.
  const cookie = join(home, '.erlang.cookie');
  writeFileSync(cookie, randomBytes(20).toString('hex').toUpperCase());
  chmodSync(cookie, 0o400);
  const template = readFileSync(join(packageRoot, 'deploy', 'cluster', 'rabbitmq.conf'), 'utf8');
  const shippedPlugins = readFileSync(join(packageRoot, 'deploy', 'cluster', 'enabled_plugins'), 'utf8');
  const plugins = (/\[([^\]]*)\]/.exec(shippedPlugins)?.[1] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  for (const p of options.plugins ?? []) if (!plugins.includes(p)) plugins.push(p);

  const nodes: RabbitNode[] = [];
  for (let i = 0; i < NODES; i++) {
    const dir = join(home, `node${i + 1}`);
    mkdirSync(join(dir, 'log'), { recursive: true });
    const amqpPort = await freePort();
    const mqttPort = await freePort();
    const distPort = await freePort();
    nodes.push({
      name: `lifo4-${i + 1}-${tag}@localhost`, amqpPort, mqttPort, distPort, dir,
      amqpUrl: `amqp://${admin.username}:${admin.password}@${LOCALHOST}:${amqpPort}`,
      mqttUrl: `mqtt://${LOCALHOST}:${mqttPort}`,
    });
  }
  for (const n of nodes) {
    const conf = renderRabbitConf(template, {
      AMQP_LISTENER: `${LOCALHOST}:${n.amqpPort}`,
      MQTT_LISTENER: `${LOCALHOST}:${n.mqttPort}`,
      NODE_1: nodes[0]!.name, NODE_2: nodes[1]!.name, NODE_3: nodes[2]!.name,
      MEMORY_LIMIT: `${options.memoryMb ?? 256}MB`,
      ADMIN_USER: admin.username, ADMIN_PASS: admin.password,
      BROKER_AUTH_URL: options.brokerAuthUrl ?? `http://${LOCALHOST}:9/broker-auth`,
    });
    writeFileSync(join(n.dir, 'rabbitmq.conf'), `${conf}\n${(options.extraConf ?? []).join('\n')}\n`);
    writeFileSync(join(n.dir, 'enabled_plugins'), `[${plugins.join(',')}].\n`);
  }

  const envOf = (n: RabbitNode): NodeJS.ProcessEnv => ({
    PATH: process.env['PATH'],
    HOME: home,
    LANG: 'C.UTF-8',
    RABBITMQ_NODENAME: n.name,
    RABBITMQ_NODE_IP_ADDRESS: LOCALHOST,
    RABBITMQ_NODE_PORT: String(n.amqpPort),
    RABBITMQ_DIST_PORT: String(n.distPort),
    RABBITMQ_CONFIG_FILE: join(n.dir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(n.dir, 'enabled_plugins'),
    RABBITMQ_MNESIA_BASE: join(n.dir, 'data'),
    RABBITMQ_LOG_BASE: join(n.dir, 'log'),
    RABBITMQ_PID_FILE: join(n.dir, 'rabbitmq.pid'),
    // Not /etc/rabbitmq's files: this node is configured by the variables above only.
    RABBITMQ_CONF_ENV_FILE: join(n.dir, 'rabbitmq-env.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(n.dir, 'advanced.config'),
  });
  const pidOf = (i: number): number | null => {
    const f = join(nodes[i]!.dir, 'rabbitmq.pid');
    if (!existsSync(f)) return null;
    const pid = Number(readFileSync(f, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  };
  const running = (i: number): boolean => {
    const pid = pidOf(i);
    return pid !== null && isAlive(pid);
  };
  const log = (i: number): string => {
    const f = join(nodes[i]!.dir, 'log', `${nodes[i]!.name}.log`);
    return existsSync(f) ? readFileSync(f, 'utf8').slice(-8000) : '(no log)';
  };
  const ctlOn = async (i: number, args: string[], timeoutMs = 30_000): Promise<string> => {
    const { stdout } = await run(RABBITMQCTL, ['-n', nodes[i]!.name, '-q', ...args], { env: envOf(nodes[i]!), timeout: timeoutMs });
    return stdout;
  };
  /** The running members node i sees, from `cluster_status`. */
  const runningMembers = async (i: number): Promise<string[]> => {
    const out = await ctlOn(i, ['cluster_status', '--formatter', 'json'], 10_000);
    const status = JSON.parse(out) as { running_nodes?: string[] };
    return status.running_nodes ?? [];
  };
  const launch = async (i: number): Promise<void> => {
    const n = nodes[i]!;
    await run(RABBITMQ_SERVER, ['-detached'], { env: envOf(n), timeout: 30_000 });
  };
  const awaitUp = async (i: number, members: number): Promise<void> => {
    await waitUntil(`rabbitmq node ${nodes[i]!.name}`, async () => {
      try {
        return (await runningMembers(i)).length >= members;
      } catch {
        return false;
      }
    }, { timeoutMs: START_TIMEOUT_MS, describe: () => log(i) });
    // cluster_status answers before the listeners of a booting node are bound.
    await ctlOn(i, ['await_startup'], START_TIMEOUT_MS);
  };

  const killNode = async (i: number): Promise<void> => {
    const pid = pidOf(i);
    if (pid === null || !isAlive(pid)) return;
    process.kill(pid, 'SIGKILL');
    for (let t = 0; t < 100 && isAlive(pid); t++) await sleep(50);
  };

  const stop = async (): Promise<void> => {
    // A clean stop of all three takes long and proves nothing here: SIGTERM, then SIGKILL.
    const pids = nodes.map((_n, i) => pidOf(i)).filter((p): p is number => p !== null && isAlive(p));
    for (const pid of pids) process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 5000;
    while (pids.some(isAlive) && Date.now() < deadline) await sleep(100);
    for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    while (pids.some(isAlive)) await sleep(50);
    tmp.remove();
  };

  try {
    await launch(0);
    await awaitUp(0, 1);
    await Promise.all([launch(1), launch(2)]);
    await Promise.all([awaitUp(1, NODES), awaitUp(2, NODES)]);
    await waitUntil('rabbitmq cluster of 3', async () => (await runningMembers(0)).length === NODES, { timeoutMs: START_TIMEOUT_MS, describe: () => log(0) });
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    nodes,
    admin,
    running,
    kill: killNode,
    async start(i) {
      if (running(i)) throw new Error(`${nodes[i]!.name} is already running`);
      await launch(i);
      await awaitUp(i, NODES);
    },
    ctl(args, i) {
      const at = i ?? nodes.findIndex((_n, k) => running(k));
      if (at < 0) throw new Error('no rabbitmq node is running');
      return ctlOn(at, args);
    },
    async addUser(username, password) {
      const at = nodes.findIndex((_n, k) => running(k));
      await ctlOn(at, ['add_user', username, password]);
      await ctlOn(at, ['set_permissions', '-p', '/', username, '.*', '.*', '.*']);
    },
    log,
    stop,
  };
}
