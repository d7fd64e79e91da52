// Typed settings for the processes of lifo4: the all-in-one supervisor (`lifo4 start`, role
// 'all'), the edge runtime, the cloud runtime and the site simulator. Every setting has one row in
// FIELDS: its command-line flag, its LIFO4_* environment variable, its default and its zod schema,
// so the CLI's --help, the environment and the config file cannot drift apart.
//
// Precedence, highest first: command-line flag > environment (LIFO4_*) > config file (--config FILE
// or LIFO4_CONFIG, JSON with the setting names as keys) > default. A bad value throws a
// SettingsError whose message names the setting and where it came from, e.g.
//   --port: expected a port number 0-65535 (0 = any free port), got 'abc'
//
// Ports accept 0, meaning "any free port": the process binds an ephemeral port and reports the
// one it got. That is meant for tests; a person uses fixed ports.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { SiteIdSchema } from './domain/contracts';

export const ROLES = ['all', 'edge', 'cloud', 'sim'] as const;
export type Role = (typeof ROLES)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const SITE_PROFILES = ['household', 'commercial'] as const;
export type SiteProfile = (typeof SITE_PROFILES)[number];
/** What the simulated battery serves (runtime/simulator/images/site-images.ts says what each lacks). */
export const BATTERY_VARIANTS = ['full', 'no-805', '802-only', 'no-soc'] as const;
export type BatteryVariant = (typeof BATTERY_VARIANTS)[number];

/** A setting whose value is missing or invalid; the message names the setting and its source. */
/** Exit code of a process that stopped on a configuration error: restarting it would not help. */
export const CONFIG_ERROR_EXIT = 2;

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
  constructor(
    /** Where the bad value came from: '--port', 'LIFO4_PORT', 'config file x.json: port'. */
    readonly source: string,
    message: string,
  ) {
    super(`${source}: ${message}`);
  }
}

// Flags and environment variables arrive as strings, the config file holds JSON values: each
// schema accepts both and yields the typed value.
const integerText = z.string().trim().regex(/^-?\d+$/).transform(Number);
const numberText = z
  .string()
  .trim()
  .regex(/^-?(\d+\.?\d*|\.\d+)$/)
  .transform(Number);

const port = z.union([z.number(), integerText]).pipe(z.number().int().min(0).max(65535));
const text = z.string().trim().min(1);
const host = text.refine((h) => isIP(h) !== 0 || /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(h));
// A site id becomes an MQTT topic level (lifo4/<siteId>/telemetry), so no '/', '+' or '#', and
// the reserved ids are refused (domain/contracts.ts).
const siteId = SiteIdSchema;
const speed = z.union([z.number(), numberText]).pipe(z.number().positive().max(10000));
const seed = z.union([z.number(), integerText]).pipe(z.number().int().min(0).max(2 ** 31 - 1));
const simProfile = z.string().regex(/^[a-z0-9-]{1,64}$/);
const cycleMs = z.union([z.number(), integerText]).pipe(z.number().int().min(10).max(60_000));
const healthS = z.union([z.number(), integerText]).pipe(z.number().int().min(1).max(86_400));
// One broker, or several of one cluster as a comma list (the link fails over between them).
const mqttUrl = text.refine((u) => u.split(',').every((one) => /^mqtts?:\/\/[^\s/,]+(:\d+)?\/?$/.test(one.trim())));
// The RabbitMQ nodes of the cloud's AMQP ingest: a comma list from a flag (repeatable) or variable,
// or a JSON array from the config file; credentials in the URL or, without them, the cloud's account.
const amqpUrl = /^amqps?:\/\/([^\s/@,]+@)?[^\s/@,]+(:\d+)?(\/[^\s,]*)?$/;
const amqpUrls = z
  .union([z.array(z.string()), z.string().transform((t) => t.split(',').map((u) => u.trim()).filter(Boolean))])
  .pipe(z.array(z.string().regex(amqpUrl)).min(1).max(16));
const httpUrl = text.refine((u) => /^https?:\/\/\S+$/.test(u));
// An MQTT shared-subscription group ($share/<group>/...).
const shareGroup = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

export const TIMESERIES_BACKENDS = ['sqlite', 'influxdb'] as const;
export const EDGE_AUTH_MODES = ['on', 'off'] as const;
// Comma-separated names from a flag or variable, or a JSON array from the config file.
const hostName = z.string().trim().toLowerCase().regex(/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/);
const hostList = z
  .union([z.array(z.string()), z.string().transform((t) => t.split(',').map((h) => h.trim()).filter(Boolean))])
  .pipe(z.array(hostName).max(64));

