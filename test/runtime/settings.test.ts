import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIELDS, ROLE_KEYS, SettingsError, loadSettings } from '../../settings';

describe('settings', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lifo4-settings-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function config(content: unknown): string {
    const file = join(dir, 'lifo4.json');
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  }

  function settingsError(fn: () => unknown): SettingsError {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof SettingsError, `expected a SettingsError, got ${String(err)}`);
      return err;
    }
    assert.fail('expected a SettingsError');
  }

  describe('defaults', () => {
    it('listen on 127.0.0.1 with the cloud on 1880, the edge on 1881 and the simulator on 5020/5021', () => {
      const s = loadSettings('all', { env: {}, cwd: dir });
      assert.equal(s.role, 'all');
      assert.equal(s.host, '127.0.0.1');
      assert.equal(s.port, 1880);
      assert.equal(s.edgePort, 1881);
      assert.equal(s.modbusPort, 5020);
      assert.equal(s.controlPort, 5021);
      assert.equal(s.mqttPort, 1883);
      assert.equal(s.speed, 1);
      assert.equal(s.site, 'household');
      assert.equal(s.siteId, 'site-1');
      assert.equal(s.seed, undefined);
      assert.equal(s.flowsFile, undefined);
    });

    it('keep data in ./.lifo4, resolved against the working directory', () => {
      assert.equal(loadSettings('cloud', { env: {}, cwd: dir }).dataDir, join(dir, '.lifo4'));
    });

    it('give each role only its own settings', () => {
      const cloud = loadSettings('cloud', { env: {}, cwd: dir });
      // Settings without a default (an external broker, TLS files, a share group) stay absent.
      assert.deepEqual(Object.keys(cloud).sort(), ['allowedHosts', 'brokerAuth', 'cloudHost', 'codeNodes', 'dataDir', 'editorSessionH', 'host', 'influxUrl', 'logLevel', 'mqttHost', 'mqttPort', 'mqttsPort', 'notifyEscalateS', 'notifyRetryS', 'port', 'role', 'smtpFrom', 'timeseries']);
      assert.equal(loadSettings('edge', { flags: { mqttUrl: 'mqtts://broker.example:8883' }, env: {}, cwd: dir }).mqttUrl, 'mqtts://broker.example:8883');
      assert.throws(() => loadSettings('edge', { flags: { mqttUrl: 'http://x' }, env: {}, cwd: dir }), /--mqtt-url: expected an mqtt:\/\//);
      assert.throws(() => loadSettings('cloud', { flags: { shareGroup: 'a/b' }, env: {}, cwd: dir }), /--share-group/);
      // A RabbitMQ cluster: its AMQP nodes for the cloud, its MQTT listeners as one list for an edge.
      assert.deepEqual(loadSettings('cloud', { env: { LIFO4_AMQP_URL: 'amqp://r1:5672, amqp://r2:5672', LIFO4_MQTT_URL: 'mqtt://r1:1883' }, cwd: dir }).amqpUrl, ['amqp://r1:5672', 'amqp://r2:5672']);
      assert.throws(() => loadSettings('cloud', { flags: { amqpUrl: 'amqp://r1:5672' }, env: {}, cwd: dir }), /--amqp-url: needs --mqtt-url/);
      assert.throws(() => loadSettings('cloud', { flags: { amqpUrl: 'mqtt://r1:1883' }, env: {}, cwd: dir }), /--amqp-url/);
      assert.equal(loadSettings('edge', { flags: { mqttUrl: 'mqtt://r1:1883,mqtt://r2:1883' }, env: {}, cwd: dir }).mqttUrl, 'mqtt://r1:1883,mqtt://r2:1883');
      const edge = loadSettings('edge', { env: {}, cwd: dir });
      assert.equal(edge.modbusHost, '127.0.0.1');
      assert.equal(edge.edgePort, 1881);
      assert.ok(!('port' in edge));
      const sim = loadSettings('sim', { env: {}, cwd: dir });
      assert.equal(sim.controlPort, 5021);
      assert.ok(!('edgePort' in sim));
    });

    it("take the cloud's mail server and notification times from flags or LIFO4_*, and refuse what is not SMTP", () => {
      const cloud = (flags: Record<string, string>, env: Record<string, string> = {}) => loadSettings('cloud', { flags, env, cwd: dir });
      assert.equal(cloud({}).smtpUrl, undefined, 'no mail server unless configured');
      assert.equal(cloud({ smtpUrl: 'smtps://user:pa%40ss@mail.example.com:465' }).smtpUrl, 'smtps://user:pa%40ss@mail.example.com:465');
      assert.equal(cloud({}, { LIFO4_SMTP_URL: 'smtp://127.0.0.1:2525', LIFO4_SMTP_FROM: 'EMS <ems@example.com>' }).smtpFrom, 'EMS <ems@example.com>');
      assert.equal(cloud({}, { LIFO4_NOTIFY_ESCALATE_S: '5' }).notifyEscalateS, 5);
      for (const bad of ['http://mail.example.com', 'smtp://', 'mail.example.com:25']) assert.throws(() => cloud({ smtpUrl: bad }), /--smtp-url: expected smtp:\/\//, bad);
      assert.throws(() => cloud({ smtpFrom: 'not an address' }), /--smtp-from/);
      assert.throws(() => cloud({ notifyRetryS: '0' }), /--notify-retry-s/);
    });

    it("take the cloud's proxy, editor session and code-node settings, and never trust every proxy", () => {
      const cloud = (flags: Record<string, string>) => loadSettings('cloud', { flags, env: {}, cwd: dir });
      assert.equal(cloud({}).trustProxy, undefined);
      assert.equal(cloud({}).editorSessionH, 8);
      assert.equal(cloud({}).codeNodes, false);
      assert.equal(cloud({ trustProxy: '2' }).trustProxy, 2);
      assert.deepEqual(cloud({ trustProxy: '10.0.0.0/8, loopback' }).trustProxy, ['10.0.0.0/8', 'loopback']);
      for (const bad of ['true', '0', 'proxy.example', '10.0.0.1,']) assert.throws(() => cloud({ trustProxy: bad }), /--trust-proxy: expected a hop count/, bad);
      assert.equal(cloud({ codeNodes: 'on' }).codeNodes, true);
      assert.equal(loadSettings('cloud', { env: { LIFO4_EDITOR_SESSION_H: '0.5' }, cwd: dir }).editorSessionH, 0.5);
      assert.throws(() => cloud({ editorSessionH: '0' }), /--editor-session-h/);
    });
  });

  describe('precedence: flag > environment > config file > default', () => {
    it('takes a flag over LIFO4_* and the config file', () => {
      const file = config({ port: 3000 });
      const s = loadSettings('cloud', { flags: { port: '4000' }, env: { LIFO4_PORT: '5000' }, configFlag: file, cwd: dir });
      assert.equal(s.port, 4000);
    });

    it('takes LIFO4_* over the config file', () => {
      const file = config({ port: 3000, edgePort: 3001 });
      const s = loadSettings('all', { env: { LIFO4_PORT: '5000', LIFO4_CONFIG: file }, cwd: dir });
      assert.equal(s.port, 5000);
      assert.equal(s.edgePort, 3001);
    });

    it('takes the config file over the default', () => {
      const file = config({ site: 'commercial', speed: 60, seed: 7 });
      const s = loadSettings('sim', { configFlag: file, env: {}, cwd: dir });
      assert.equal(s.site, 'commercial');
      assert.equal(s.speed, 60);
      assert.equal(s.seed, 7);
      assert.equal(s.configFile, file);
    });

    it('ignores an empty environment variable', () => {
      assert.equal(loadSettings('cloud', { env: { LIFO4_PORT: '' }, cwd: dir }).port, 1880);
    });

    it('resolves paths from flags against the working directory and from the config file against its folder', () => {
      const fromFlag = loadSettings('edge', { flags: { dataDir: 'd', flowsFile: 'f.json' }, env: {}, cwd: '/srv' });
      assert.equal(fromFlag.dataDir, '/srv/d');
      assert.equal(fromFlag.flowsFile, '/srv/f.json');
      const file = config({ dataDir: 'data' });
      assert.equal(loadSettings('edge', { configFlag: file, env: {}, cwd: '/srv' }).dataDir, join(dir, 'data'));
    });
  });

  describe('a bad value stops start-up with a message naming it', () => {
    it('names the flag: --port abc', () => {
      const err = settingsError(() => loadSettings('cloud', { flags: { port: 'abc' }, env: {}, cwd: dir }));
      assert.equal(err.source, '--port');
      assert.equal(err.message, "--port: expected a port number 0-65535 (0 = any free port), got 'abc'");
    });

    it('names the environment variable', () => {
      const err = settingsError(() => loadSettings('edge', { env: { LIFO4_EDGE_PORT: '70000' }, cwd: dir }));
      assert.match(err.message, /^LIFO4_EDGE_PORT: expected a port number .* got '70000'$/);
    });

    it('names the config file and the key', () => {
      const file = config({ modbusPort: -1 });
      const err = settingsError(() => loadSettings('sim', { configFlag: file, env: {}, cwd: dir }));
      assert.equal(err.message, `config file ${file}: modbusPort: expected a port number 0-65535 (0 = any free port), got -1`);
    });

    it('rejects ports that are not whole numbers', () => {
      for (const bad of ['1.5', '', ' ', '80a', '-80', '65536']) {
        settingsError(() => loadSettings('cloud', { flags: { port: bad }, env: {}, cwd: dir }));
      }
    });

    it('accepts port 0 (any free port, for tests)', () => {
      assert.equal(loadSettings('cloud', { flags: { port: '0' }, env: {}, cwd: dir }).port, 0);
    });

    it('rejects an unknown log level, site profile, speed or site id', () => {
      assert.match(settingsError(() => loadSettings('cloud', { flags: { logLevel: 'loud' }, env: {}, cwd: dir })).message, /^--log-level: expected one of fatal, error/);
      assert.match(settingsError(() => loadSettings('sim', { flags: { site: 'castle' }, env: {}, cwd: dir })).message, /^--site: expected one of household, commercial/);
      assert.match(settingsError(() => loadSettings('sim', { flags: { speed: '0' }, env: {}, cwd: dir })).message, /^--speed: expected a number > 0/);
      // A site id is an MQTT topic level: '/' or '#' would change the topic's meaning.
      assert.match(settingsError(() => loadSettings('edge', { flags: { siteId: 'a/b' }, env: {}, cwd: dir })).message, /^--site-id:/);
      assert.match(settingsError(() => loadSettings('edge', { flags: { siteId: '#' }, env: {}, cwd: dir })).message, /^--site-id:/);
    });

    it('rejects a host that is neither an IP address nor a host name', () => {
      assert.match(settingsError(() => loadSettings('cloud', { flags: { host: 'not a host' }, env: {}, cwd: dir })).message, /^--host:/);
      assert.equal(loadSettings('cloud', { flags: { host: '::1' }, env: {}, cwd: dir }).host, '::1');
      assert.equal(loadSettings('cloud', { flags: { host: 'localhost' }, env: {}, cwd: dir }).host, 'localhost');
    });

    it('rejects two equal ports in the all-in-one, naming the later one', () => {
      const err = settingsError(() => loadSettings('all', { flags: { edgePort: '1880' }, env: {}, cwd: dir }));
      assert.equal(err.message, '--edge-port: 1880 is the same port as --port');
    });

    it('lets several ports be 0 in the all-in-one', () => {
      const s = loadSettings('all', { flags: { port: '0', edgePort: '0', modbusPort: '0', controlPort: '0' }, env: {}, cwd: dir });
      assert.deepEqual([s.port, s.edgePort, s.modbusPort, s.controlPort], [0, 0, 0, 0]);
    });
  });

  describe('the config file', () => {
    it('must exist', () => {
      const err = settingsError(() => loadSettings('cloud', { configFlag: join(dir, 'missing.json'), env: {}, cwd: dir }));
      assert.match(err.message, /^--config: cannot read config file .*missing\.json/);
    });

    it('must be JSON', () => {
      const err = settingsError(() => loadSettings('cloud', { configFlag: config('{ port: 1 '), env: {}, cwd: dir }));
      assert.match(err.message, /^--config: config file .* is not valid JSON/);
    });

    it('must be an object', () => {
      settingsError(() => loadSettings('cloud', { configFlag: config([1880]), env: {}, cwd: dir }));
    });

    it('rejects an unknown key so a typo does not pass silently', () => {
      const file = config({ prot: 1880 });
      const err = settingsError(() => loadSettings('cloud', { configFlag: file, env: {}, cwd: dir }));
      assert.match(err.message, new RegExp(`^config file ${file}: unknown setting 'prot'`));
    });

    it("may hold another role's settings, which this role ignores", () => {
      const file = config({ controlPort: 6000, port: 3000 });
      assert.equal(loadSettings('cloud', { configFlag: file, env: {}, cwd: dir }).port, 3000);
    });

    it('is found through LIFO4_CONFIG, naming that variable when it is missing', () => {
      const err = settingsError(() => loadSettings('cloud', { env: { LIFO4_CONFIG: join(dir, 'nope.json') }, cwd: dir }));
      assert.equal(err.source, 'LIFO4_CONFIG');
    });
  });

  describe('the settings table', () => {
    it('gives every setting a distinct flag and LIFO4_* variable', () => {
      const defs = Object.values(FIELDS);
      assert.equal(new Set(defs.map((d) => d.flag)).size, defs.length);
      assert.equal(new Set(defs.map((d) => d.env)).size, defs.length);
      for (const d of defs) assert.match(d.env, /^LIFO4_[A-Z_]+$/);
    });

    it('gives every role the common settings', () => {
      for (const keys of Object.values(ROLE_KEYS)) {
        for (const common of ['host', 'dataDir', 'logLevel'] as const) assert.ok(keys.includes(common));
      }
    });
  });
});
