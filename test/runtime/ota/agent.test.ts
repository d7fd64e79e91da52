// The edge agent as a real process, with a real runtime child, broker and bundle server: installs,
// commits healthy releases, rolls back broken ones (crash loop, hang, unhealthy), refuses bad
// bundles without touching the running release, answers repeated notices, and its boot guard rolls
// back a release that keeps taking the agent down.
import { strict as assert } from 'node:assert';
import { cpSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PAYLOAD_FILE, type Manifest } from '../../../runtime/ota/manifest';
import { signManifest } from '../../../runtime/ota/signing-key';
import { startAedes, type RunningAedes } from '../../services/aedes';
import { eventually, type Lifo4Process } from '../../integration/lifo4-process';
import { CloudSide, startAgentProcess, stopAgentProcess } from './agent-harness';
import { BundleServer, buildTestBundle, currentRelease, ed25519, readState, ReleaseSource, removeDir, tempDir, type Behaviour } from './ota-fixtures';

describe('OTA edge agent: switch, health window, rollback', function () {
  this.timeout(180_000);
  const site = 'ota-agent-1';
  const fleet = ed25519();
  let root: string;
  let agentDir: string;
  let broker: RunningAedes;
  let server: BundleServer;
  let cloud: CloudSide;
  let agent: Lifo4Process | null = null;
  const bundles = new Map<string, Manifest>();

  const bundle = async (version: string, sequence: number, behaviour: Behaviour) => {
    const b = await buildTestBundle({ root, source, key: fleet.privateKey, version, sequence, behaviour });
    bundles.set(version, b.manifest);
    return b;
  };
  let source: ReleaseSource;
  const starts = () => (existsSync(join(agentDir, 'data', 'starts.log')) ? readFileSync(join(agentDir, 'data', 'starts.log'), 'utf8').trim().split('\n') : []);
  const deploy = async (id: string, version: string, name = version) => {
    await cloud.notify(server.notice(site, id, bundles.get(version)!, name));
    return cloud.outcome(id);
  };

  before(async () => {
    root = tempDir('agent');
    agentDir = join(root, 'agent');
    source = new ReleaseSource(root);
    await bundle('1.0.0', 1, 'healthy');
    await bundle('2.0.0', 2, 'healthy');
    await bundle('3.0.0-crash', 3, 'crash');
    await bundle('4.0.0-hang', 4, 'hang');
    await bundle('5.0.0-unhealthy', 5, 'unhealthy');
    await bundle('6.0.0', 6, 'healthy');
    await bundle('7.0.0', 7, 'healthy');
    broker = await startAedes();
    server = new BundleServer(root);
    await server.start();
    cloud = await CloudSide.connect(broker.url);
    const since = Date.now();
    agent = startAgentProcess({ dir: agentDir, siteId: site, fleetPem: fleet.publicPem, mqttUrl: broker.url });
    await cloud.connected(site, since);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && agent) console.log(`agent output (tail):\n${agent.output.slice(-4000)}`);
  });

  after(async () => {
    await stopAgentProcess(agent, agentDir);
    await cloud?.close();
    await server?.stop();
    await broker?.stop();
    removeDir(root);
  });

  it('installs the first release through the OTA path and commits it when healthy', async () => {
    const out = await deploy('d1', '1.0.0');
    assert.equal(out.phase, 'committed', JSON.stringify(out));
    assert.deepEqual(cloud.phases('d1'), ['received', 'downloading', 'verified', 'installed', 'switching', 'health-check', 'committed']);
    assert.equal(currentRelease(agentDir), '1.0.0');
    assert.equal(readState(agentDir).committed?.version, '1.0.0');
    assert.match(starts().at(-1)!, /^1\.0\.0 /);
  });

  it('commits a healthy new release; previous points at the old one', async () => {
    const out = await deploy('d2', '2.0.0');
    assert.equal(out.phase, 'committed');
    assert.equal(currentRelease(agentDir), '2.0.0');
    assert.equal(readFileSync(join(agentDir, 'state.json'), 'utf8').includes('"previous": {\n    "version": "1.0.0"'), true);
    assert.match(starts().at(-1)!, /^2\.0\.0 /);
  });

  for (const [id, version, why] of [
    ['d3', '3.0.0-crash', /runtime exited with code 3 during the health window/],
    ['d4', '4.0.0-hang', /no health report in the second half of the window/],
    ['d5', '5.0.0-unhealthy', /MQTT not connected/],
  ] as const) {
    it(`rolls back ${version.split('-')[1]!} release ${version}, reports why, and runs the committed one again`, async () => {
      const out = await deploy(id, version);
      assert.equal(out.phase, 'rolled-back');
      assert.match(out.reason ?? '', why);
      assert.equal(currentRelease(agentDir), '2.0.0');
      assert.equal(readState(agentDir).trial, null);
      assert.equal(readState(agentDir).committed?.version, '2.0.0');
      await eventually(async () => (/^2\.0\.0 /.test(starts().at(-1)!) ? true : undefined), 30_000, 'the committed release started again');
      assert.equal(existsSync(join(agentDir, 'releases', version)), false, 'the failed release is removed');
    });
  }

  it('takes a second update after a rollback', async () => {
    const out = await deploy('d6', '6.0.0');
    assert.equal(out.phase, 'committed');
    assert.equal(currentRelease(agentDir), '6.0.0');
    assert.deepEqual(readdirSync(join(agentDir, 'releases')).sort(), ['2.0.0', '6.0.0']);
  });

  it('answers a repeated notice with the outcome it reached, without doing it again', async () => {
    const before = starts().length;
    const reports = cloud.phases('d6').length;
    await cloud.notify(server.notice(site, 'd6', bundles.get('6.0.0')!));
    await cloud.notify(server.notice(site, 'd3', bundles.get('3.0.0-crash')!));
    await eventually(async () => (cloud.phases('d6').length > reports && cloud.phases('d3').filter((p) => p === 'rolled-back').length === 2 ? true : undefined), 30_000, 'repeated answers');
    assert.deepEqual(cloud.phases('d6').slice(reports), ['committed']);
    assert.equal(starts().length, before, 'nothing was started again');
    assert.equal(currentRelease(agentDir), '6.0.0');
  });

  describe('refuses bad bundles: nothing extracted, the running release untouched', () => {
    const bad = async (name: string, damage: (dir: string) => void | Promise<void>, base = '7.0.0') => {
      const dir = join(root, 'bundles', name);
      cpSync(join(root, 'bundles', base), dir, { recursive: true });
      await damage(dir);
      return name;
    };
    const cases: [string, () => Promise<string>, RegExp, string?][] = [
      ['a flipped byte', () => bad('7-flipped', (d) => { const p = join(d, PAYLOAD_FILE); const b = readFileSync(p); b[b.length >> 1]! ^= 1; writeFileSync(p, b); }), /payload-hash-mismatch/],
      ['a truncated payload', () => bad('7-truncated', (d) => { const p = join(d, PAYLOAD_FILE); writeFileSync(p, readFileSync(p).subarray(0, 5000)); }), /payload-size-mismatch|payload-hash-mismatch/],
      ['another signing key', () => bad('7-other-key', (d) => writeFileSync(join(d, 'manifest.sig'), signManifest(readFileSync(join(d, 'manifest.json')), ed25519().privateKey))), /signature-invalid/],
      ['a downgrade', async () => '1.0.0', /downgrade/, '1.0.0'],
    ];
    for (const [what, make, why, version] of cases) {
      it(`refuses ${what}`, async () => {
        const name = await make();
        const releasesBefore = readdirSync(join(agentDir, 'releases')).sort();
        const startsBefore = starts().length;
        const id = `bad-${name.replace(/\W+/g, '-')}`;
        await cloud.notify(server.notice(site, id, bundles.get(version ?? '7.0.0')!, name));
        const out = await cloud.outcome(id);
        assert.equal(out.phase, 'refused', JSON.stringify(out));
        assert.match(out.reason ?? '', why);
        assert.deepEqual(readdirSync(join(agentDir, 'releases')).sort(), releasesBefore, 'nothing extracted');
        assert.equal(currentRelease(agentDir), '6.0.0');
        assert.equal(starts().length, startsBefore, 'the runtime was not restarted');
        assert.deepEqual(readdirSync(join(agentDir, 'downloads')), [], 'no download kept');
      });
    }
  });

  describe('boot guard', () => {
    it('a release that takes the agent down on every start is rolled back after 3 attempts', async () => {
      await bundle('8.0.0', 8, 'healthy');
      await stopAgentProcess(agent, agentDir);
      agent = null;
      // Each start of the new release kills the agent (as a kernel panic or power loss would) before
      // the health window ends.
      let since = Date.now();
      let p = startAgentProcess({ dir: agentDir, siteId: site, fleetPem: fleet.publicPem, mqttUrl: broker.url, killAt: 'runtime-started' });
      await cloud.connected(site, since);
      await cloud.notify(server.notice(site, 'd8', bundles.get('8.0.0')!));
      let exit = await p.exited;
      assert.equal(exit.signal, 'SIGKILL');
      for (let attempt = 2; attempt <= 3; attempt++) {
        assert.equal(readState(agentDir).trial?.attempts, attempt - 1);
        assert.equal(currentRelease(agentDir), '8.0.0');
        p = startAgentProcess({ dir: agentDir, siteId: site, fleetPem: fleet.publicPem, mqttUrl: broker.url, killAt: 'runtime-started' });
        exit = await p.exited;
        assert.equal(exit.signal, 'SIGKILL');
      }
      assert.equal(readState(agentDir).trial?.attempts, 3);
      since = Date.now();
      agent = startAgentProcess({ dir: agentDir, siteId: site, fleetPem: fleet.publicPem, mqttUrl: broker.url });
      const out = await cloud.outcome('d8');
      assert.equal(out.phase, 'rolled-back');
      assert.match(out.reason ?? '', /3 start attempts/);
      assert.equal(currentRelease(agentDir), '6.0.0');
      await cloud.connected(site, since);
    });
  });
});