// Express's `trust proxy`: how many proxies stand in front (a hop count), or which addresses are
// proxies (IPs, CIDR ranges, or Express's names loopback, linklocal, uniquelocal). Never `true`
// (trust whatever X-Forwarded-For says): a client could then pick its own address.
const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];
const proxyAddress = (a: string) => PROXY_NAMES.includes(a) || isIP(a.replace(/\/\d{1,3}$/, '')) !== 0;
const trustProxy = z.union([
  z.number().int().min(1).max(10),
  z.string().trim().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(1).max(10)),
  z.array(z.string()).min(1).refine((l) => l.every(proxyAddress)),
  z.string().transform((t) => t.split(',').map((a) => a.trim())).refine((l) => l.length > 0 && l.every(proxyAddress)),
]);
const sessionHours = z.union([z.number(), numberText]).pipe(z.number().min(0.001).max(168));
const smtpUrl = text.refine((u) => {
  if (!/^smtps?:\/\/\S+$/.test(u)) return false;
  try {
    return new URL(u).hostname !== '';
  } catch {
    return false;
  }
});
const mailFrom = text.pipe(z.string().max(254).regex(/^([^<>\r\n]*<[^\s@<>]+@[^\s@<>]+>|[^\s@<>]+@[^\s@<>]+)$/));
const notifySeconds = z.union([z.number(), integerText]).pipe(z.number().int().min(1).max(86_400));
// The cloud's shared PostgreSQL (runtime/cloud-db): host and database, credentials in the URL.
const databaseUrl = text.refine((u) => {
  if (!/^postgres(ql)?:\/\/\S+$/.test(u)) return false;
  try {
    return new URL(u).hostname !== '';
  } catch {
    return false;
  }
});
const onOff = z.union([z.boolean(), z.enum(['on', 'off', 'true', 'false', '1', '0']).transform((v) => v === 'on' || v === 'true' || v === '1')]);

interface FieldDef<S extends z.ZodType> {
  /** Long flag, e.g. '--port'. */
  flag: string;
  /** Placeholder in --help, e.g. 'PORT'. */
  arg: string;
  env: string;
  schema: S;
  /** Shown in the error message after "expected". */
  expected: string;
  default: z.output<S> | undefined;
  describe: string;
  /** A path: relative values resolve against the working directory (flag, env) or the config file's folder. */
  path?: boolean;
  /** The flag may be given several times; its values join into one comma list. */
  repeatable?: boolean;
  /** The value may hold a password: an error message does not repeat it. */
  secret?: boolean;
}

function field<S extends z.ZodType>(def: FieldDef<S>): FieldDef<S> {
  return def;
}

const PORT_EXPECTED = 'a port number 0-65535 (0 = any free port)';

export const FIELDS = {
  host: field({
    flag: '--host', arg: 'HOST', env: 'LIFO4_HOST', schema: host, default: '127.0.0.1',
    expected: 'an IP address or host name to listen on',
    describe: 'default address of every server below that has no address of its own (--cloud-host, --edge-host, --mqtt-host, --sim-host, --control-host)',
  }),
  // One bind address per listener, so exposing one (the dashboard) exposes no other; each falls
  // back to --host, which keeps configurations from before these settings working.
  cloudHost: field({
    flag: '--cloud-host', arg: 'HOST', env: 'LIFO4_CLOUD_HOST', schema: host, default: undefined,
    expected: 'an IP address or host name to listen on', describe: "address of the cloud's HTTP server (dashboard, editor, API); default --host",
  }),
  edgeHost: field({
    flag: '--edge-host', arg: 'HOST', env: 'LIFO4_EDGE_HOST', schema: host, default: undefined,
    expected: 'an IP address or host name to listen on', describe: "address of the edge's HTTP server (editor, API, /nodes); default --host",
  }),
  mqttHost: field({
    flag: '--mqtt-host', arg: 'HOST', env: 'LIFO4_MQTT_HOST', schema: host, default: undefined,
    expected: 'an IP address or host name to listen on', describe: "address of the cloud's embedded MQTT broker; default --host",
  }),
  simHost: field({
    flag: '--sim-host', arg: 'HOST', env: 'LIFO4_SIM_HOST', schema: host, default: undefined,
    expected: 'an IP address or host name to listen on', describe: "address of the simulator's Modbus TCP server; default --host",
  }),
  controlHost: field({
    flag: '--control-host', arg: 'HOST', env: 'LIFO4_CONTROL_HOST', schema: host, default: undefined,
    expected: 'an IP address or host name to listen on', describe: "address of the simulator's control API; default --host",
  }),
  allowedHosts: field({
    flag: '--allowed-hosts', arg: 'NAMES', env: 'LIFO4_ALLOWED_HOSTS', schema: hostList, default: [],
    expected: 'a comma-separated list of host names',
    describe: 'host names the editors and APIs answer to besides loopback names, IP addresses and the bound name (DNS rebinding guard)',
  }),
  edgeAuth: field({
    flag: '--edge-auth', arg: 'MODE', env: 'LIFO4_EDGE_AUTH', schema: z.enum(EDGE_AUTH_MODES), default: 'on',
    expected: `one of ${EDGE_AUTH_MODES.join(', ')}`,
    describe: "'on': the edge's editor and /nodes endpoints need an edge account; 'off' (a lab bench only) is refused beyond loopback",
  }),
  dataDir: field({
    flag: '--data-dir', arg: 'DIR', env: 'LIFO4_DATA_DIR', schema: text, default: './.lifo4', path: true,
    expected: 'a directory path', describe: 'where flows, secrets and stores live',
  }),
  logLevel: field({
    flag: '--log-level', arg: 'LEVEL', env: 'LIFO4_LOG_LEVEL', schema: z.enum(LOG_LEVELS), default: 'warn',
    expected: `one of ${LOG_LEVELS.join(', ')}`, describe: 'Node-RED log level',
  }),
  port: field({
    flag: '--port', arg: 'PORT', env: 'LIFO4_PORT', schema: port, default: 1880,
    expected: PORT_EXPECTED, describe: 'cloud HTTP port (editor, API)',
  }),
  mqttPort: field({
    flag: '--mqtt-port', arg: 'PORT', env: 'LIFO4_MQTT_PORT', schema: port, default: 1883,
    expected: PORT_EXPECTED, describe: "port of the cloud's embedded MQTT broker (aedes); unused with --mqtt-url",
  }),
  mqttUrl: field({
    flag: '--mqtt-url', arg: 'URL', env: 'LIFO4_MQTT_URL', schema: mqttUrl, default: undefined,
    expected: 'an mqtt:// or mqtts:// URL with host and optional port',
    describe: "an external broker (Mosquitto) instead of the cloud's embedded one; the edge's broker (default the cloud's)",
  }),
  mqttCa: field({
    flag: '--mqtt-ca', arg: 'FILE', env: 'LIFO4_MQTT_CA', schema: text, default: undefined, path: true,
    expected: 'a PEM file path', describe: 'CA certificate that signed the broker\'s TLS certificate (mqtts://)',
  }),
  mqttCert: field({
    flag: '--mqtt-cert', arg: 'FILE', env: 'LIFO4_MQTT_CERT', schema: text, default: undefined, path: true,
    expected: 'a PEM file path', describe: 'client certificate for mutual TLS',
  }),
  mqttKey: field({
    flag: '--mqtt-key', arg: 'FILE', env: 'LIFO4_MQTT_KEY', schema: text, default: undefined, path: true,
    expected: 'a PEM file path', describe: 'private key of the client certificate',
  }),
  amqpUrl: field({
    flag: '--amqp-url', arg: 'URL', env: 'LIFO4_AMQP_URL', schema: amqpUrls, default: undefined, repeatable: true,
    expected: 'amqp:// or amqps:// URLs of one RabbitMQ cluster, comma-separated or the flag repeated',
    describe: 'consume telemetry and send commands over AMQP on a RabbitMQ cluster (with --mqtt-url for OTA notices; README "Scale-out on a RabbitMQ cluster")',
  }),
  brokerAuth: field({
    flag: '--broker-auth', arg: 'on|off', env: 'LIFO4_BROKER_AUTH', schema: onOff, default: false,
    expected: 'on or off', describe: "serve RabbitMQ's HTTP auth backend at /broker-auth: site accounts and ACL of secrets.json (README \"Scale-out on a RabbitMQ cluster\")",
  }),
  shareGroup: field({
    flag: '--share-group', arg: 'NAME', env: 'LIFO4_SHARE_GROUP', schema: shareGroup, default: undefined,
    expected: '1-64 letters, digits, - or _',
    describe: 'MQTT shared-subscription group: cloud runtimes in one group split the telemetry ingest',
  }),
  timeseries: field({
    flag: '--timeseries', arg: 'BACKEND', env: 'LIFO4_TIMESERIES', schema: z.enum(TIMESERIES_BACKENDS), default: 'sqlite',
    expected: `one of ${TIMESERIES_BACKENDS.join(', ')}`, describe: 'time-series store of the cloud',
  }),
  influxUrl: field({
    flag: '--influx-url', arg: 'URL', env: 'LIFO4_INFLUX_URL', schema: httpUrl, default: 'http://127.0.0.1:8086/lifo4',
    expected: 'an http(s) URL ending in the database name', describe: 'InfluxDB 1.x database (with --timeseries influxdb)',
  }),
  edgePort: field({
    flag: '--edge-port', arg: 'PORT', env: 'LIFO4_EDGE_PORT', schema: port, default: 1881,
    expected: PORT_EXPECTED, describe: 'edge HTTP port (editor, API)',
  }),
  flowsFile: field({
    flag: '--flows', arg: 'FILE', env: 'LIFO4_FLOWS', schema: text, default: undefined, path: true,
    expected: 'a flow file path',
    describe: 'edge flow file to run (deploys save into it); default <data-dir>/edge/flows.json, seeded from flows/edge.json',
  }),
  siteId: field({
    flag: '--site-id', arg: 'ID', env: 'LIFO4_SITE_ID', schema: siteId, default: 'site-1',
    expected: '1-64 letters, digits, - or _', describe: 'site id of this edge (MQTT topic level)',
  }),
  cycleMs: field({
    flag: '--cycle-ms', arg: 'MS', env: 'LIFO4_CYCLE_MS', schema: cycleMs, default: 1000,
    expected: 'an integer 10-60000', describe: 'control cycle of the default edge flow: device polls, safety envelope, PCS heartbeat',
  }),
  modbusHost: field({
    flag: '--modbus-host', arg: 'HOST', env: 'LIFO4_MODBUS_HOST', schema: host, default: '127.0.0.1',
    expected: 'an IP address or host name', describe: 'Modbus TCP host of the devices the default edge flow polls',
  }),
  modbusPort: field({
    flag: '--modbus-port', arg: 'PORT', env: 'LIFO4_MODBUS_PORT', schema: port, default: 5020,
    expected: PORT_EXPECTED, describe: 'Modbus TCP port of the simulator (and of the devices the edge polls)',
  }),
  controlPort: field({
    flag: '--control-port', arg: 'PORT', env: 'LIFO4_CONTROL_PORT', schema: port, default: 5021,
    expected: PORT_EXPECTED, describe: 'simulator control API port (HTTP)',
  }),
  speed: field({
    flag: '--speed', arg: 'X', env: 'LIFO4_SPEED', schema: speed, default: 1,
    expected: 'a number > 0 (1 = real time)', describe: 'simulated time per real time',
  }),
  site: field({
    flag: '--site', arg: 'PROFILE', env: 'LIFO4_SITE', schema: z.enum(SITE_PROFILES), default: 'household',
    expected: `one of ${SITE_PROFILES.join(', ')}`, describe: 'simulated site profile',
  }),
  otaHealthS: field({
    flag: '--ota-health-s', arg: 'S', env: 'LIFO4_OTA_HEALTH_S', schema: healthS, default: 60,
    expected: 'an integer 1-86400', describe: "health window of a new edge release under the all-in-one's OTA agent, seconds",
  }),
  simProfile: field({
    flag: '--profile', arg: 'FAMILY', env: 'LIFO4_SIM_PROFILE', schema: simProfile, default: undefined,
    expected: 'a profile family of the library, e.g. victron-gx or huawei-luna2000',
    describe: 'also present the simulated devices through the vendor register maps of this profile family (profiles/*.json)',
  }),
  seed: field({
    flag: '--seed', arg: 'N', env: 'LIFO4_SEED', schema: seed, default: undefined,
    expected: 'an integer 0-2147483647', describe: 'random seed of the simulator, for repeatable runs (simulator default 1)',
  }),
  simRtu: field({
    flag: '--rtu', arg: 'PATH', env: 'LIFO4_SIM_RTU', schema: text, default: undefined,
    expected: 'a serial device path', describe: 'also serve the simulated units as Modbus RTU on this serial port (e.g. one end of a socat pty pair)',
  }),
  simRtuBaud: field({
    flag: '--rtu-baud', arg: 'BAUD', env: 'LIFO4_SIM_RTU_BAUD', schema: z.union([z.number(), integerText]).pipe(z.number().int().min(300).max(4_000_000)), default: 115_200,
    expected: 'a baud rate 300-4000000', describe: 'baud rate of the RTU port (8 data bits, no parity, 1 stop bit)',
  }),
  simBattery: field({
    flag: '--battery', arg: 'VARIANT', env: 'LIFO4_SIM_BATTERY', schema: z.enum(BATTERY_VARIANTS), default: 'full',
    expected: `one of ${BATTERY_VARIANTS.join(', ')}`, describe: 'which SunSpec models the simulated battery serves',
  }),
  tlsCert: field({
    flag: '--tls-cert', arg: 'FILE', env: 'LIFO4_TLS_CERT', schema: text, default: undefined, path: true,
    expected: 'a PEM file path',
    describe: "TLS certificate (PEM, chain after it): the cloud serves HTTPS/WSS and its embedded broker MQTTS; needs --tls-key",
  }),
  tlsKey: field({
    flag: '--tls-key', arg: 'FILE', env: 'LIFO4_TLS_KEY', schema: text, default: undefined, path: true,
    expected: 'a PEM file path', describe: 'private key of --tls-cert (PEM)',
  }),
  mqttsPort: field({
    flag: '--mqtts-port', arg: 'PORT', env: 'LIFO4_MQTTS_PORT', schema: port, default: 8883,
    expected: PORT_EXPECTED, describe: "MQTTS port of the cloud's embedded broker, beside --mqtt-port; only with --tls-cert",
  }),
  // The cloud's editor and sign-in (README, "Securing the cloud").
  trustProxy: field({
    flag: '--trust-proxy', arg: 'HOPS|ADDRS', env: 'LIFO4_TRUST_PROXY', schema: trustProxy, default: undefined,
    expected: 'a hop count 1-10 or a comma-separated list of proxy addresses (IP, CIDR, loopback, linklocal, uniquelocal)',
    describe: 'the cloud runs behind a reverse proxy: client addresses come from X-Forwarded-For, /metrics needs a token',
  }),
  editorSessionH: field({
    flag: '--editor-session-h', arg: 'HOURS', env: 'LIFO4_EDITOR_SESSION_H', schema: sessionHours, default: 8,
    expected: 'hours, 0.001-168', describe: "length of a cloud editor session, hours",
  }),
  // Alarm notifications (README, "Notifications").
  smtpUrl: field({
    flag: '--smtp-url', arg: 'URL', env: 'LIFO4_SMTP_URL', schema: smtpUrl, default: undefined,
    expected: 'smtp://[user:pass@]host:port or smtps://[user:pass@]host:port',
    describe: 'SMTP server for alarm e-mails (none: no e-mail; webhooks still work)',
  }),
  smtpFrom: field({
    flag: '--smtp-from', arg: 'ADDRESS', env: 'LIFO4_SMTP_FROM', schema: mailFrom, default: 'LiFePO4 EMS <lifo4@localhost>',
    expected: 'a sender such as lifo4@example.com or "Name <lifo4@example.com>"', describe: 'sender of alarm e-mails',
  }),
  notifyEscalateS: field({
    flag: '--notify-escalate-s', arg: 'S', env: 'LIFO4_NOTIFY_ESCALATE_S', schema: notifySeconds, default: 900,
    expected: 'seconds, 1-86400', describe: 'a critical alarm not acknowledged for this long is e-mailed to the next role up',
  }),
  notifyRetryS: field({
    flag: '--notify-retry-s', arg: 'S', env: 'LIFO4_NOTIFY_RETRY_S', schema: notifySeconds, default: 30,
    expected: 'seconds, 1-86400', describe: 'first retry delay of a failed e-mail or webhook delivery (doubling, up to 64 times it)',
  }),
  databaseUrl: field({
    flag: '--database-url', arg: 'URL', env: 'LIFO4_DATABASE_URL', schema: databaseUrl, default: undefined, secret: true,
    expected: 'postgres://user:password@host:port/database',
    describe: 'keep users, sites, alarms and the rest in this PostgreSQL, shared by several cloud processes (default: SQLite cloud.db in --data-dir; prefer the variable, it keeps the password out of the process list)',
  }),
  codeNodes: field({
    flag: '--code-nodes', arg: 'on|off', env: 'LIFO4_CODE_NODES', schema: onOff, default: false,
    expected: 'on or off', describe: "let the cloud's flows use the function, exec and file nodes (code execution in the cloud)",
  }),
} as const;

export type SettingKey = keyof typeof FIELDS;
type ValueOf<K extends SettingKey> = z.output<(typeof FIELDS)[K]['schema']>;

const COMMON_KEYS = ['host', 'dataDir', 'logLevel'] as const;
/** Bind addresses that fall back to --host when not given. */
const BIND_KEYS = ['cloudHost', 'edgeHost', 'mqttHost', 'simHost', 'controlHost'] as const;
const MQTT_CLIENT_KEYS = ['mqttUrl', 'mqttCa', 'mqttCert', 'mqttKey'] as const;
const CLOUD_KEYS = ['cloudHost', 'port', 'mqttHost', 'mqttPort', ...MQTT_CLIENT_KEYS, 'amqpUrl', 'brokerAuth', 'shareGroup', 'timeseries', 'influxUrl', 'allowedHosts', 'tlsCert', 'tlsKey', 'mqttsPort'] as const;
const EDGE_KEYS = ['edgeHost', 'edgePort', 'edgeAuth', 'flowsFile', 'siteId', 'cycleMs', 'modbusHost', 'modbusPort', ...MQTT_CLIENT_KEYS, 'allowedHosts'] as const;
const SIM_KEYS = ['simHost', 'modbusPort', 'controlHost', 'controlPort', 'speed', 'site', 'seed', 'simRtu', 'simRtuBaud', 'simBattery', 'simProfile'] as const;

/** The settings each role reads, in --help order. */
export const ROLE_KEYS: Record<Role, readonly SettingKey[]> = {
  // The all-in-one points its edge at its own simulator, so it has no --modbus-host.
  all: [...COMMON_KEYS, ...CLOUD_KEYS, 'edgeHost', 'edgePort', 'edgeAuth', 'flowsFile', 'siteId', 'cycleMs', 'simHost', 'modbusPort', 'controlHost', 'controlPort', 'speed', 'site', 'seed', 'otaHealthS'],
  cloud: [...COMMON_KEYS, ...CLOUD_KEYS, 'trustProxy', 'editorSessionH', 'codeNodes', 'smtpUrl', 'smtpFrom', 'notifyEscalateS', 'notifyRetryS', 'databaseUrl'],
  edge: [...COMMON_KEYS, ...EDGE_KEYS],
  sim: [...COMMON_KEYS, ...SIM_KEYS],
};

// The typed result per role, checked once more as a whole after each value was parsed alone.
const commonShape = {
  host: z.string(),
  /** Absolute path. */
  dataDir: z.string(),
  logLevel: z.enum(LOG_LEVELS),
  /** The config file that was read, absolute, if any. */
  configFile: z.string().optional(),
};
const mqttClientShape = { mqttUrl: z.string().optional(), mqttCa: z.string().optional(), mqttCert: z.string().optional(), mqttKey: z.string().optional() };
const cloudShape = {
  cloudHost: host,
  port: port,
  mqttHost: host,
  allowedHosts: z.array(z.string()),
  mqttPort: port,
  ...mqttClientShape,
  amqpUrl: z.array(z.string()).optional(),
  brokerAuth: z.boolean(),
  shareGroup: shareGroup.optional(),
  timeseries: z.enum(TIMESERIES_BACKENDS),
  influxUrl: z.string(),
  /** Absolute paths; checked (readable, a matching pair) when the runtime starts (runtime/app/http-security.ts). */
  tlsCert: z.string().optional(),
  tlsKey: z.string().optional(),
  mqttsPort: port,
};
const edgeShape = {
  edgeHost: host,
  edgePort: port,
  edgeAuth: z.enum(EDGE_AUTH_MODES),
  allowedHosts: z.array(z.string()),
  /** Absolute path of the edge flow file given with --flows, else undefined. */
  flowsFile: z.string().optional(),
  siteId,
  cycleMs,
  modbusHost: host,
  modbusPort: port,
  ...mqttClientShape,
};
const simShape = { simHost: host, controlHost: host, modbusPort: port, controlPort: port, speed, site: z.enum(SITE_PROFILES), seed: seed.optional() };
const simOnlyShape = { simRtu: z.string().optional(), simRtuBaud: z.number().int(), simBattery: z.enum(BATTERY_VARIANTS), simProfile: simProfile.optional() };

// The cloud process's own; the all-in-one's cloud child takes them from the environment (LIFO4_*).
const cloudOnlyShape = {
  trustProxy: z.union([z.number(), z.array(z.string())]).optional(),
  editorSessionH: sessionHours,
  codeNodes: z.boolean(),
  smtpUrl: z.string().optional(),
  smtpFrom: z.string(),
  notifyEscalateS: notifySeconds,
  notifyRetryS: notifySeconds,
  databaseUrl: z.string().optional(),
};
// OTA notices travel over MQTT: a cloud on a RabbitMQ cluster names the cluster's MQTT listeners too.
function amqpNeedsMqtt(s: { amqpUrl?: string[] | undefined; mqttUrl?: string | undefined }, ctx: z.RefinementCtx): void {
  if (s.amqpUrl !== undefined && s.mqttUrl === undefined) {
    ctx.addIssue({ code: 'custom', path: ['amqpUrl'], message: `needs ${FIELDS.mqttUrl.flag} too: the MQTT listeners of the same RabbitMQ cluster, for OTA notices` });
  }
}
export const CloudSettingsSchema = z.object({ role: z.literal('cloud'), ...commonShape, ...cloudShape, ...cloudOnlyShape }).superRefine(amqpNeedsMqtt);
/** Whether a bind address reaches only this machine: 127.0.0.0/8, ::1 or localhost. */
export function isLoopbackHost(h: string): boolean {
  const v = h.toLowerCase().replace(/^\[|\]$/g, '');
  return v === 'localhost' || v === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v) || /^::ffff:127\./.test(v);
}

// An edge without authentication controls the battery for whoever reaches its port: only a lab
// bench on loopback may run it so.
function edgeAuthOnLoopbackOnly(s: { edgeAuth: (typeof EDGE_AUTH_MODES)[number]; edgeHost: string }, ctx: z.RefinementCtx): void {
  if (s.edgeAuth === 'off' && !isLoopbackHost(s.edgeHost)) {
    ctx.addIssue({
      code: 'custom', path: ['edgeAuth'],
      message: `the edge would listen on ${s.edgeHost} without authentication: whoever reaches that address could deploy code and command the battery. ` +
        `Keep ${FIELDS.edgeAuth.flag} on (sign in with an edge account: lifo4 user add --edge), or listen on 127.0.0.1 only`,
    });
  }
}

export const EdgeSettingsSchema = z.object({ role: z.literal('edge'), ...commonShape, ...edgeShape }).superRefine(edgeAuthOnLoopbackOnly);
export const SimSettingsSchema = z.object({ role: z.literal('sim'), ...commonShape, ...simShape, ...simOnlyShape });
const { modbusHost: _edgeOnly, allowedHosts: _inCloud, ...allEdgeShape } = edgeShape;
export const AllSettingsSchema = z
  .object({ role: z.literal('all'), ...commonShape, ...cloudShape, ...allEdgeShape, ...simShape, otaHealthS: healthS })
  // The all-in-one binds all four ports on one host: two equal ports would fail at start-up, later
  // and less clearly (0 = any free port never collides).
  .superRefine(edgeAuthOnLoopbackOnly)
  .superRefine(amqpNeedsMqtt)
  .superRefine((s, ctx) => {
    const ports: [SettingKey, number][] = [['port', s.port], ['edgePort', s.edgePort], ['modbusPort', s.modbusPort], ['controlPort', s.controlPort]];
    for (const [i, [key, value]] of ports.entries()) {
      const clash = ports.slice(0, i).find(([, other]) => other === value && value !== 0);
      if (clash) ctx.addIssue({ code: 'custom', path: [key], message: `${value} is the same port as ${FIELDS[clash[0]].flag}` });
    }
  });
const SCHEMAS = {
  all: AllSettingsSchema,
  cloud: CloudSettingsSchema,
  edge: EdgeSettingsSchema,
  sim: SimSettingsSchema,
} as const;

export type CloudSettings = z.output<typeof CloudSettingsSchema>;
export type EdgeSettings = z.output<typeof EdgeSettingsSchema>;
export type SimSettings = z.output<typeof SimSettingsSchema>;
export type AllSettings = z.output<typeof AllSettingsSchema>;
export type SettingsFor<R extends Role> = z.output<(typeof SCHEMAS)[R]>;
export type Settings = SettingsFor<Role>;

export interface SettingsSources {
  /** Flag values by setting name, as given on the command line (strings); absent = not given. */
  flags?: Partial<Record<SettingKey, string>>;
  /** Value of --config, if given. */
  configFlag?: string;
  /** Environment; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Working directory for relative paths; defaults to process.cwd(). */
  cwd?: string;
}

interface Raw {
  value: unknown;
  source: string;
  /** Folder relative paths resolve against. */
  base: string;
}

/** The address a client on this machine uses to reach a server listening on `host`. */
export function reachableHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

/** `host:port` with IPv6 addresses in brackets, as URLs want them. */
export function hostPort(host: string, port: number): string {
  const h = reachableHost(host);
  return `${h.includes(':') ? `[${h}]` : h}:${port}`;
}

function describeValue(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value) ?? String(value);
}

function readConfigFile(path: string, source: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SettingsError(source, `cannot read config file '${path}': ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new SettingsError(source, `config file '${path}' is not valid JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SettingsError(source, `config file '${path}' must hold a JSON object of settings`);
  }
  const known = Object.keys(FIELDS);
  for (const key of Object.keys(parsed)) {
    if (!known.includes(key)) {
      throw new SettingsError(`config file ${path}`, `unknown setting '${key}' (known: ${known.join(', ')})`);
    }
  }
  return parsed as Record<string, unknown>;
}

function parseValue<K extends SettingKey>(key: K, raw: Raw): ValueOf<K> {
  const def = FIELDS[key];
  const result = def.schema.safeParse(raw.value);
  if (!result.success) {
    const got = 'secret' in def && def.secret ? 'something else (not repeated: it may hold a password)' : describeValue(raw.value);
    throw new SettingsError(raw.source, `expected ${def.expected}, got ${got}`);
  }
  const value = result.data as ValueOf<K>;
  if ('path' in def && def.path && typeof value === 'string') return resolve(raw.base, value) as ValueOf<K>;
  return value;
}

/**
 * The settings of one role from flags, environment, config file and defaults.
 * @throws SettingsError naming the setting and its source when a value is invalid.
 */
export function loadSettings<R extends Role>(role: R, sources: SettingsSources = {}): SettingsFor<R> {
  const env = sources.env ?? process.env;
  const cwd = sources.cwd ?? process.cwd();
  const flags = sources.flags ?? {};

  let configFile: string | undefined;
  let config: Record<string, unknown> = {};
  const configFrom =
    sources.configFlag !== undefined
      ? { path: sources.configFlag, source: '--config' }
      : env.LIFO4_CONFIG !== undefined && env.LIFO4_CONFIG !== ''
        ? { path: env.LIFO4_CONFIG, source: 'LIFO4_CONFIG' }
        : undefined;
  if (configFrom) {
    configFile = resolve(cwd, configFrom.path);
    config = readConfigFile(configFile, configFrom.source);
  }

  const out: Record<string, unknown> = { role };
  if (configFile) out.configFile = configFile;
  for (const key of ROLE_KEYS[role]) {
    const def = FIELDS[key];
    const flagValue = flags[key];
    const envValue = env[def.env];
    let raw: Raw | undefined;
    if (flagValue !== undefined) raw = { value: flagValue, source: def.flag, base: cwd };
    else if (envValue !== undefined && envValue !== '') raw = { value: envValue, source: def.env, base: cwd };
    else if (configFile && config[key] !== undefined) {
      raw = { value: config[key], source: `config file ${configFile}: ${key}`, base: dirname(configFile) };
    }
    if (raw) out[key] = parseValue(key, raw);
    else if (def.default !== undefined) {
      out[key] = parseValue(key, { value: def.default, source: `default ${key}`, base: cwd });
    }
  }
  for (const key of BIND_KEYS) if (ROLE_KEYS[role].includes(key) && out[key] === undefined) out[key] = out.host;
  const checked = SCHEMAS[role].safeParse(out);
  if (!checked.success) {
    // Each value was valid alone, so what is left are rules across settings (two equal ports).
    const issue = checked.error.issues[0];
    const key = issue?.path[0];
    const source = typeof key === 'string' && key in FIELDS ? FIELDS[key as SettingKey].flag : 'settings';
    throw new SettingsError(source, issue?.message ?? checked.error.message);
  }
  return checked.data as SettingsFor<R>;
}
